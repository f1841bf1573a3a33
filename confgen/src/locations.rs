//! The environment that decides where config files live, read once, so that
//! every module (and every test) agrees on it.

use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct Env {
    pub home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub tf_cli_config_file: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    #[cfg_attr(not(windows), allow(dead_code))]
    pub appdata: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> Env {
        // Like Go's os.Getenv checks: an empty variable counts as unset.
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Env {
            home: dirs::home_dir(),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            tf_cli_config_file: var("TF_CLI_CONFIG_FILE"),
            docker_config: var("DOCKER_CONFIG"),
            registry_auth_file: var("REGISTRY_AUTH_FILE"),
            appdata: var("APPDATA"),
        }
    }
}
