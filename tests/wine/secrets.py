"""Secret checks for tests/wine.sh, the parts a shell does badly.

  python3 secrets.py search DIR...      stdin: one `username<TAB>secret` a line
      Prints every regular file under the DIRs that holds one of the
      secrets in any form a Windows program or Wine could write it, and exits
      1 when there is one. The forms: as is, JSON-escaped (Go's escaping
      too), base64 (standard and URL-safe), base64 of `username:secret`
      (Docker's `auths`); each of those also in UTF-16LE (the encoding of
      Windows' wide strings) and as the comma-separated hex of a registry
      file (`hex:73,33,...`, Wine's user.reg, continuation lines joined).
      Symbolic links are not followed.

  python3 secrets.py wine-credential KEY_HEX BLOB_HEX
      Prints the plain text of a Password value of Wine's Credential
      Manager: Wine (dlls/advapi32/cred.c) stores what CredWriteW is given
      ARC4-encrypted under the 8-byte `EncryptionKey` kept in the same
      registry key, so anyone who can read user.reg can read it. Windows
      itself protects the Credential Manager with DPAPI. Used to prove that
      the secret is in the Credential Manager, and only there.

Secrets come on stdin, never in argv (a process list shows argv).
"""

import base64
import json
import os
import re
import sys


def arc4(key, data):
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def forms(username, secret):
    if len(secret) < 8:
        sys.exit("secrets.py: a secret shorter than 8 characters would match by chance")
    escaped = json.dumps(secret)[1:-1]
    go = escaped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    texts = [
        secret,
        escaped,
        go,
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode(),
    ]
    if username:
        texts.append(base64.b64encode(f"{username}:{secret}".encode()).decode())
    needles = []
    for text in dict.fromkeys(texts):
        for raw in (text.encode("utf-8"), text.encode("utf-16-le")):
            needles.append(raw)
            needles.append(",".join(f"{b:02x}" for b in raw).encode())
    return needles


def regular_files(top):
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path


def search(dirs):
    needles = []
    for line in sys.stdin.read().splitlines():
        if line:
            username, _, secret = line.rpartition("\t")
            needles.extend(forms(username, secret))
    if not needles:
        sys.exit("secrets.py search: no secrets on stdin")
    found = 0
    searched = 0
    for top in dirs:
        if not os.path.isdir(top):
            sys.exit(f"secrets.py search: {top} is not a directory")
        for path in regular_files(top):
            with open(path, "rb") as f:
                data = f.read()
            searched += 1
            # A registry file wraps long hex values: `,\` then a new line
            # indented by two spaces.
            joined = re.sub(rb",\\\r?\n  ", b",", data)
            if any(n in data or n in joined for n in needles):
                print(f"a secret is in {path}")
                found += 1
    print(f"searched {searched} files")
    return 1 if found else 0


def wine_credential(key_hex, blob_hex):
    plain = arc4(bytes.fromhex(key_hex), bytes.fromhex(blob_hex))
    sys.stdout.write(plain.decode("utf-8", "replace"))
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "search":
        return search(sys.argv[2:])
    if len(sys.argv) == 4 and sys.argv[1] == "wine-credential":
        return wine_credential(sys.argv[2], sys.argv[3])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
