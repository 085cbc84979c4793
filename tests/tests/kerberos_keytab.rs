//! Kerberos from a client keytab (`KRB5_CLIENT_KTNAME`), no password and no
//! `kinit`: what unattended Linux automation uses, through GSSAPI.
use std::process::Command;

use integration_tests::{Cli, TestHost};

#[test]
fn a_client_keytab_authenticates_without_a_password() {
    let Some(host) = TestHost::start(&["--auth", "kerberos"]) else {
        return;
    };
    let realm_dir = std::path::Path::new(host.get("state_dir").unwrap()).join("realm");
    let krb5_config = host.get("krb5_config").unwrap();
    let keytab = std::env::temp_dir().join(format!("wsman-test-{}.keytab", std::process::id()));
    let _ = std::fs::remove_file(&keytab);
    let principal = format!(
        "{}@{}",
        host.get("user").unwrap(),
        host.get("realm").unwrap()
    );
    let made = Command::new("kadmin.local")
        .arg("-q")
        .arg(format!(
            "ktadd -k {} -norandkey {principal}",
            keytab.display()
        ))
        .env("KRB5_CONFIG", krb5_config)
        .env("KRB5_KDC_PROFILE", realm_dir.join("kdc.conf"))
        .output()
        .expect("kadmin.local");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let url = host.url().replace("127.0.0.1", "localhost");
    // No password anywhere: the Cli passes none and clears WSMAN_PASSWORD.
    let out = Cli::new()
        .url(&url)
        .auth("kerberos")
        .user(&principal)
        .env("KRB5_CONFIG", krb5_config)
        .env("KRB5_CLIENT_KTNAME", &keytab)
        .env(
            "KRB5CCNAME",
            format!("MEMORY:keytab-test-{}", std::process::id()),
        )
        .run(&["invoke", "'via keytab'"]);
    let _ = std::fs::remove_file(&keytab);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "via keytab");
}
