//! What travels inside `wsman -a credssp` ([MS-CSSP] 2.2.1, 3.1.5): SPNEGO
//! tokens, with NTLM (and its mechListMIC, [RFC 4178] 5) or, in a Kerberos
//! realm, Kerberos through GSSAPI. The test host records the kind of the
//! client's first negoToken (`credssp_inner_*` in its stats); pypsrp passes
//! the same flows first (fixtures/testhost/tests/test_credssp.py).
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
//! [RFC 4178]: https://www.rfc-editor.org/rfc/rfc4178
use std::path::Path;
use std::process::{Command, Output};

use integration_tests::{wsman_bin, TempDir, TestHost};

fn wsman(state: &Path, user: &str, password: &str, krb5: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(wsman_bin());
    cmd.args(["--connect-timeout", "5", "-a", "credssp", "-u", user])
        .args(args)
        .env("WSMAN_PASSWORD", password)
        .env("WSMAN_STATE_DIR", state)
        .env(
            "KRB5CCNAME",
            format!("MEMORY:credssp-{}", std::process::id()),
        )
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER");
    match krb5 {
        Some(conf) => cmd.env("KRB5_CONFIG", conf),
        // no realm: Kerberos cannot be had, NTLM goes inside
        None => cmd.env("KRB5_CONFIG", "/nonexistent/krb5.conf"),
    };
    cmd.output().expect("run wsman")
}

fn all(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn ntlm_goes_in_spnego_and_an_altered_mech_list_mic_stops_the_client() {
    let Some(h) = TestHost::start(&["--auth", "credssp"]) else {
        return;
    };
    let dir = TempDir::new("credssp-spnego");
    let state = dir.path().join("state");
    let pw = h.get("password").unwrap().to_string();
    let o = wsman(
        &state,
        "vagrant",
        &pw,
        None,
        &["-H", h.url(), "invoke", "'in spnego'"],
    );
    assert!(o.status.success(), "{}", all(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "in spnego\n");
    let stats = h.stats();
    assert_eq!(
        TestHost::stat(&stats, "credssp_inner_spnego_ntlm"),
        1,
        "{stats}"
    );
    assert_eq!(
        TestHost::stat(&stats, "credssp_inner_ntlm"),
        0,
        "no raw NTLM: {stats}"
    );
    assert_eq!(
        TestHost::stat(&stats, "delegated_password_matches"),
        1,
        "{stats}"
    );
    drop(h);

    // The host's mechListMIC does not verify (a mechanism list altered on
    // the way): exit 3 before any credentials or request go
    let Some(bad) = TestHost::start(&["--auth", "credssp", "--credssp-tamper", "mech-list-mic"])
    else {
        return;
    };
    let o = wsman(
        &state,
        "vagrant",
        &pw,
        None,
        &["-vv", "-H", bad.url(), "invoke", "1"],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains("mechListMIC does not verify"), "{text}");
    assert!(!text.contains(&pw), "the password leaked: {text}");
    let stats = bad.stats();
    assert_eq!(
        TestHost::stat(&stats, "credentials_delegated"),
        0,
        "{stats}"
    );
    assert_eq!(TestHost::stat(&stats, "requests"), 0, "{stats}");
}

#[test]
fn kerberos_goes_inside_credssp_in_a_realm() {
    let Some(h) = TestHost::start(&["--https", "--auth", "credssp", "--realm"]) else {
        return;
    };
    let dir = TempDir::new("credssp-kerberos");
    let state = dir.path().join("state");
    let pw = h.get("password").unwrap().to_string();
    let krb5 = h.get("krb5_config").unwrap().to_string();
    let user = format!("{}@{}", h.get("user").unwrap(), h.get("realm").unwrap());
    // the service principal is HTTP/localhost
    let http = h.url().replace("127.0.0.1", "localhost");
    let https = h
        .get("https_url")
        .unwrap()
        .replace("127.0.0.1", "localhost");
    let ca = h.get("ca_file").unwrap().to_string();

    let o = wsman(
        &state,
        &user,
        &pw,
        Some(&krb5),
        &["-vv", "-H", &http, "invoke", "'hop ready'"],
    );
    let text = all(&o);
    assert!(o.status.success(), "{text}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hop ready\n");
    assert!(!text.contains(&pw), "the password leaked at -vv");
    assert!(
        text.contains("inner=\"Kerberos\""),
        "-vv names the inner mechanism: {text}"
    );
    let o = wsman(
        &state,
        &user,
        &pw,
        Some(&krb5),
        &["-H", &https, "--ca-file", &ca, "invoke", "'over https'"],
    );
    assert!(o.status.success(), "{}", all(&o));
    let stats = h.stats();
    assert_eq!(
        TestHost::stat(&stats, "credssp_inner_spnego_kerberos"),
        2,
        "{stats}"
    );
    assert_eq!(
        TestHost::stat(&stats, "delegated_password_matches"),
        2,
        "{stats}"
    );

    // A wrong password: no ticket, NTLM inside is refused too: exit 3, nothing delegated
    let o = wsman(
        &state,
        &user,
        "not-the-password",
        Some(&krb5),
        &["-H", &http, "invoke", "1"],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains("CredSSP"), "{text}");
    assert_eq!(TestHost::stat(&h.stats(), "credentials_delegated"), 2);
}
