//! Command-line syntax of `wsman` (`shared/docs/cli.md` is the contract):
//! the first of the two parsing steps; [`super::config`] resolves it into a
//! connection configuration.
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `wsman`: WS-Management and PowerShell remoting from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "wsman",
    version,
    about = "WS-Management and PowerShell remoting (PSSessions) against Windows hosts",
    long_about = "WS-Management and PowerShell remoting (PSSessions) against Windows hosts.\n\n\
        Plain WS-Management: identify, get, enumerate, exec (WinRS).\n\
        PowerShell: invoke (a temporary session), enter (interactive), and `session` for \
        PSSessions that persist on the host between runs: new, list, invoke, receive, \
        connect, disconnect, remove.",
    after_help = "Examples:\n  \
        wsman -H server01 -u 'CORP\\alice' identify\n  \
        wsman -H https://server01:5986/wsman -a ntlm invoke 'Get-Service WinRM'\n  \
        wsman -H server01 session new --name s1\n  \
        wsman -H server01 session invoke s1 '$x = 42'\n  \
        wsman -H server01 session invoke s1 '$x'\n  \
        wsman -H server01 session remove s1\n\n\
        Exit codes: 0 success, 1 the remote command failed or wrote errors, 2 usage error,\n\
        3 authentication failed, 4 connection or TLS failure, 5 WS-Management fault,\n\
        130 interrupted by Ctrl+C.\n\n\
        Shell completions: `wsman completions bash|zsh|fish|powershell`; man page: `wsman man`."
)]
pub struct Cli {
    /// How to reach and authenticate to the host.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the output options (`--json`, `-v`, ...).
const OUTPUT: &str = "Output options";

/// Authentication mechanisms (`-a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// Kerberos, falling back to NTLM (what Windows clients use).
    Negotiate,
    /// NTLMv2.
    Ntlm,
    /// Kerberos only (uses a `kinit` ticket when no password is given).
    Kerberos,
    /// Basic: local accounts only; needs HTTPS or `--no-encryption`.
    Basic,
    /// TLS client certificate (`--cert` and `--key`), HTTPS only.
    Certificate,
    /// CredSSP (delegates the credentials to the host for a second hop).
    Credssp,
}

/// Connection options, accepted before or after the subcommand; in each
/// subcommand's help they come after its own options, under their own
/// heading.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection options")]
pub struct ConnectionArgs {
    /// Host: `server01`, `server01:5986` or a URL such as `http://127.0.0.1:5985/wsman`.
    /// Several, comma-separated, for `invoke` fan-out.
    #[arg(
        short = 'H',
        long = "host",
        env = "WSMAN_HOST",
        global = true,
        value_delimiter = ','
    )]
    pub hosts: Vec<String>,
    /// Use HTTPS (port 5986 unless given).
    #[arg(long, global = true)]
    pub https: bool,
    /// User: `user`, `DOMAIN\user` or `user@REALM`.
    #[arg(short, long, env = "WSMAN_USER", global = true)]
    pub user: Option<String>,
    /// Password (else env WSMAN_PASSWORD, else a prompt on a terminal). Never echoed or logged.
    #[arg(short, long, global = true, hide_env_values = true)]
    pub password: Option<String>,
    /// NTLM with the NT hash (32 hex digits, MD4 of the UTF-16LE password;
    /// `LM:NT` also accepted) instead of a password: `-a ntlm` or `negotiate`.
    /// Prefer env WSMAN_NT_HASH: arguments are visible to other local users.
    #[arg(
        long,
        global = true,
        env = "WSMAN_NT_HASH",
        hide_env_values = true,
        value_name = "HEX"
    )]
    pub nt_hash: Option<String>,
    /// Authentication mechanism.
    #[arg(short, long, value_enum, default_value_t = AuthArg::Negotiate, global = true)]
    pub auth: AuthArg,
    /// Kerberos delegation (the second hop): forward your ticket-granting
    /// ticket to the host, so commands there reach other hosts as you.
    /// -a kerberos or negotiate; needs a forwardable ticket (kinit -f).
    /// Example: wsman -H srv1 -a kerberos --delegate invoke
    /// "Invoke-Command -ComputerName srv2 { hostname }"
    #[arg(long, global = true)]
    pub delegate: bool,
    /// Allow unencrypted SOAP bodies over plain HTTP (needed for Basic over HTTP).
    #[arg(long, global = true)]
    pub no_encryption: bool,
    /// HTTPS without certificate verification (prints a warning).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Extra trusted CA certificate (PEM) for HTTPS.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for `-a certificate`.
    #[arg(long, global = true, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of the client certificate.
    #[arg(long, global = true, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// Session configuration (endpoint); JEA endpoints use their own name.
    #[arg(
        long,
        global = true,
        default_value = "Microsoft.PowerShell",
        value_name = "NAME"
    )]
    pub configuration: String,
    /// WS-Management OperationTimeout of each request, in seconds.
    #[arg(long, global = true, default_value_t = 20, value_name = "SECS")]
    pub operation_timeout: u32,
    /// Seconds to wait for the TCP (and TLS) connection.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    pub connect_timeout: u32,
    /// Kerberos service in the SPN (HTTP, WSMAN or host).
    #[arg(long, global = true, default_value = "HTTP", value_name = "SERVICE")]
    pub spn_service: String,
    /// Host name in the SPN, when it differs from the one connected to.
    #[arg(long, global = true, value_name = "HOST")]
    pub spn_host: Option<String>,
    /// HTTP CONNECT proxy URL (else HTTPS_PROXY / HTTP_PROXY / NO_PROXY).
    #[arg(long, global = true, value_name = "URL")]
    pub proxy: Option<String>,
    /// Connection settings from the named profile of the config file
    /// ($XDG_CONFIG_HOME/wsman/config.toml, else ~/.config/wsman/config.toml);
    /// options given here win. Never a password in the file.
    #[arg(long, global = true, env = "WSMAN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Whether `-a` was given on the command line (set after parsing):
    /// `identify` is unauthenticated otherwise, as Test-WSMan.
    #[arg(skip)]
    pub auth_on_command_line: bool,
    /// Machine-readable output: one JSON object per line.
    #[arg(help_heading = OUTPUT, long, global = true)]
    pub json: bool,
    /// Diagnostics on stderr; -vv adds the SOAP bodies (secrets redacted).
    #[arg(help_heading = OUTPUT, short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Also print the remote script's verbose records (`VERBOSE: ...` on
    /// stderr); hidden by default, as Invoke-Command without -Verbose.
    #[arg(help_heading = OUTPUT, long, global = true)]
    pub show_verbose: bool,
    /// Also print the remote script's debug records (`DEBUG: ...` on
    /// stderr); hidden by default, as Invoke-Command without -Debug.
    #[arg(help_heading = OUTPUT, long, global = true)]
    pub show_debug: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Identify the host (Test-WSMan): protocol version, vendor, product version.
    /// Unauthenticated unless -a is given, as Test-WSMan.
    #[command(after_help = "Examples:\n  \
        wsman -H server01 identify\n  \
        wsman -H server01 -a negotiate -u 'CORP\\alice' identify    (adds ProductVersion)\n  \
        wsman -H server01 --https --ca-file ca.pem identify")]
    Identify,
    /// Get a resource (Get-WSManInstance), e.g. `winrm/config` or `wmicimv2/Win32_OperatingSystem`.
    #[command(after_help = "Examples:\n  \
        wsman -H server01 get winrm/config\n  \
        wsman -H server01 get wmicimv2/Win32_Service -s Name=WinRM\n  \
        wsman -H server01 get wmicimv2/Win32_OperatingSystem --xml")]
    Get {
        /// Resource URI or alias.
        resource: String,
        /// Selector, repeatable: `-s Name=WinRM`.
        #[arg(short = 's', long = "selector", value_name = "KEY=VALUE")]
        selectors: Vec<String>,
        /// Print the XML as received instead of `Name : Value` text.
        #[arg(long)]
        xml: bool,
    },
    /// Enumerate a resource (Get-WSManInstance -Enumerate), streaming items as they are pulled.
    #[command(after_help = "Examples:\n  \
        wsman -H server01 enumerate wmicimv2/Win32_Service\n  \
        wsman -H server01 enumerate wmicimv2/Win32_Service --filter \"SELECT * FROM Win32_Service WHERE State='Running'\"\n  \
        wsman -H server01 --json enumerate wmicimv2/Win32_Process | jq .Win32_Process.Name")]
    Enumerate {
        /// Resource URI or alias.
        resource: String,
        /// WQL filter, e.g. "SELECT * FROM Win32_Service WHERE State='Running'".
        #[arg(long, value_name = "WQL")]
        filter: Option<String>,
        /// Print each item's XML as received instead of `Name : Value` text.
        #[arg(long)]
        xml: bool,
    },
    /// Run a command in a WinRS cmd shell (winrs -r:HOST CMD); exits with its exit code.
    #[command(after_help = "Examples:\n  \
        wsman -H server01 exec ipconfig /all\n  \
        wsman -H server01 exec -n cmd /c 'dir C:\\'\n  \
        echo hello | wsman -H server01 exec findstr h")]
    Exec {
        /// Send no stdin to the command (as `ssh -n`): for scripts whose
        /// stdin is a pipe that never closes. Without it, a stdin that is
        /// not a terminal is sent to the command.
        #[arg(short = 'n', long)]
        no_stdin: bool,
        /// The command and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Run a PowerShell script in a temporary session (Invoke-Command -ComputerName).
    ///
    /// Output objects are shown as PowerShell's console shows them: strings
    /// and numbers one per line, objects in tables (up to 4 properties),
    /// lists (5 or more) or their format view (files, hashtables), at the
    /// terminal's width (120 columns off a terminal); `--json` for objects.
    #[command(after_help = "Examples:\n  \
        wsman -H server01 invoke 'Get-Service WinRM'\n  \
        wsman -H server01,server02 --throttle 8 invoke '$env:COMPUTERNAME'\n  \
        wsman -H server01 invoke -f deploy.ps1 --arg web01 --arg 8080\n  \
        wsman -H server01 --json invoke 'Get-Process' | jq -c 'select(.stream==\"output\")'")]
    Invoke {
        /// The script (or -f FILE).
        #[command(flatten)]
        script: ScriptArgs,
        /// With several hosts: how many at once.
        #[arg(long, default_value_t = 32)]
        throttle: usize,
        /// Pipeline input: each line of FILE (or `-` for stdin) is one input object.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Interactive session (Enter-PSSession); `exit` leaves.
    #[command(after_help = "Examples:\n  \
        wsman -H server01 enter\n  \
        wsman enter s1            (a session made by `wsman session new --name s1`)")]
    Enter {
        /// Enter an existing session (Id, name or InstanceId) instead of a new one.
        session: Option<String>,
    },
    /// PSSessions that persist on the host between runs.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        wsman -H server01 session new --name s1\n  \
        wsman session invoke s1 '$x = 42'; wsman session invoke s1 '$x'\n  \
        wsman session remove s1"
    )]
    Session(SessionCommand),
    /// Print a completion script for SHELL on stdout.
    #[command(after_help = "Examples:\n  \
        wsman completions bash > /etc/bash_completion.d/wsman\n  \
        wsman completions zsh > \"${fpath[1]}/_wsman\"\n  \
        wsman completions fish > ~/.config/fish/completions/wsman.fish\n  \
        wsman completions powershell >> $PROFILE")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these same definitions.
    #[command(after_help = "Examples:\n  \
        wsman man | man -l -\n  \
        wsman man > /usr/local/share/man/man1/wsman.1")]
    Man,
    /// Copy a file to or from the host (`host:` prefix marks the remote side).
    #[command(after_help = "Examples:\n  \
        wsman -H server01 copy ./app.zip 'host:C:\\Temp\\app.zip'\n  \
        wsman -H server01 copy 'host:C:\\Windows\\win.ini' ./win.ini\n  \
        wsman -H server01 copy -r ./site 'host:C:\\inetpub'   (C:\\inetpub\\site; again: merged)")]
    Copy {
        /// Copy a folder and everything in it (Copy-Item -Recurse): into
        /// DEST/NAME when DEST is a folder; a folder that exists there is
        /// merged into (files replaced or added, none removed; a read-only
        /// one refused); local links are followed (loops and dangling
        /// links skipped with a warning).
        #[arg(short = 'r', long = "recurse")]
        recurse: bool,
        /// Source path.
        src: String,
        /// Destination path.
        dest: String,
    },
}

/// `wsman session ...`.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Create a PSSession on the host and leave it there, disconnected (New-PSSession).
    #[command(after_help = "Examples:\n  \
        wsman -H server01 session new --name s1\n  \
        wsman -H server01 session new --name s1 --idle-timeout 3600")]
    New {
        /// A name for the session.
        #[arg(long)]
        name: Option<String>,
        /// How long the host keeps it while disconnected, in seconds.
        #[arg(long, value_name = "SECS")]
        idle_timeout: Option<u32>,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
    /// The sessions recorded locally (Get-PSSession); `--remote`: those the host keeps for this user.
    #[command(after_help = "Examples:\n  \
        wsman session list\n  \
        wsman -H server01 session list --remote")]
    List {
        /// Ask the host (Get-PSSession -ComputerName).
        #[arg(long)]
        remote: bool,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
    /// Run a script in a session (Invoke-Command -Session).
    #[command(after_help = "Examples:\n  \
        wsman session invoke s1 '$x = 42'\n  \
        wsman session invoke s1 -f ./report.ps1 --arg C:\\Logs\n  \
        wsman session invoke --disconnected s1 'Start-Sleep 600; \"done\"'   (then: wsman session receive s1)")]
    Invoke {
        /// Session: local Id, name or InstanceId, or a comma list of them (a
        /// name selects every session of that name).
        session: String,
        /// The script (or -f FILE).
        #[command(flatten)]
        script: ScriptArgs,
        /// Start it and return at once, leaving it running (Invoke-Command -InDisconnectedSession).
        #[arg(long)]
        disconnected: bool,
        /// Pipeline input: each line of FILE (or `-` for stdin) is one input object.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
    /// Output of commands that ran while disconnected (Receive-PSSession).
    #[command(after_help = "Examples:\n  \
        wsman session receive s1\n  \
        wsman --json session receive s1")]
    Receive {
        /// Session: local Id, name or InstanceId, or a comma list of them (a
        /// name selects every session of that name).
        session: String,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
    /// Connect to a disconnected session, also one created elsewhere (Connect-PSSession).
    #[command(after_help = "Examples:\n  \
        wsman session connect s1\n  \
        wsman -H server01 session connect 3f2a7c1e-0b1d-4c55-9d0e-2a6f1f0c9b11   (an InstanceId from `session list --remote`)")]
    Connect {
        /// Session: local Id, name or InstanceId (from `list --remote`), or a
        /// comma list of them.
        session: String,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
    /// Disconnect a session (Disconnect-PSSession).
    #[command(after_help = "Examples:\n  \
        wsman session disconnect s1\n  \
        wsman session disconnect s1 --idle-timeout 7200 --buffer-mode drop")]
    Disconnect {
        /// Session: local Id, name or InstanceId, or a comma list of them (a
        /// name selects every session of that name).
        session: String,
        /// How long the host keeps it while disconnected, in seconds.
        #[arg(long, value_name = "SECS")]
        idle_timeout: Option<u32>,
        /// What the host does with output when the buffer fills: block or drop.
        #[arg(long, value_enum)]
        buffer_mode: Option<BufferModeArg>,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
    /// Delete the session on the host and its local record (Remove-PSSession).
    #[command(after_help = "Examples:\n  \
        wsman session remove s1\n  \
        wsman -H server01 session remove 3f2a7c1e-0b1d-4c55-9d0e-2a6f1f0c9b11")]
    Remove {
        /// Session: local Id, name or InstanceId, or a comma list of them (a
        /// name selects every session of that name).
        session: String,
        /// With several hosts or sessions: how many at once (-ThrottleLimit).
        #[arg(long, default_value_t = 32, value_name = "N")]
        throttle: usize,
    },
}

/// The script of `invoke` and `session invoke`: SCRIPT, or `-f FILE`
/// (Invoke-Command -FilePath; `-` for stdin), with `--arg VALUE`s
/// (-ArgumentList): positional arguments, `$args` or the script's
/// `param()` block.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// The script text.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub script: Option<String>,
    /// Read the script from FILE (`-` for stdin), as Invoke-Command -FilePath.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// One positional argument for the script (repeatable, in order), as
    /// Invoke-Command -ArgumentList: `$args`, or its `param()` block.
    #[arg(long = "arg", value_name = "VALUE", allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Output buffering of a disconnected session ([MS-WSMV] 3.1.4.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BufferModeArg {
    /// The pipeline pauses when the buffer is full.
    Block,
    /// The oldest output is discarded.
    Drop,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_after_subcommand() {
        let cli = Cli::try_parse_from([
            "wsman",
            "session",
            "invoke",
            "s1",
            "$x",
            "-H",
            "h1",
            "-a",
            "basic",
            "--no-encryption",
        ])
        .unwrap();
        assert_eq!(cli.connection.hosts, ["h1"]);
        assert_eq!(cli.connection.auth, AuthArg::Basic);
        assert!(cli.connection.no_encryption);
        assert!(matches!(
            cli.command,
            Command::Session(SessionCommand::Invoke { ref session, .. }) if session == "s1"
        ));
    }

    #[test]
    fn several_hosts_split_on_commas() {
        let cli = Cli::try_parse_from(["wsman", "-H", "a,b,c", "invoke", "--throttle", "2", "1"])
            .unwrap();
        assert_eq!(cli.connection.hosts, ["a", "b", "c"]);
    }

    #[test]
    fn exec_keeps_hyphenated_arguments() {
        let cli = Cli::try_parse_from(["wsman", "exec", "ipconfig", "/all", "-x"]).unwrap();
        match cli.command {
            Command::Exec { command, no_stdin } => {
                assert_eq!(command, ["ipconfig", "/all", "-x"]);
                assert!(!no_stdin);
            }
            other => panic!("{other:?}"),
        }
    }
}
