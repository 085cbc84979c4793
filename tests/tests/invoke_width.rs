//! `wsman invoke` and `session invoke` announce the terminal's width in
//! the pipeline's HostInfo (RawUI BufferSize, [MS-PSRP] 2.2.3.14), as
//! Invoke-Command in a console does: `| Out-String` and `| Out-Default`
//! format on the test host at the user's width, and the client lays out
//! the objects it gets at that width too. With stdout off a terminal no
//! console is announced and both format at PowerShell's default of 120
//! columns.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use integration_tests::cli::ok;
use integration_tests::{venv_python, workspace_root, Cli, TestHost};

/// The terminal's columns in the runs below.
const COLUMNS: usize = 50;

/// An object whose Path is wider than any terminal here: its table row is
/// cut with `...` at the width the host formats at.
fn wide_object(tail: &str) -> String {
    format!(
        "[pscustomobject]@{{Path='{}'; Id=7}} | {tail}",
        "x".repeat(200)
    )
}

/// The rows of `screen` that show the Path (they start with `xxx`).
fn rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with("xxx"))
        .collect()
}

/// Runs `wsman ARGS` in a pseudo-terminal COLUMNS wide (by
/// tests/pty/run_in_pty.py); returns what the terminal showed after
/// asserting the run exited 0.
fn in_terminal(cli: &Cli, args: &[&str]) -> String {
    let python = venv_python().expect("the host started, so the venv exists");
    let driver = [
        python.into_os_string(),
        workspace_root()
            .join("tests/pty/run_in_pty.py")
            .into_os_string(),
    ];
    let mut c = cli.command_via(&driver, args);
    c.env("PTY_COLUMNS", COLUMNS.to_string());
    let out = cli.run_command(c);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = stdout.lines();
    let screen: String = serde_json::from_str(lines.next().unwrap_or("null"))
        .unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(lines.next(), Some("0"), "{screen:?}");
    screen
}

/// The one row of `screen`, asserted cut with `...` to at most `width`
/// columns and to more than `narrower` (so it was not cut at a smaller
/// width either).
fn assert_cut_at(screen: &str, width: usize, narrower: usize) {
    let rows = rows(screen);
    assert_eq!(rows.len(), 1, "{screen:?}");
    let row = rows[0];
    assert!(row.ends_with("..."), "{row:?}");
    assert!(
        row.len() <= width && row.len() > narrower,
        "a row {} wide, not cut at {width}: {row:?}",
        row.len()
    );
}

#[test]
fn invoke_formats_at_the_terminal_width_and_at_120_off_a_terminal() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    // Out-String and Out-Default format on the host; Write-Output returns
    // the object, which the client lays out at the same width.
    for tail in ["Out-String", "Out-Default", "Write-Output"] {
        let script = wide_object(tail);
        let screen = in_terminal(&cli, &["invoke", &script]);
        assert_cut_at(&screen, COLUMNS, COLUMNS - 10);
        // Piped: no console, PowerShell's default width.
        let piped = ok(&cli.run(&["invoke", &script]));
        assert_cut_at(&piped, 120, COLUMNS);
    }
}

#[test]
fn session_invoke_formats_at_the_terminal_width() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    ok(&cli.run(&["session", "new", "--name", "wide"]));
    for tail in ["Out-String", "Write-Output"] {
        let script = wide_object(tail);
        let screen = in_terminal(&cli, &["session", "invoke", "wide", &script]);
        assert_cut_at(&screen, COLUMNS, COLUMNS - 10);
        let piped = ok(&cli.run(&["session", "invoke", "wide", &script]));
        assert_cut_at(&piped, 120, COLUMNS);
    }
    ok(&cli.run(&["session", "remove", "wide"]));
}
