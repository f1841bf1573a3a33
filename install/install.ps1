# Installs docker-credential-scalr, terraform-credentials-scalr and scalr-oci on
# Windows from a release, without a Rust toolchain: downloads
# scalr-oci-VERSION-x86_64-pc-windows-gnu.zip, checks it against the release's
# SHA256SUMS before unpacking anything, installs into
# %LOCALAPPDATA%\Programs\scalr-oci (added to the user's PATH), copies
# terraform-credentials-scalr.exe into OpenTofu's plugin directory
# (%APPDATA%\terraform.d\plugins), then runs `scalr-oci configure`.
#
#   irm https://github.com/Scalr/docker-credential-scalr/releases/latest/download/install.ps1 | iex
#   .\install.ps1 [-Version V] [-FromUrl URL] [-Prefix DIR] [-NoConfigure]
#
# On a checksum mismatch or a missing SHA256SUMS entry it names the file,
# installs nothing and stops with an error.
[CmdletBinding()]
param(
    [string]$Version = $env:SCALR_OCI_VERSION,
    [string]$FromUrl = $env:SCALR_OCI_RELEASE_URL,
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA 'Programs\scalr-oci'),
    [switch]$NoConfigure
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$releases = 'https://github.com/Scalr/docker-credential-scalr/releases'
$target = 'x86_64-pc-windows-gnu'
if ($env:PROCESSOR_ARCHITECTURE -ne 'AMD64') {
    throw "install.ps1: no release archive for $($env:PROCESSOR_ARCHITECTURE); x86_64 only"
}
if (-not $FromUrl) {
    if ($Version) { $FromUrl = "$releases/download/v$($Version.TrimStart('v'))" }
    else { $FromUrl = "$releases/latest/download" }
}
$FromUrl = $FromUrl.TrimEnd('/')
if (-not $FromUrl.StartsWith('https://')) { throw "install.ps1: refusing $FromUrl; release URLs must be https://" }

$staging = Join-Path ([IO.Path]::GetTempPath()) ("scalr-oci-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $staging | Out-Null
try {
    $sumsFile = Join-Path $staging 'SHA256SUMS'
    Invoke-WebRequest -UseBasicParsing -Uri "$FromUrl/SHA256SUMS" -OutFile $sumsFile
    $entries = @{}
    foreach ($line in Get-Content $sumsFile) {
        if ($line -match '^([0-9a-f]{64}) [ *](.+)$') { $entries[$Matches[2]] = $Matches[1] }
    }
    if ($Version) {
        $archive = "scalr-oci-$($Version.TrimStart('v'))-$target.zip"
    } else {
        $archive = $entries.Keys | Where-Object { $_ -like "scalr-oci-*-$target.zip" } | Select-Object -First 1
        if (-not $archive) { throw "install.ps1: $FromUrl/SHA256SUMS has no entry for a scalr-oci-VERSION-$target.zip; nothing was installed" }
    }
    if (-not $entries.ContainsKey($archive)) { throw "install.ps1: $FromUrl/SHA256SUMS has no entry for $archive; nothing was installed" }
    $zip = Join-Path $staging $archive
    Invoke-WebRequest -UseBasicParsing -Uri "$FromUrl/$archive" -OutFile $zip
    $actual = (Get-FileHash -Algorithm SHA256 -Path $zip).Hash.ToLowerInvariant()
    if ($actual -ne $entries[$archive]) {
        throw "install.ps1: $archive does not match SHA256SUMS (expected $($entries[$archive]), got $actual); nothing was installed"
    }
    Write-Host "verified $archive against SHA256SUMS"
    Expand-Archive -Path $zip -DestinationPath (Join-Path $staging 'unpacked')
    $from = Join-Path $staging ("unpacked\" + [IO.Path]::GetFileNameWithoutExtension($archive))

    New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
    foreach ($bin in 'docker-credential-scalr', 'terraform-credentials-scalr', 'scalr-oci') {
        # Copy beside the target, then rename over it: a running helper never sees half a file.
        $new = Join-Path $Prefix ".$bin.exe.new"
        Copy-Item -Force (Join-Path $from "$bin.exe") $new
        Move-Item -Force $new (Join-Path $Prefix "$bin.exe")
        Write-Host "installed $(Join-Path $Prefix "$bin.exe")"
    }
    # OpenTofu runs terraform-credentials-NAME from its plugin directory only.
    $plugins = Join-Path $env:APPDATA 'terraform.d\plugins'
    New-Item -ItemType Directory -Force -Path $plugins | Out-Null
    Copy-Item -Force (Join-Path $Prefix 'terraform-credentials-scalr.exe') $plugins
    Write-Host "copied terraform-credentials-scalr.exe into $plugins"

    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not (($userPath -split ';') -contains $Prefix)) {
        [Environment]::SetEnvironmentVariable('Path', ($Prefix + ';' + $userPath).TrimEnd(';'), 'User')
        Write-Host "added $Prefix to your PATH (new terminals see it)"
    }
    $env:Path = "$Prefix;$env:Path"
    if (-not $NoConfigure) {
        $scalrOci = Join-Path $Prefix 'scalr-oci.exe'
        & $scalrOci configure tofu --default
        & $scalrOci configure tofu --credentials-helper
        & $scalrOci configure docker
    }
    Write-Host 'Next: `scalr-oci registry add HOST --username NAME` or `scalr-oci login`, then `scalr-oci doctor`.'
} finally {
    Remove-Item -Recurse -Force $staging -ErrorAction SilentlyContinue
}
