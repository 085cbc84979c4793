//! `wsman enter` driven in a pseudo-terminal (by `tests/pty/enter_session.py`)
//! against the test host: two commands sharing a variable, a Read-Host
//! answered at the terminal, Ctrl+C stopping a long command while the
//! session survives, and `exit`.
use integration_tests::{venv_python, workspace_root, Cli, TestHost};

/// Runs the pty driver `script` (in tests/pty) against `host` over NTLM with
/// the state folder `state`; returns its stdout once it has exited 0 and
/// printed `summary` (its "N passed, 0 failed" line).
fn run_driver(host: &TestHost, script: &str, state: &std::path::Path, summary: &str) -> String {
    drive(
        &Cli::for_host_with(host, "ntlm").state_dir(state),
        script,
        summary,
    )
}

/// Runs the pty driver `script` with the command line of `cli` (the
/// password in the environment, not on the command line).
fn drive(cli: &Cli, script: &str, summary: &str) -> String {
    let python = venv_python().expect("the host started, so the venv exists");
    let driver = [
        python.into_os_string(),
        workspace_root()
            .join("tests/pty")
            .join(script)
            .into_os_string(),
    ];
    let out = cli.run_command(cli.command_via(&driver, &[]));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(summary), "{stdout}");
    stdout
}

#[test]
fn an_interactive_session_in_a_terminal() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let state = std::env::temp_dir().join("wsman-enter-test");
    run_driver(&host, "enter_session.py", &state, "5 passed, 0 failed");
}

/// `wsman enter` in a pseudo-terminal (by `tests/pty/enter_prompts.py`):
/// Get-Credential at the terminal with the password shown as `*`,
/// Read-Host -AsSecureString, a -Confirm choice asked again after a wrong
/// answer, Ctrl+C at a Read-Host prompt cancelling only that prompt.
fn prompts_in_a_terminal(auth: &str) {
    let Some(host) = TestHost::start(&["--auth", auth]) else {
        return;
    };
    let state = std::env::temp_dir().join(format!("wsman-enter-prompts-{auth}"));
    // Kerberos reaches the host by name (the SPN) with the realm's user.
    let cli = Cli::for_host_with(&host, auth).state_dir(&state);
    drive(&cli, "enter_prompts.py", "6 passed, 0 failed");
}

#[test]
fn prompts_in_a_terminal_over_ntlm() {
    prompts_in_a_terminal("ntlm");
}

#[test]
fn prompts_in_a_terminal_over_kerberos() {
    prompts_in_a_terminal("kerberos");
}

/// `wsman enter` input (by `tests/pty/enter_input.py`): a string or block
/// left open continues at `>> `, Ctrl+C drops an open block, and the
/// history of one run comes back in the next (kept under the state folder).
#[test]
fn multi_line_input_and_history_between_runs() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let state = std::env::temp_dir().join(format!("wsman-enter-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let run = std::panic::catch_unwind(|| {
        run_driver(&host, "enter_input.py", &state, "3 passed, 0 failed")
    });
    let history = std::fs::read_to_string(state.join("enter_history")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&state);
    if let Err(e) = run {
        std::panic::resume_unwind(e);
    }
    // The two-line command is one entry, and no password is in the file.
    assert!(
        history.contains(r#""'first line\nsecond line'""#),
        "{history}"
    );
    assert!(!history.contains(host.get("password").unwrap()));
}

/// Remote Tab completion in `wsman enter` (by `tests/pty/enter_complete.py`):
/// `Get-Se<Tab>` shows `Get-Service` (TabExpansion2 answered by the host), a
/// completed command runs, a session variable completes after `$`, a Tab
/// without matches leaves the session working, `Get-ChildItem -Pa<Tab>`
/// completes to `-Path` and a path on the host's disk completes; then
/// Get-History lists the four lines run (AddToHistory, as typed) and none of
/// the TabExpansion2 pipelines.
#[test]
fn tab_completes_through_tab_expansion2() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let state = std::env::temp_dir().join(format!("wsman-enter-complete-{}", std::process::id()));
    // A file on the host's C: for path completion.
    let drive = std::path::Path::new(host.get("fs_root").expect("the host's fs_root")).join("C");
    std::fs::create_dir_all(&drive).unwrap();
    std::fs::write(drive.join("wsman-complete-me.txt"), "notes on the host").unwrap();
    let run = std::panic::catch_unwind(|| {
        run_driver(&host, "enter_complete.py", &state, "7 passed, 0 failed")
    });
    let _ = std::fs::remove_dir_all(&state);
    if let Err(e) = run {
        std::panic::resume_unwind(e);
    }
}

/// Progress in `wsman enter` (by `tests/pty/enter_progress.py`): one line
/// redrawn in place (carriage return, erase line) for each record, erased
/// before the output and when the command ends.
#[test]
fn progress_is_one_line_updated_in_place() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let state = std::env::temp_dir().join(format!("wsman-enter-progress-{}", std::process::id()));
    let run = std::panic::catch_unwind(|| {
        run_driver(&host, "enter_progress.py", &state, "3 passed, 0 failed")
    });
    let _ = std::fs::remove_dir_all(&state);
    if let Err(e) = run {
        std::panic::resume_unwind(e);
    }
}

/// Output formatted on the host as Enter-PSSession's (by
/// `tests/pty/enter_format.py`, 60 columns): two 2-property objects as one
/// table with its header and dashes, a 6-property object as a list, a
/// value wider than the terminal cut with `...` (at the new width after a
/// resize), plain values as lines.
#[test]
fn output_is_formatted_on_the_host_at_the_terminal_width() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let state = std::env::temp_dir().join(format!("wsman-enter-format-{}", std::process::id()));
    let run = std::panic::catch_unwind(|| {
        run_driver(&host, "enter_format.py", &state, "5 passed, 0 failed")
    });
    let _ = std::fs::remove_dir_all(&state);
    if let Err(e) = run {
        std::panic::resume_unwind(e);
    }
}
