//! The `wsman` binary's usage contract without a host: help that teaches,
//! usage errors exit 2, refusals before anything is sent, unreachable
//! hosts exit 4 quickly.
use std::process::Command;
use std::time::{Duration, Instant};

fn wsman(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsman"))
        .args(args)
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER")
        .env_remove("WSMAN_PASSWORD")
        .output()
        .expect("run wsman")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_every_command_of_the_contract() {
    let out = wsman(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in [
        "identify",
        "get",
        "enumerate",
        "exec",
        "invoke",
        "enter",
        "session",
        "copy",
    ] {
        assert!(help.contains(cmd), "--help does not mention {cmd}:\n{help}");
    }
    assert!(help.contains("Exit codes"), "{help}");
    let out = wsman(&["session", "--help"]);
    let help = text(&out.stdout);
    for cmd in [
        "new",
        "list",
        "invoke",
        "receive",
        "connect",
        "disconnect",
        "remove",
    ] {
        assert!(help.contains(cmd), "session --help does not mention {cmd}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = wsman(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = wsman(&["identify"]);
    assert_eq!(out.status.code(), Some(2), "no host is a usage error");
    assert!(text(&out.stderr).contains("-H"), "{}", text(&out.stderr));
}

#[test]
fn basic_over_http_is_refused_before_sending_anything() {
    let out = wsman(&[
        "-H",
        "http://127.0.0.1:9/wsman",
        "-u",
        "u",
        "-p",
        "secret-pw-123",
        "-a",
        "basic",
        "identify",
    ]);
    // A usage mistake (shared/docs/cli.md): exit 2.
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--no-encryption"), "{err}");
    assert!(!err.contains("secret-pw-123"), "the password leaked: {err}");
}

#[test]
fn an_unreachable_host_exits_4_within_the_connect_timeout() {
    // Port 9 (discard) on loopback is closed: the connection is refused.
    let start = Instant::now();
    let out = wsman(&[
        "-H",
        "http://127.0.0.1:9/wsman",
        "-u",
        "u",
        "-p",
        "pw",
        "-a",
        "ntlm",
        "--connect-timeout",
        "3",
        "identify",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(text(&out.stderr).contains("127.0.0.1"), "names the host");
}

#[test]
fn each_subcommand_shows_its_own_options_first_then_connection_options_and_examples() {
    let subcommands: &[&[&str]] = &[
        &["identify"],
        &["get"],
        &["enumerate"],
        &["exec"],
        &["invoke"],
        &["enter"],
        &["copy"],
        &["completions"],
        &["man"],
        &["session", "new"],
        &["session", "list"],
        &["session", "invoke"],
        &["session", "receive"],
        &["session", "connect"],
        &["session", "disconnect"],
        &["session", "remove"],
    ];
    for sub in subcommands {
        let mut args = sub.to_vec();
        args.push("--help");
        let out = wsman(&args);
        assert!(out.status.success(), "{sub:?}");
        let help = text(&out.stdout);
        let own = help.find("\nOptions:").expect("an Options heading");
        let conn = help
            .find("\nConnection options:")
            .unwrap_or_else(|| panic!("{sub:?}: no Connection options heading:\n{help}"));
        let output = help.find("\nOutput options:").expect("Output options");
        let examples = help
            .find("\nExamples:")
            .unwrap_or_else(|| panic!("{sub:?}: no examples:\n{help}"));
        assert!(
            own < conn && conn < output && output < examples,
            "{sub:?}:\n{help}"
        );
        // The connection options are only under their heading.
        assert!(!help[..conn].contains("--ca-file"), "{sub:?}:\n{help}");
        let example_lines = help[examples..]
            .lines()
            .filter(|l| l.trim_start().starts_with("wsman ") || l.contains("| wsman "))
            .count();
        assert!(example_lines >= 2, "{sub:?}: two examples or more:\n{help}");
    }
    // `session invoke`'s own options come before any connection option.
    let help = text(&wsman(&["session", "invoke", "--help"]).stdout);
    let disconnected = help.find("--disconnected").unwrap();
    assert!(disconnected < help.find("--host").unwrap(), "{help}");
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef wsman"),
        ("fish", "complete -c wsman"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = wsman(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}:\n{script}");
        // Subcommands and options are completed.
        assert!(
            script.contains("identify") && script.contains("throttle"),
            "{shell}"
        );
    }
    let out = wsman(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let out = wsman(&["man"]);
    assert!(out.status.success());
    let man = text(&out.stdout);
    assert!(man.contains(".TH wsman 1"), "{man}");
    assert!(
        man.contains("session") && man.contains("\\-\\-json"),
        "{man}"
    );
}

#[test]
fn bash_accepts_the_completion_script() {
    let Ok(out) = wsman(&["completions", "bash"]).stdout.pipe_to_bash() else {
        return;
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
    let registered = text(&out.stdout);
    assert!(
        registered.contains("-F _wsman") && registered.trim_end().ends_with(" wsman"),
        "{registered}"
    );
}

trait PipeToBash {
    fn pipe_to_bash(&self) -> std::io::Result<std::process::Output>;
}

impl PipeToBash for Vec<u8> {
    /// Sources the script in bash and prints the completion it registered.
    fn pipe_to_bash(&self) -> std::io::Result<std::process::Output> {
        let dir = std::env::temp_dir().join(format!("wsman-compl-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let f = dir.join("wsman.bash");
        std::fs::write(&f, self)?;
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("source {} && complete -p wsman", f.display()))
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        out
    }
}

/// Runs wsman with `XDG_CONFIG_HOME` holding `config` as wsman/config.toml.
fn with_config(tag: &str, config: &str, args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("wsman-profile-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("wsman")).unwrap();
    std::fs::write(dir.join("wsman/config.toml"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wsman"))
        .args(args)
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER")
        .env_remove("WSMAN_PASSWORD")
        .env_remove("WSMAN_PROFILE")
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .expect("run wsman");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn a_password_in_a_profile_is_refused_and_not_repeated() {
    let config = "[profiles.lab]\nhost = \"http://127.0.0.1:9/wsman\"\nuser = \"u\"\n\
                  password = \"hunter2-secret\"\n";
    let out = with_config("pw", config, &["--profile", "lab", "identify"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("password") && err.contains("never"), "{err}");
    assert!(err.contains("config.toml"), "names the file: {err}");
    assert!(
        !err.contains("hunter2-secret"),
        "the secret is repeated: {err}"
    );
}

#[test]
fn profile_mistakes_are_usage_errors() {
    let config = "[profiles.lab]\nhost = \"h\"\nfrobnicate = 1\n";
    let out = with_config("unknown", config, &["--profile", "lab", "identify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("frobnicate"),
        "{}",
        text(&out.stderr)
    );
    let out = with_config(
        "missing",
        "[profiles.lab]\n",
        &["--profile", "web", "identify"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("\"web\"") && err.contains("lab"), "{err}");
}

#[test]
fn the_profile_supplies_what_the_command_line_does_not() {
    // Port 9 on loopback is closed: the error names the host the profile
    // gave, or the one -H gave, which wins.
    let config = "[profiles.lab]\nhost = \"http://127.0.0.1:9/wsman\"\nauth = \"ntlm\"\n\
                  user = \"alice\"\nconnect_timeout = 3\n";
    let out = with_config(
        "use",
        config,
        &["--profile", "lab", "-p", "pw", "get", "winrm/config"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("127.0.0.1"),
        "{}",
        text(&out.stderr)
    );
    let out = with_config(
        "wins",
        config,
        &[
            "--profile",
            "lab",
            "-H",
            "http://127.0.0.2:9/wsman",
            "-p",
            "pw",
            "get",
            "winrm/config",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("127.0.0.2"),
        "{}",
        text(&out.stderr)
    );
    // The profile's auth is basic; -a on the command line wins, so
    // basic-over-HTTP is not refused.
    let config =
        "[profiles.b]\nhost = \"http://127.0.0.1:9/wsman\"\nauth = \"basic\"\nuser = \"u\"\n";
    let out = with_config("basic", config, &["--profile", "b", "-p", "pw", "get", "x"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the profile's basic over HTTP is refused"
    );
    let out = with_config(
        "basic2",
        config,
        &[
            "--profile",
            "b",
            "-a",
            "ntlm",
            "-p",
            "pw",
            "--connect-timeout",
            "3",
            "get",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn a_profile_can_ask_for_delegation() {
    // `delegate = true` reaches the same check as --delegate: with NTLM it
    // is a usage error that names the option, before any connection.
    let config = "[profiles.lab]\nhost = \"http://127.0.0.1:9/wsman\"\nauth = \"ntlm\"\n\
                  user = \"alice\"\ndelegate = true\n";
    let out = with_config(
        "delegate",
        config,
        &["--profile", "lab", "-p", "pw", "invoke", "1"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--delegate"),
        "{}",
        text(&out.stderr)
    );
}
