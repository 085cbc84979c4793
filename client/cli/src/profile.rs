//! Profiles: named connection settings in `config.toml`
//! (`$XDG_CONFIG_HOME/wsman/config.toml`, else
//! `~/.config/wsman/config.toml`), chosen with `--profile NAME` or
//! `WSMAN_PROFILE`. Options given on the command line (or through their
//! environment variables) win over the profile; a secret is never read
//! from the file.
//!
//! ```toml
//! [profiles.lab]
//! host = "https://server01:5986/wsman"   # or hosts = ["web01", "web02"]
//! user = 'CORP\alice'
//! auth = "negotiate"
//! ca_file = "/etc/wsman/lab-ca.pem"
//! ```
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use serde::Deserialize;

use super::args::{AuthArg, ConnectionArgs};
use crate::{Error, Result};

/// Keys that would hold a secret: refused, never read.
const SECRET_KEYS: &[&str] = &["password", "nt_hash", "secret", "pass", "key_password"];

/// One profile: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    host: Option<String>,
    hosts: Option<Vec<String>>,
    https: Option<bool>,
    user: Option<String>,
    auth: Option<String>,
    no_encryption: Option<bool>,
    insecure: Option<bool>,
    delegate: Option<bool>,
    ca_file: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    configuration: Option<String>,
    operation_timeout: Option<u32>,
    connect_timeout: Option<u32>,
    spn_service: Option<String>,
    spn_host: Option<String>,
    proxy: Option<String>,
}

/// The config file's path: `$XDG_CONFIG_HOME/wsman/config.toml`, else
/// `~/.config/wsman/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("wsman").join("config.toml"))
}

fn config_error(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{}: {what}", path.display()))
}

/// Reads profile `name` from the file at `path`.
fn read_profile(path: &Path, name: &str) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        config_error(
            path,
            format!("cannot read the config file for profile {name:?}: {e}"),
        )
    })?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| config_error(path, e.message().to_string()))?;
    let profiles = doc
        .get("profiles")
        .and_then(|p| p.as_table())
        .ok_or_else(|| config_error(path, "no [profiles.NAME] table"))?;
    let Some(table) = profiles.get(name).and_then(|p| p.as_table()) else {
        let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
        return Err(config_error(
            path,
            format!(
                "no profile {name:?} (profiles here: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ));
    };
    // Never a secret in the file: refuse it, without repeating it.
    if let Some(k) = table.keys().find(|k| SECRET_KEYS.contains(&k.as_str())) {
        return Err(config_error(
            path,
            format!(
                "profile {name:?} has a `{k}`: secrets are never read from the config file; \
                 remove it and pass -p, set WSMAN_PASSWORD, or answer the prompt"
            ),
        ));
    }
    Profile::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| config_error(path, format!("profile {name:?}: {}", e.message())))
}

/// Whether the option `id` was given by the person (command line or its
/// environment variable) rather than left at its default.
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Fills in `args` from the profile named by `--profile` / `WSMAN_PROFILE`
/// (if any); what the person gave wins. Also records whether `-a` was
/// given on the command line (`identify` is unauthenticated otherwise).
pub fn apply(args: &mut ConnectionArgs, m: &ArgMatches) -> Result<()> {
    args.auth_on_command_line = m.value_source("auth") == Some(ValueSource::CommandLine);
    let Some(name) = args.profile.clone() else {
        return Ok(());
    };
    let path = config_path()
        .ok_or_else(|| Error::Usage("--profile: neither XDG_CONFIG_HOME nor HOME is set".into()))?;
    let p = read_profile(&path, &name)?;
    if !given(m, "hosts") {
        match (p.host, p.hosts) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    &path,
                    format!("profile {name:?}: give `host` or `hosts`, not both"),
                ))
            }
            (Some(h), None) => args.hosts = vec![h],
            (None, Some(hs)) => args.hosts = hs,
            (None, None) => {}
        }
    }
    macro_rules! take {
        ($field:ident, $id:literal) => {
            if let Some(v) = p.$field {
                if !given(m, $id) {
                    args.$field = v.into();
                }
            }
        };
    }
    take!(user, "user");
    take!(ca_file, "ca_file");
    take!(cert, "cert");
    take!(key, "key");
    take!(spn_host, "spn_host");
    take!(proxy, "proxy");
    take!(configuration, "configuration");
    take!(operation_timeout, "operation_timeout");
    take!(connect_timeout, "connect_timeout");
    take!(spn_service, "spn_service");
    // Switches: the profile turns them on; the command line cannot turn
    // them off, so a profile's `true` stands.
    args.https |= p.https.unwrap_or(false);
    args.no_encryption |= p.no_encryption.unwrap_or(false);
    args.insecure |= p.insecure.unwrap_or(false);
    args.delegate |= p.delegate.unwrap_or(false);
    if let Some(a) = p.auth {
        if !given(m, "auth") {
            args.auth = AuthArg::from_str(&a, true).map_err(|_| {
                config_error(
                    &path,
                    format!(
                        "profile {name:?}: unknown auth {a:?} (negotiate, ntlm, kerberos, basic, \
                         certificate, credssp)"
                    ),
                )
            })?;
        }
    }
    Ok(())
}
