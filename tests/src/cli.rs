//! The `wsman` command line for a test: one place that knows which options
//! reach a test host (url, auth, user, password through `WSMAN_PASSWORD`,
//! `--no-encryption` for Basic, a Kerberos realm's host name, user and
//! ccache), which environment a test must not inherit (`WSMAN_HOST`,
//! `WSMAN_USER`, `WSMAN_PROFILE`, ...), a state folder of its own, and a
//! time limit after which the process is killed and the test fails instead
//! of hanging.
//!
//! ```no_run
//! # let host = integration_tests::TestHost::start(&["--auth", "basic", "--allow-unencrypted"]).unwrap();
//! use integration_tests::Cli;
//! let cli = Cli::for_host(&host);
//! let out = cli.run(&["invoke", "1+1"]);
//! assert_eq!(integration_tests::cli::ok(&out).trim(), "2");
//! ```
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TempDir;
use crate::{wsman_bin, TestHost};

/// Variables of the user's environment the `wsman` binary reads and a test
/// must not inherit.
const CLEARED: &[&str] = &[
    "WSMAN_HOST",
    "WSMAN_USER",
    "WSMAN_PASSWORD",
    "WSMAN_NT_HASH",
    "WSMAN_PROFILE",
    "WSMAN_STATE_DIR",
];

/// How long a `wsman` run may take before it is killed (the test fails).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The `wsman` command line for one test: built once, run many times.
/// Setters take and return `self`; every run gets the same options.
#[derive(Debug)]
pub struct Cli {
    url: Option<String>,
    auth: Option<String>,
    user: Option<String>,
    password: Option<String>,
    nt_hash: Option<String>,
    no_encryption: Option<bool>,
    args: Vec<String>,
    env: Vec<(OsString, OsString)>,
    unset: Vec<OsString>,
    state_dir: PathBuf,
    own_state: Option<TempDir>,
    timeout: Duration,
}

impl Cli {
    /// `wsman` with no connection options, a fresh state folder (removed
    /// with the `Cli`) and none of the user's `WSMAN_*` variables: for
    /// commands that name their hosts themselves (`-H a,b`).
    pub fn new() -> Cli {
        let state = TempDir::new("cli-state");
        Cli {
            url: None,
            auth: None,
            user: None,
            password: None,
            nt_hash: None,
            no_encryption: None,
            args: Vec::new(),
            env: Vec::new(),
            unset: Vec::new(),
            state_dir: state.path().to_path_buf(),
            own_state: Some(state),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `wsman` for the test host `host` with its user and password and the
    /// authentication it was started with (`--auth`; Basic when it accepts
    /// several and Basic is one of them). See
    /// [`for_host_with`](Self::for_host_with).
    pub fn for_host(host: &TestHost) -> Cli {
        let methods: Vec<&str> = host.info["auth"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
            .unwrap_or_default();
        let auth = match methods.as_slice() {
            [only] => only,
            several if several.contains(&"basic") || several.is_empty() => "basic",
            several => several[0],
        };
        Cli::for_host_with(host, auth)
    }

    /// `wsman` for the test host `host` with its user and password and the
    /// mechanism `auth` (`basic`, `ntlm`, `kerberos`, `negotiate`, ...):
    /// Basic runs over HTTP with `--no-encryption`; Kerberos reaches the
    /// host as `localhost` (the SPN needs a name) with the realm's user; a
    /// host with a realm lends its krb5.conf, with an in-memory ccache of
    /// this process.
    pub fn for_host_with(host: &TestHost, auth: &str) -> Cli {
        let mut url = host.url().to_string();
        let mut user = host
            .get("user")
            .expect("the host prints its user")
            .to_string();
        if auth == "kerberos" {
            url = url.replace("127.0.0.1", "localhost");
            user = format!("{user}@{}", host.get("realm").expect("a Kerberos realm"));
        }
        let mut cli = Cli::new()
            .url(&url)
            .auth(auth)
            .user(&user)
            .password(host.get("password").expect("the host prints its password"));
        if let Some(k) = host.get("krb5_config") {
            cli = cli.env("KRB5_CONFIG", k).env(
                "KRB5CCNAME",
                format!("MEMORY:wsman-test-{}", std::process::id()),
            );
        }
        cli
    }

    /// The endpoint (`-H`).
    pub fn url(mut self, url: &str) -> Cli {
        self.url = Some(url.to_string());
        self
    }

    /// The mechanism (`-a`); Basic adds `--no-encryption` (the test host
    /// speaks HTTP) unless [`no_encryption`](Self::no_encryption) says
    /// otherwise.
    pub fn auth(mut self, auth: &str) -> Cli {
        self.auth = Some(auth.to_string());
        self
    }

    /// The user (`-u`).
    pub fn user(mut self, user: &str) -> Cli {
        self.user = Some(user.to_string());
        self
    }

    /// The password, given through `WSMAN_PASSWORD` (never on the command
    /// line, where other processes could read it).
    pub fn password(mut self, password: &str) -> Cli {
        self.password = Some(password.to_string());
        self
    }

    /// No password at all (the `wsman` binary then asks or fails).
    pub fn no_password(mut self) -> Cli {
        self.password = None;
        self
    }

    /// The NT hash instead of a password (NTLM), given through
    /// `WSMAN_NT_HASH`, never on the command line.
    pub fn nt_hash(mut self, hash: &str) -> Cli {
        self.password = None;
        self.nt_hash = Some(hash.to_string());
        self
    }

    /// Whether `--no-encryption` is given, whatever the mechanism: `true`
    /// for NTLM over HTTP unsealed, `false` for Basic over HTTPS (or over
    /// HTTP, to see the refusal). By default it is given for Basic alone.
    pub fn no_encryption(mut self, given: bool) -> Cli {
        self.no_encryption = Some(given);
        self
    }

    /// An option put before every command's own arguments.
    pub fn arg(mut self, arg: &str) -> Cli {
        self.args.push(arg.to_string());
        self
    }

    /// A variable set in the environment of every run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cli {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// A variable of the user's environment not inherited by the runs
    /// (`RUST_LOG`, say), besides the `WSMAN_*` ones that never are.
    pub fn unset(mut self, key: impl AsRef<OsStr>) -> Cli {
        self.unset.push(key.as_ref().to_os_string());
        self
    }

    /// The state folder (`WSMAN_STATE_DIR`) instead of the `Cli`'s own.
    pub fn state_dir(mut self, dir: &Path) -> Cli {
        self.state_dir = dir.to_path_buf();
        self.own_state = None;
        self
    }

    /// The time limit of [`run`](Self::run) and
    /// [`run_stdin`](Self::run_stdin) (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, limit: Duration) -> Cli {
        self.timeout = limit;
        self
    }

    /// The state folder the runs use.
    pub fn state(&self) -> &Path {
        &self.state_dir
    }

    /// The endpoint, if one was given.
    pub fn endpoint(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The command line, not started: the connection options, then `args`;
    /// stdin is closed unless the caller sets it.
    pub fn command(&self, args: &[&str]) -> Command {
        self.build(Command::new(wsman_bin()), args)
    }

    /// The same command line started through a driver (a pseudo-terminal
    /// runner from `tests/pty`, `strace`, ...): `DRIVER... WSMAN OPTIONS
    /// ARGS`, with this `Cli`'s environment.
    pub fn command_via<S: AsRef<OsStr>>(&self, driver: &[S], args: &[&str]) -> Command {
        let (program, before) = driver.split_first().expect("a driver program");
        let mut c = Command::new(program);
        c.args(before).arg(wsman_bin());
        self.build(c, args)
    }

    /// The command line to another endpoint than the `Cli`'s (a forwarder
    /// in front of the host), with the same options otherwise.
    pub fn command_to(&self, url: &str, args: &[&str]) -> Command {
        let mut c = Command::new(wsman_bin());
        c.args(["-H", url]);
        self.build_except_url(c, args)
    }

    fn build(&self, mut c: Command, args: &[&str]) -> Command {
        if let Some(url) = &self.url {
            c.args(["-H", url]);
        }
        self.build_except_url(c, args)
    }

    fn build_except_url(&self, mut c: Command, args: &[&str]) -> Command {
        let bin = wsman_bin();
        assert!(bin.exists(), "{} is not built", bin.display());
        for v in CLEARED {
            c.env_remove(v);
        }
        for v in &self.unset {
            c.env_remove(v);
        }
        if let Some(auth) = &self.auth {
            c.args(["-a", auth]);
        }
        let basic = self.auth.as_deref() == Some("basic");
        if self.no_encryption.unwrap_or(basic) {
            c.arg("--no-encryption");
        }
        if let Some(user) = &self.user {
            c.args(["-u", user]);
        }
        if let Some(p) = &self.password {
            c.env("WSMAN_PASSWORD", p);
        }
        if let Some(h) = &self.nt_hash {
            c.env("WSMAN_NT_HASH", h);
        }
        c.args(&self.args)
            .args(args)
            .env("WSMAN_STATE_DIR", &self.state_dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// Runs `wsman ARGS` with stdin closed; killed after the time limit.
    pub fn run(&self, args: &[&str]) -> Output {
        self.finish(self.command(args), None)
    }

    /// Runs `wsman ARGS` with `input` on its stdin (then closed); killed
    /// after the time limit.
    pub fn run_stdin(&self, args: &[&str], input: impl AsRef<[u8]>) -> Output {
        let mut c = self.command(args);
        c.stdin(Stdio::piped());
        self.finish(c, Some(input.as_ref()))
    }

    /// Runs a command line made by [`command`](Self::command),
    /// [`command_to`](Self::command_to) or [`command_via`](Self::command_via)
    /// (stdout and stderr captured) with this `Cli`'s time limit.
    pub fn run_command(&self, c: Command) -> Output {
        self.finish(c, None)
    }

    /// Starts `wsman ARGS` with stdout and stderr piped, for a test that
    /// signals or watches it; the caller waits for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsman")
    }

    fn finish(&self, mut c: Command, input: Option<&[u8]>) -> Output {
        // Program and arguments only: the environment holds the password.
        let shown = std::iter::once(c.get_program())
            .chain(c.get_args())
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        // A process group of its own, so a run past its limit is stopped
        // with everything it started (a pty driver's `wsman`, say).
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start wsman");
        if let Some(data) = input {
            let mut stdin = child.stdin.take().expect("piped stdin");
            let data = data.to_vec();
            // A thread, so a command that does not read cannot block us.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&data);
            });
        }
        let out = drain(child.stdout.take().expect("piped stdout"));
        let err = drain(child.stderr.take().expect("piped stderr"));
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for wsman") {
                break status;
            }
            if Instant::now() >= deadline {
                let group = format!("-{}", child.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = child.kill();
                let _ = child.wait();
                let err = err.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
                panic!(
                    "{shown} did not finish within {:?}; stderr:\n{}",
                    self.timeout,
                    String::from_utf8_lossy(&err)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Output {
            status,
            stdout: out.recv().unwrap_or_default(),
            stderr: err.recv().unwrap_or_default(),
        }
    }
}

impl Default for Cli {
    fn default() -> Cli {
        Cli::new()
    }
}

/// Reads `r` to its end on a thread; the bytes arrive on the channel.
fn drain(mut r: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// A run's stdout as text (lossy).
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A run's stderr as text (lossy).
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A run's stdout, after asserting it exited 0 (else the exit code, stdout
/// and stderr are the failure's message).
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver that ignores the `wsman` command line after it and runs
    /// `script` in a shell instead (`sh -c SCRIPT NAME WSMAN ARGS...`).
    fn shell(script: &str) -> [&str; 4] {
        ["/bin/sh", "-c", script, "driver"]
    }

    #[test]
    fn the_environment_is_the_cli_s_and_the_user_s_is_not_inherited() {
        let cli = Cli::new()
            .password("pw-in-env")
            .env("WSMAN_USER", "set-here");
        let mut c = cli.command_via(
            &shell("echo \"$WSMAN_PASSWORD|$WSMAN_USER|${WSMAN_HOST-unset}|$WSMAN_STATE_DIR\""),
            &[],
        );
        c.env("WSMAN_HOST", "from-the-user");
        // What the test sets on the command itself wins; WSMAN_HOST was
        // cleared by the Cli and set again here, so it shows.
        let out = cli.run_command(c);
        let line = ok(&out);
        let state = cli.state().display().to_string();
        assert_eq!(
            line.trim(),
            format!("pw-in-env|set-here|from-the-user|{state}")
        );
        let cleared = cli.run_command(cli.command_via(&shell("echo ${WSMAN_HOST-unset}"), &[]));
        assert_eq!(ok(&cleared).trim(), "unset");
    }

    /// The arguments a driver sees (after `wsman`), and the secrets in its
    /// environment.
    fn seen(cli: &Cli) -> String {
        let script = "shift; echo \"$* |${WSMAN_PASSWORD-none}|${WSMAN_NT_HASH-none}\"";
        ok(&cli.run_command(cli.command_via(&shell(script), &["identify"])))
            .trim()
            .to_string()
    }

    #[test]
    fn no_encryption_is_basic_s_default_and_can_be_set_either_way() {
        let basic = || Cli::new().url("https://h/wsman").auth("basic").user("u");
        assert_eq!(
            seen(&basic()),
            "-H https://h/wsman -a basic --no-encryption -u u identify |none|none"
        );
        assert_eq!(
            seen(&basic().no_encryption(false).password("pw")),
            "-H https://h/wsman -a basic -u u identify |pw|none"
        );
        let ntlm = Cli::new().auth("ntlm").no_encryption(true);
        assert_eq!(seen(&ntlm), "-a ntlm --no-encryption identify |none|none");
    }

    #[test]
    fn an_nt_hash_goes_in_the_environment_instead_of_the_password() {
        let cli = Cli::new()
            .auth("ntlm")
            .password("pw")
            .nt_hash("00112233445566778899aabbccddeeff");
        assert_eq!(
            seen(&cli),
            "-a ntlm identify |none|00112233445566778899aabbccddeeff"
        );
    }

    #[test]
    fn a_variable_unset_is_not_inherited() {
        let cli = Cli::new().unset("HOME");
        let out = cli.run_command(cli.command_via(&shell("echo ${HOME-unset}"), &[]));
        assert_eq!(ok(&out).trim(), "unset");
    }

    #[test]
    fn stdin_reaches_the_command_and_the_state_folder_goes_with_the_cli() {
        let cli = Cli::new();
        let state = cli.state().to_path_buf();
        assert!(state.is_dir());
        let mut c = cli.command_via(&shell("tr a-z A-Z"), &[]);
        c.stdin(Stdio::piped());
        let out = cli.finish(c, Some(b"piped in"));
        assert_eq!(stdout(&out), "PIPED IN");
        drop(cli);
        assert!(!state.exists());
    }

    #[test]
    fn a_run_past_the_limit_is_killed_and_fails_without_the_password() {
        let cli = Cli::new()
            .password("never-shown")
            .timeout(Duration::from_millis(300));
        let started = Instant::now();
        let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cli.run_command(cli.command_via(&shell("sleep 30"), &[]))
        }))
        .expect_err("the run is cut at its limit");
        assert!(started.elapsed() < Duration::from_secs(10));
        let message = failure
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("did not finish within"), "{message}");
        assert!(!message.contains("never-shown"), "{message}");
    }
}
