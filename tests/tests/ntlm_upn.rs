//! NTLM with a user principal name (`user@REALM` and no domain), which a
//! domain member's Windows takes and which `-a negotiate` sends when no
//! Kerberos ticket can be had for the host ([MS-NLMP] 3.1.5.1.2: the user
//! name as given, the domain empty). pypsrp passes the same against the
//! test host first (fixtures/testhost/tests/test_core_auth.py).
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
use integration_tests::{cli, Cli, TestHost};

#[test]
fn ntlm_and_the_negotiate_fallback_take_the_users_upn() {
    let Some(h) = TestHost::start(&["--auth", "negotiate,ntlm", "--realm"]) else {
        return;
    };
    let user = h.get("user").unwrap().to_string();
    let upn = format!("{user}@{}", h.get("realm").unwrap());
    let ntlm = Cli::for_host_with(&h, "ntlm").user(&upn);
    assert_eq!(cli::ok(&ntlm.run(&["invoke", "'upn in'"])), "upn in\n");
    // negotiate to 127.0.0.1: the KDC knows no HTTP/127.0.0.1, so NTLM goes
    // inside SPNEGO with the name as given
    let nego = Cli::for_host_with(&h, "negotiate").user(&upn);
    assert_eq!(cli::ok(&nego.run(&["invoke", "'fallback'"])), "fallback\n");
    // the same name in another realm is someone else: refused, exit 3
    let other = Cli::for_host_with(&h, "ntlm").user(&format!("{user}@ELSEWHERE.TEST"));
    let o = other.run(&["invoke", "'x'"]);
    assert_eq!(o.status.code(), Some(3), "{}", cli::stderr(&o));
    assert!(cli::stdout(&o).is_empty());
}
