//! WinRS: commands in a Windows remote shell (`cmd.exe`), as `winrs -r:HOST`
//! runs them ([MS-WSMV] 3.1.4.5 to 3.1.4.14 on the
//! `.../windows/shell/cmd` resource).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::ops::ControlFlow;

use wsman::client::Client as WsmanClient;
use wsman::soap::request::{CommandLine, SendStream, ShellCreate};
use wsman::soap::{ns, WsOption};

use crate::{ConnectionInfo, Result};

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// `stdout`.
    Stdout,
    /// `stderr`.
    Stderr,
}

/// An open WinRS shell on one connection.
#[derive(Debug)]
pub struct WinRsShell {
    client: WsmanClient,
    shell_id: String,
}

/// Input for a command: bytes to send to its stdin, then end of input.
pub type Stdin = Option<Vec<u8>>;

impl WinRsShell {
    /// Creates a cmd shell with UTF-8 output (`WINRS_CODEPAGE=65001`) and
    /// no user profile unless `profile` is true.
    pub async fn open(info: &ConnectionInfo, profile: bool) -> Result<WinRsShell> {
        let mut client = info.wsman_client()?;
        let options = vec![
            WsOption::new(ns::option::WINRS_CODEPAGE, "65001"),
            WsOption::flag(ns::option::WINRS_NOPROFILE, !profile),
        ];
        let created = client
            .create_shell(ns::uri::SHELL_CMD, &ShellCreate::winrs(), options)
            .await?;
        let shell_id =
            created
                .shell_id()
                .map(str::to_string)
                .ok_or_else(|| wsman::Error::Protocol {
                    message: "the Create response carries no ShellId".into(),
                })?;
        Ok(WinRsShell { client, shell_id })
    }

    /// The ShellId the host gave.
    pub fn shell_id(&self) -> &str {
        &self.shell_id
    }

    /// Starts `command` with `args`; returns the CommandId.
    pub async fn start(&mut self, command: &str, args: &[String]) -> Result<String> {
        let line = CommandLine {
            command_id: None,
            command: Some(command.to_string()),
            arguments: args.iter().map(|a| quote_arg(a)).collect(),
        };
        let options = vec![WsOption::flag(ns::option::WINRS_CONSOLEMODE_STDIN, true)];
        Ok(self
            .client
            .command(ns::uri::SHELL_CMD, &self.shell_id, &line, options)
            .await?)
    }

    /// Sends input to the command's stdin; `end` closes it.
    pub async fn send_stdin(&mut self, command_id: &str, data: &[u8], end: bool) -> Result<()> {
        let stream = SendStream {
            name: "stdin",
            command_id: Some(command_id),
            end,
            data,
        };
        Ok(self
            .client
            .send(ns::uri::SHELL_CMD, &self.shell_id, &[stream])
            .await?)
    }

    /// Receives output until the command is done, handing each chunk to
    /// `output`; returns the exit code.
    pub async fn wait(
        &mut self,
        command_id: &str,
        mut output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<i64> {
        let code = self
            .wait_while(command_id, |stream, data| {
                output(stream, data);
                ControlFlow::Continue(())
            })
            .await?;
        Ok(code.expect("never asked to stop"))
    }

    /// Like [`WinRsShell::wait`], but `output` may ask to stop listening
    /// (its reader has gone): then `Ok(None)` once the current Receive's
    /// output is handed over, the command still running (terminate it).
    pub async fn wait_while(
        &mut self,
        command_id: &str,
        mut output: impl FnMut(OutputStream, &[u8]) -> ControlFlow<()>,
    ) -> Result<Option<i64>> {
        loop {
            let r = self
                .client
                .receive(
                    ns::uri::SHELL_CMD,
                    &self.shell_id,
                    Some(command_id),
                    "stdout stderr",
                )
                .await?;
            let mut stop = false;
            for s in &r.streams {
                let which = if s.name == "stderr" {
                    OutputStream::Stderr
                } else {
                    OutputStream::Stdout
                };
                if !s.data.is_empty() && output(which, &s.data).is_break() {
                    stop = true;
                }
            }
            if let Some(state) = &r.command_state {
                if state.is_done() {
                    return Ok(Some(state.exit_code.unwrap_or(0)));
                }
            }
            if stop {
                return Ok(None);
            }
        }
    }

    /// Stops a command (`terminate` signal).
    pub async fn terminate(&mut self, command_id: &str) -> Result<()> {
        Ok(self
            .client
            .signal(
                ns::uri::SHELL_CMD,
                &self.shell_id,
                Some(command_id),
                ns::signal::TERMINATE,
            )
            .await?)
    }

    /// Runs `command` to the end: sends `stdin` (if any) and end of input,
    /// streams output to `output`, returns the exit code.
    pub async fn run(
        &mut self,
        command: &str,
        args: &[String],
        stdin: Stdin,
        output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<i64> {
        let id = self.start(command, args).await?;
        if let Some(data) = stdin {
            // Keep each Send well under the envelope size (base64 grows 4/3).
            let chunk = (self.client.options().max_envelope_size as usize / 2).max(1024);
            let mut parts = data.chunks(chunk).peekable();
            if parts.peek().is_none() {
                self.send_stdin(&id, &[], true).await?;
            }
            while let Some(p) = parts.next() {
                self.send_stdin(&id, p, parts.peek().is_none()).await?;
            }
        }
        self.wait(&id, output).await
    }

    /// Deletes the shell.
    pub async fn close(mut self) -> Result<()> {
        Ok(self
            .client
            .delete_shell(ns::uri::SHELL_CMD, &self.shell_id)
            .await?)
    }
}

/// Quotes one argument so that the host's command-line parser
/// (`CommandLineToArgvW` rules, which `cmd.exe` programs use) gives it back
/// unchanged: the host joins `rsp:Command` and the `rsp:Arguments` with
/// spaces into one command line.
pub fn quote_arg(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '\n', '\x0b', '"']) {
        return arg.to_string();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    let mut backslashes = 0usize;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                // Backslashes before a quote are doubled, and the quote escaped.
                push_backslashes(&mut out, backslashes * 2 + 1);
                out.push('"');
                backslashes = 0;
            }
            _ => {
                push_backslashes(&mut out, backslashes);
                backslashes = 0;
                out.push(c);
            }
        }
    }
    // Backslashes before the closing quote are doubled.
    push_backslashes(&mut out, backslashes * 2);
    out.push('"');
    out
}

fn push_backslashes(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\\');
    }
}

#[cfg(test)]
mod tests {
    use super::quote_arg;

    #[test]
    fn arguments_are_quoted_as_windows_parses_them() {
        assert_eq!(quote_arg("plain"), "plain");
        assert_eq!(quote_arg("two words"), "\"two words\"");
        assert_eq!(quote_arg(""), "\"\"");
        assert_eq!(quote_arg("say \"hi\""), r#""say \"hi\"""#);
        assert_eq!(quote_arg(r"C:\dir with space\"), r#""C:\dir with space\\""#);
        assert_eq!(quote_arg(r"a\b"), r"a\b", "backslashes alone stay");
    }
}
