//! Host prompts through the `wsman` binary against the test host, answers
//! piped on stdin as a script would: Get-Credential,
//! Read-Host -AsSecureString, PromptForCredential, `$host.UI.Prompt` with a
//! credential field, `-Confirm` answered Y / N / ? / a wrong answer, a
//! prompt with no answer, verbose and debug records; over NTLM (sealed)
//! and Kerberos (sealed), with `invoke` and `session invoke`. The secret
//! must arrive (the script prints it back) and never show on stderr.
use std::path::Path;
use std::process::Output;

use integration_tests::{wsman_bin, TestHost};

const SECRET: &str = "Sup3r-s3cret!";

/// The shared command line for one mechanism, with stdin piped in.
struct Cli {
    cli: integration_tests::Cli,
}

impl Cli {
    fn new(auth: &'static str, host: &TestHost) -> Self {
        Cli {
            cli: integration_tests::Cli::for_host_with(host, auth),
        }
    }

    /// Runs `wsman ARGS` with `stdin` piped in.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.cli.run_stdin(args, stdin)
    }

    fn invoke(&self, script: &str, stdin: &str) -> Run {
        Run::of(self.run(&["invoke", script], stdin))
    }
}

struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

impl Run {
    fn of(o: Output) -> Run {
        Run {
            code: o.status.code(),
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn lines(&self) -> Vec<&str> {
        self.out.lines().collect()
    }

    fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.out,
            self.err
        );
        self
    }
}

const CONFIRM: &str = "Set-Variable -Name x -Value 5 -Confirm; \"x=$x\"";
const CHOICES: &str =
    "[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is \"Y\"): ";

/// Every case (`all`), or only the ones that carry secrets (the session
/// key exchange and sealing are what differ between mechanisms).
fn prompts(cli: &Cli, all: bool) {
    // Get-Credential: the user, then the password, one line each.
    let r = cli.invoke(
        "$c = Get-Credential; $c.UserName; $c.GetNetworkCredential().Password",
        &format!("bob\n{SECRET}\n"),
    );
    r.ok();
    assert_eq!(r.lines(), ["bob", SECRET]);
    assert!(
        r.err
            .contains("Windows PowerShell credential request\nEnter your credentials.\nUser: "),
        "{}",
        r.err
    );
    assert!(r.err.contains("Password for user bob: "), "{}", r.err);
    assert!(
        !r.err.contains(SECRET),
        "the secret reached stderr: {}",
        r.err
    );

    // Read-Host -AsSecureString: the session key is exchanged on demand.
    let r = cli.invoke(
        "$s = Read-Host -AsSecureString; [pscredential]::new('x', $s).GetNetworkCredential().Password",
        &format!("{SECRET}\n"),
    );
    r.ok();
    assert_eq!(r.lines(), [SECRET]);
    assert!(!r.err.contains(SECRET), "{}", r.err);

    // PromptForCredential with a user name: only the password is asked.
    let r = cli.invoke(
        "$c = $host.UI.PromptForCredential('Cap', 'Msg', 'alice', 'srv'); $c.UserName; $c.GetNetworkCredential().Password",
        &format!("{SECRET}\n"),
    );
    r.ok();
    assert_eq!(r.lines(), ["alice", SECRET]);
    assert!(
        r.err.contains("Cap\nMsg\nPassword for user alice: "),
        "{}",
        r.err
    );

    // $host.UI.Prompt with a text and a credential field.
    let r = cli.invoke(
        "$n = [System.Management.Automation.Host.FieldDescription]::new('Name'); \
         $k = [System.Management.Automation.Host.FieldDescription]::new('Cred'); \
         $k.SetParameterType([pscredential]); \
         $r = $host.UI.Prompt('Caption', 'Message', @($n, $k)); \
         $r['Name']; $r.Cred.UserName; $r.Cred.GetNetworkCredential().Password",
        &format!("Ann\ncarl\n{SECRET}\n"),
    );
    r.ok();
    assert_eq!(r.lines(), ["Ann", "carl", SECRET]);
    assert!(
        r.err
            .contains("Caption\nMessage\nName: \nCred\nUser: \nPassword for user carl: "),
        "{}",
        r.err
    );
    assert!(!r.err.contains(SECRET), "{}", r.err);

    if all {
        choices_errors_and_records(cli);
    }

    // The same through a PSSession kept on the host.
    Run::of(cli.run(&["session", "new", "--name", "p1"], "")).ok();
    let r = Run::of(cli.run(
        &[
            "session",
            "invoke",
            "p1",
            "$c = Get-Credential; $c.UserName; $c.GetNetworkCredential().Password",
        ],
        &format!("dora\n{SECRET}\n"),
    ));
    r.ok();
    assert_eq!(r.lines(), ["dora", SECRET]);
    assert!(!r.err.contains(SECRET), "{}", r.err);
    Run::of(cli.run(&["session", "remove", "p1"], "")).ok();
}

/// -Confirm (the answer decides what runs), a prompt nobody answers, and
/// verbose/debug records.
fn choices_errors_and_records(cli: &Cli) {
    let r = cli.invoke(CONFIRM, "Y\n");
    r.ok();
    assert_eq!(r.lines(), ["x=5"]);
    assert!(
        r.err.contains(&format!(
            "Confirm\nAre you sure you want to perform this action?\n\
             Performing the operation \"Set variable\" on target \"Name: x Value: 5\".\n{CHOICES}"
        )),
        "{}",
        r.err
    );
    let r = cli.invoke(CONFIRM, "N\n");
    r.ok();
    assert_eq!(r.lines(), ["x="]);
    let r = cli.invoke(CONFIRM, "?\nno to all\n");
    r.ok();
    assert_eq!(r.lines(), ["x="]);
    assert!(
        r.err
            .contains("Y - Continue with only the next step of the operation.\n"),
        "{}",
        r.err
    );
    assert!(r
        .err
        .contains("L - Skip this operation and all subsequent operations.\n"));
    let r = cli.invoke(CONFIRM, "maybe\nY\n");
    r.ok();
    assert_eq!(r.lines(), ["x=5"]);
    assert_eq!(r.err.matches(CHOICES).count(), 2, "asked again: {}", r.err);

    // With credential types and options: PromptForCredential2.
    let r = cli.invoke(
        "$c = $host.UI.PromptForCredential('Cap', 'Msg', '', 'srv', 2, 1); \
         $c.UserName; $c.GetNetworkCredential().Password",
        &format!("dom\\ed\n{SECRET}\n"),
    );
    r.ok();
    assert_eq!(r.lines(), ["dom\\ed", SECRET]);
    assert!(
        r.err
            .contains("Cap\nMsg\nUser: \nPassword for user dom\\ed: "),
        "{}",
        r.err
    );

    // Several defaults: a multiple selection, one choice a line, an
    // empty line ends; nothing chosen means the defaults.
    let fruit = "$a = [System.Management.Automation.Host.ChoiceDescription]::new('&Apple', 'red'); \
                 $b = [System.Management.Automation.Host.ChoiceDescription]::new('&Banana', 'yellow'); \
                 $c = [System.Management.Automation.Host.ChoiceDescription]::new('&Cherry', 'dark'); \
                 $host.UI.PromptForChoice('Fruit', 'Pick some', @($a, $b, $c), [int[]]@(0, 1))";
    let r = cli.invoke(fruit, "c\nzz\na\n\n");
    r.ok();
    assert_eq!(r.lines(), ["2", "0"]);
    assert!(
        r.err.contains(
            "Fruit\nPick some\n[A] Apple  [B] Banana  [C] Cherry  [?] Help \
             (default choices are \"A\",\"B\")\nChoice[1]: "
        ),
        "{}",
        r.err
    );
    assert_eq!(
        r.err.matches("Choice[2]: ").count(),
        2,
        "asked again: {}",
        r.err
    );
    let r = cli.invoke(fruit, "\n");
    r.ok();
    assert_eq!(r.lines(), ["0", "1"]);

    // No answer at all: the script sees a PowerShell error, not a fault.
    let r = cli.invoke("$c = Get-Credential; 'after'", "");
    assert_eq!(r.code, Some(1), "{}", r.err);
    assert!(r.out.is_empty(), "{}", r.out);
    assert!(r.err.contains("the host did not answer"), "{}", r.err);
    assert!(r.err.contains("HostException"), "{}", r.err);
    assert!(!r.err.contains("fault"), "{}", r.err);

    // $host.UI text shows once; records only when asked for.
    let script = "$host.UI.WriteDebugLine('hd'); $host.UI.WriteVerboseLine('hv'); \
                  Write-Verbose 'wv'; Write-Debug 'wd'; 'out'";
    let r = cli.invoke(script, "");
    r.ok();
    assert_eq!(r.err.matches("DEBUG: hd").count(), 1, "{}", r.err);
    assert_eq!(r.err.matches("VERBOSE: hv").count(), 1, "{}", r.err);
    assert!(!r.err.contains("wv") && !r.err.contains("wd"), "{}", r.err);
    let r = cli.invoke(
        "$host.UI.WriteWarningLine('hw'); Write-Warning 'w2'; Write-Warning 'w2'",
        "",
    );
    r.ok();
    assert_eq!(r.err.matches("WARNING: hw").count(), 1, "{}", r.err);
    assert_eq!(r.err.matches("WARNING: w2").count(), 2, "{}", r.err);
    let r = Run::of(cli.run(&["--show-verbose", "--show-debug", "invoke", script], ""));
    r.ok();
    assert!(
        r.err.contains("VERBOSE: wv\n") && r.err.contains("DEBUG: wd\n"),
        "{}",
        r.err
    );
}

fn run_for(auth: &'static str, host: &TestHost) {
    assert!(Path::new(&wsman_bin()).exists(), "wsman is not built");
    let cli = Cli::new(auth, host);
    prompts(&cli, auth == "ntlm");
}

#[test]
fn prompts_over_ntlm_sealed() {
    if let Some(host) = TestHost::start(&["--auth", "ntlm"]) {
        run_for("ntlm", &host);
    }
}

#[test]
fn prompts_over_kerberos_sealed() {
    if let Some(host) = TestHost::start(&["--auth", "kerberos"]) {
        run_for("kerberos", &host);
    }
}
