//! `wsman invoke` on several hosts at once (Invoke-Command -ComputerName
//! h1,h2,h3 -ThrottleLimit N): every live host's output arrives tagged with
//! its name, and a host that is down is reported without stopping the others.
use integration_tests::{Cli, TestHost};

#[test]
fn one_host_down_does_not_stop_the_others() {
    let Some(a) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let Some(b) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    // Port 9 on loopback is closed: that host is down.
    let down = "http://127.0.0.1:9/wsman";
    let hosts = format!("{},{},{down}", a.url(), b.url());
    let cli = Cli::new()
        .auth("basic")
        .user("vagrant")
        .password(a.get("password").unwrap());
    let out = cli.run(&[
        "-H",
        &hosts,
        "--connect-timeout",
        "5",
        "invoke",
        "--throttle",
        "2",
        "'hello'; $n = 2; $n",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for h in [a.url(), b.url()] {
        // Each host's lines, in order, tagged with the host.
        let lines: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("[{h}] ")))
            .collect();
        assert_eq!(lines, ["hello", "2"], "{h}:\n{stdout}");
    }
    assert!(
        stderr.contains(&format!("[{down}]")),
        "the down host is reported: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "a connection failure sets the exit code"
    );

    // --json tags each object with its host.
    let out = cli.run(&[
        "-H",
        &format!("{},{}", a.url(), b.url()),
        "--json",
        "invoke",
        "42",
    ]);
    assert!(out.status.success());
    let mut seen: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            assert_eq!(v["value"], 42);
            v["host"].as_str().unwrap().to_string()
        })
        .collect();
    seen.sort();
    let mut want = vec![a.url().to_string(), b.url().to_string()];
    want.sort();
    assert_eq!(seen, want);
}

/// The same from Rust: `pssession::fanout::invoke_on_hosts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_reports_each_host() {
    use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
    use wsman::transport::{Endpoint, TransportConfig};
    let Some(a) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let info = |url: &str| {
        let creds = Credentials::parse("vagrant", Secret::password(a.get("password").unwrap()));
        let mut t = TransportConfig::new(
            Endpoint::parse(url, false).unwrap(),
            AuthOptions::new(Mechanism::Basic, creds),
        );
        t.allow_unencrypted = true;
        t.connect_timeout = std::time::Duration::from_secs(5);
        pssession::ConnectionInfo::new(t)
    };
    let down = "http://127.0.0.1:9/wsman";
    let results =
        pssession::fanout::invoke_on_hosts(vec![info(a.url()), info(down)], "'hi'; 7", 2).await;
    assert_eq!(results.len(), 2);
    for r in results {
        if r.computer_name.contains(":9/") {
            let e = r.result.unwrap_err();
            assert_eq!(wsman_cli::exit_code(&e), 4, "{e}");
        } else {
            let out = r.result.unwrap();
            let text: Vec<String> = out.output.iter().map(pssession::format::to_text).collect();
            assert_eq!(text, ["hi", "7"]);
        }
    }
    // Nothing left behind on the live host.
    let remaining = pssession::session::PsSession::list(&info(a.url()))
        .await
        .unwrap();
    assert!(remaining.is_empty(), "{remaining:?}");
}
