//! Small helpers the integration tests share: connection settings for the
//! test host and the replays, and a temporary folder.

use std::path::{Path, PathBuf};

use pssession::ConnectionInfo;
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, TransportConfig};

use crate::TestHost;

/// The `wsman` command line for a test host (see [`crate::cli`]).
pub use crate::cli::Cli;

/// Connection settings for `host` with its user and password and the
/// given mechanism; unencrypted HTTP is allowed for Basic only (the host
/// is then started with `--allow-unencrypted`).
pub fn connection(host: &TestHost, mechanism: Mechanism) -> ConnectionInfo {
    connection_at(host, host.url(), mechanism)
}

/// Like [`connection`], but to `url` (a forwarder in front of the host).
pub fn connection_at(host: &TestHost, url: &str, mechanism: Mechanism) -> ConnectionInfo {
    let endpoint = Endpoint::parse(url, false).expect("a valid endpoint url");
    let creds = Credentials::parse(
        host.get("user").expect("the host prints its user"),
        Secret::password(host.get("password").expect("the host prints its password")),
    );
    let mut t = TransportConfig::new(endpoint, AuthOptions::new(mechanism, creds));
    t.allow_unencrypted = mechanism == Mechanism::Basic;
    ConnectionInfo::new(t)
}

/// Connection settings for a replay of a recording (`fixtures/recordings`):
/// the recorded `vagrant` user over unencrypted Basic.
pub fn replay_connection(url: &str) -> ConnectionInfo {
    let endpoint = Endpoint::parse(url, false).expect("a valid endpoint url");
    let creds = Credentials::parse("vagrant", Secret::password("vagrant"));
    let mut t = TransportConfig::new(endpoint, AuthOptions::new(Mechanism::Basic, creds));
    t.allow_unencrypted = true;
    ConnectionInfo::new(t)
}

/// A fresh folder under the system temp dir, named after `tag`, the
/// process and a random id; removed with its contents when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates the folder.
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "wsman-test-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p).expect("create a temporary folder");
        TempDir(p)
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
