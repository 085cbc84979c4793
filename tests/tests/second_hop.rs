//! The second hop (issue 15): a script run on one test host reaches a second
//! one with the user's delegated Kerberos ticket, through the `wsman` CLI.
//!
//! Two test hosts of one realm (the second joins the first's KDC); the
//! first (HTTP and HTTPS) runs `Invoke-Command -ConnectionUri <second>` with pypsrp and only
//! what its logon holds. `-a kerberos --delegate` (and `-a negotiate
//! --delegate`) print `hop 2`; Kerberos without delegation and NTLM get the
//! double-hop "Access is denied" error record (exit 1); a TGT that is not
//! forwardable is an authentication error (exit 3) that says so; `--delegate`
//! with NTLM is a usage error (exit 2).
use std::path::Path;
use std::process::{Command, Output};

use integration_tests::{wsman_bin, TempDir, TestHost};

struct Hop {
    first: TestHost,
    second: TestHost,
}

impl Hop {
    fn start() -> Option<Hop> {
        let first = TestHost::start(&["--auth", "ntlm,kerberos,negotiate,credssp", "--https"])?;
        let realm_dir = Path::new(first.get("state_dir").expect("state_dir")).join("realm");
        let realm_dir = realm_dir.to_str().expect("utf-8 path").to_string();
        let second = TestHost::start(&[
            "--auth",
            "ntlm,kerberos,negotiate",
            "--join-realm",
            &realm_dir,
        ])?;
        Some(Hop { first, second })
    }

    fn user(&self) -> String {
        format!(
            "{}@{}",
            self.first.get("user").unwrap(),
            self.first.get("realm").unwrap()
        )
    }

    fn password(&self) -> &str {
        self.first.get("password").unwrap()
    }

    fn script(&self) -> String {
        let second = self.second.url().replace("127.0.0.1", "localhost");
        format!("Invoke-Command -ConnectionUri {second} -ScriptBlock {{ 'hop 2' }}")
    }

    /// `wsman ARGS invoke <hop script>` against the first host, with the
    /// realm's krb5.conf and a private (empty) credential cache unless
    /// `ccache` names one.
    fn invoke(&self, args: &[&str], ccache: Option<&str>) -> Output {
        let url = self.first.url().replace("127.0.0.1", "localhost");
        self.invoke_at(&url, args, ccache, &self.script())
    }

    /// [`invoke`](Self::invoke) over HTTPS (Kerberos bound to the TLS channel).
    fn invoke_https(&self, args: &[&str]) -> Output {
        let url = self
            .first
            .get("https_url")
            .expect("https_url")
            .replace("127.0.0.1", "localhost");
        let ca = self.first.get("ca_file").expect("ca_file").to_string();
        let mut all = vec!["--ca-file", &ca];
        all.extend_from_slice(args);
        self.invoke_at(&url, &all, None, &self.script())
    }

    fn invoke_at(&self, url: &str, args: &[&str], ccache: Option<&str>, script: &str) -> Output {
        let cache = ccache.map_or_else(
            || format!("MEMORY:second-hop-{}", std::process::id()),
            |c| format!("FILE:{c}"),
        );
        Command::new(wsman_bin())
            .args(["-H", url])
            .args(args)
            .args(["invoke", script])
            .env("KRB5_CONFIG", self.first.get("krb5_config").unwrap())
            .env("KRB5CCNAME", cache)
            .env_remove("WSMAN_PASSWORD")
            .output()
            .expect("run wsman")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const DENIED: &str = "Connecting to remote server localhost failed with the following error \
                      message : Access is denied.";

#[test]
fn second_hop_with_and_without_delegation() {
    let Some(hop) = Hop::start() else {
        return;
    };
    let user = hop.user();
    let pw = hop.password().to_string();

    // Kerberos with delegation: the forwarded TGT reaches the second host.
    // At -vv the password appears nowhere.
    let out = hop.invoke(
        &[
            "-a",
            "kerberos",
            "--delegate",
            "-u",
            &user,
            "-p",
            &pw,
            "-vv",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hop 2");
    assert!(!text(&out.stderr).contains(&pw), "the password was logged");

    // Negotiate (SPNEGO with Kerberos inside) delegates the same way.
    let out = hop.invoke(
        &["-a", "negotiate", "--delegate", "-u", &user, "-p", &pw],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hop 2");

    // Over HTTPS too (channel bindings and delegation together).
    let out = hop.invoke_https(&["-a", "kerberos", "--delegate", "-u", &user, "-p", &pw]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hop 2");

    // CredSSP delegates the password itself (MS-CSSP TSPasswordCreds): the
    // first host reaches the second with it, and -vv never shows it.
    let out = hop.invoke(&["-a", "credssp", "-u", "vagrant", "-p", &pw, "-vv"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hop 2");
    assert!(!text(&out.stderr).contains(&pw), "the password was logged");

    // -ArgumentList: the block's param() takes the arguments on the second host
    let first = hop.first.url().replace("127.0.0.1", "localhost");
    let second = hop.second.url().replace("127.0.0.1", "localhost");
    let script = format!(
        "$n = 'wsman'; Invoke-Command -ConnectionUri {second} -ScriptBlock \
         {{ param($who, $count) \"$who x $count\"; $args }} -ArgumentList $n, 2, 'spare'"
    );
    let args = ["-a", "credssp", "-u", "vagrant", "-p", &pw];
    let out = hop.invoke_at(&first, &args, None, &script);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "wsman x 2\nspare\n");

    // Without delegation the first host has nothing to pass on.
    for args in [
        vec!["-a", "kerberos", "-u", &user, "-p", &pw],
        vec!["-a", "ntlm", "-u", "vagrant", "-p", &pw],
    ] {
        let out = hop.invoke(&args, None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout).trim(), "", "{args:?}");
        assert!(
            text(&out.stderr).contains(DENIED),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }

    // A ticket the KDC made not forwardable (kinit -F) cannot be delegated.
    let dir = TempDir::new("second-hop");
    let cache = dir.path().join("ccache");
    let cache = cache.to_str().unwrap();
    let kinit = Command::new("kinit")
        .args(["-F", &user])
        .env("KRB5_CONFIG", hop.first.get("krb5_config").unwrap())
        .env("KRB5CCNAME", format!("FILE:{cache}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{pw}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("kinit");
    assert!(kinit.status.success(), "{}", text(&kinit.stderr));
    let out = hop.invoke(&["-a", "kerberos", "--delegate"], Some(cache));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not forwardable")
            && text(&out.stderr).contains("hint: --delegate needs a forwardable"),
        "{}",
        text(&out.stderr)
    );
    // The same ticket without --delegate authenticates (and hits the double hop).
    let out = hop.invoke(&["-a", "kerberos"], Some(cache));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    // A session made with delegation keeps the logon's ticket while it is
    // disconnected (Windows: the shell's logon session): a later `session
    // invoke` from a new connection without --delegate still crosses.
    let state = TempDir::new("second-hop-state");
    let session = |args: &[&str]| {
        let url = hop.first.url().replace("127.0.0.1", "localhost");
        Command::new(wsman_bin())
            .args(["-H", &url, "-u", &user, "-p", &pw])
            .args(args)
            .env("KRB5_CONFIG", hop.first.get("krb5_config").unwrap())
            .env(
                "KRB5CCNAME",
                format!("MEMORY:second-hop-s-{}", std::process::id()),
            )
            .env("WSMAN_STATE_DIR", state.path())
            .output()
            .expect("run wsman")
    };
    let out = session(&[
        "-a",
        "kerberos",
        "--delegate",
        "session",
        "new",
        "--name",
        "hop",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = session(&["session", "invoke", "hop", &hop.script()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "hop 2");
    let out = session(&["session", "remove", "hop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // With the session and its connections gone, so is the forwarded ticket.
    let kept = Path::new(hop.first.get("state_dir").unwrap()).join("delegated");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let left = loop {
        let n = std::fs::read_dir(&kept).map_or(0, |d| d.count());
        if n == 0 || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(left, 0, "a delegated credential cache outlived its logon");

    // The library: ConnectionBuilder::delegate, end to end.
    api_hop(&hop, &pw);

    // NTLM cannot delegate: a usage error before anything is sent.
    let out = hop.invoke(
        &["-a", "ntlm", "--delegate", "-u", "vagrant", "-p", &pw],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--delegate"),
        "{}",
        text(&out.stderr)
    );
}

/// The same hop through the Rust API (`ConnectionBuilder::delegate`): the
/// output object comes back with the note properties remoting adds; without
/// delegation the session gets the double-hop error record.
fn api_hop(hop: &Hop, pw: &str) {
    use pssession::host::NullHost;
    use pssession::session::{PsSession, SessionOptions};
    use wsman::auth::Mechanism;

    // MIT GSSAPI reads these from the process environment; this is the only
    // test in this binary.
    std::env::set_var("KRB5_CONFIG", hop.first.get("krb5_config").unwrap());
    std::env::set_var(
        "KRB5CCNAME",
        format!("MEMORY:api-hop-{}", std::process::id()),
    );
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        for delegate in [true, false] {
            let info = pssession::ConnectionInfo::builder(
                hop.first.url().replace("127.0.0.1", "localhost"),
            )
            .user(hop.user())
            .password(pw)
            .auth(Mechanism::Kerberos)
            .delegate(delegate)
            .build()
            .unwrap();
            let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
                .await
                .unwrap();
            let r = s.run(&hop.script()).await.unwrap();
            let out: Vec<String> = r.output.iter().map(pssession::format::to_text).collect();
            if delegate {
                assert_eq!(out, ["hop 2"]);
                assert!(r.errors.is_empty(), "{:?}", r.errors);
            } else {
                assert!(out.is_empty(), "{out:?}");
                assert_eq!(r.errors.len(), 1);
                assert_eq!(
                    r.errors[0].fully_qualified_error_id,
                    "AccessDenied,PSSessionStateBroken"
                );
            }
            s.close().await.unwrap();
        }
    });
}
