//! Printing a pipeline's events as `wsman` does: output objects to stdout
//! (strings as they are, objects in PowerShell's text form, or one JSON
//! value per line), records to stderr, PowerShell-style.
use psrp::types::{ErrorRecord, PSInvocationState};

use super::output::{err_line, out_line};
use super::sanitize::{for_terminal, stdout_text};
use crate::format::to_text;
use crate::host::{Host, HostStream};
use crate::session::{Pipeline, PipelineEvent};
use crate::Result;

/// How to print.
#[derive(Debug, Clone, Default)]
pub struct Printer {
    /// `--json`.
    pub json: bool,
    /// Prefix each line with this host name (fan-out).
    pub host_prefix: Option<String>,
    /// Whether any error was printed (exit code 1).
    pub had_errors: bool,
    /// `--show-verbose`: print verbose records.
    pub show_verbose: bool,
    /// `--show-debug`: print debug records.
    pub show_debug: bool,
}

impl Printer {
    /// A printer for `args` (`--json`, `--show-verbose`, `--show-debug`).
    pub fn for_args(args: &super::args::ConnectionArgs) -> Self {
        Printer {
            json: args.json,
            show_verbose: args.show_verbose,
            show_debug: args.show_debug,
            ..Default::default()
        }
    }

    /// Output values and host writes: byte-exact to a pipe, escaped on a
    /// terminal.
    fn out(&self, text: &str) {
        let text = stdout_text(text);
        match &self.host_prefix {
            Some(h) => {
                for line in text.split('\n') {
                    out_line(&format!("[{h}] {line}"));
                }
            }
            None => out_line(&text),
        }
    }

    /// Whether a warning/verbose/debug record is to be shown: hidden
    /// verbose/debug records are not, nor a record whose text the host
    /// showed already.
    fn once(&self, stream: HostStream, text: &str) -> bool {
        let wanted = match stream {
            HostStream::Verbose => self.show_verbose,
            HostStream::Debug => self.show_debug,
            _ => true,
        };
        wanted && crate::console_host::show_once(stream, text, false)
    }

    /// Records from the host (errors, warnings, ...): always escaped.
    fn err(&self, text: &str) {
        let text = for_terminal(text);
        match &self.host_prefix {
            Some(h) => {
                for line in text.split('\n') {
                    err_line(&format!("[{h}] {line}"));
                }
            }
            None => err_line(&text),
        }
    }

    fn error_record(&mut self, r: &ErrorRecord) {
        self.had_errors = true;
        let mut text = r.message().to_string();
        if let Some(cat) = &r.category.message {
            text.push_str(&format!("\n    + CategoryInfo          : {cat}"));
        }
        if !r.fully_qualified_error_id.is_empty() {
            text.push_str(&format!(
                "\n    + FullyQualifiedErrorId : {}",
                r.fully_qualified_error_id
            ));
        }
        self.err(&text);
    }

    /// Prints one event; progress goes to `host`.
    pub fn event(&mut self, e: &PipelineEvent, host: &mut dyn Host) {
        match e {
            PipelineEvent::Output(v) => {
                if self.json {
                    let mut j = v.to_json();
                    if let Some(h) = &self.host_prefix {
                        j = serde_json::json!({ "host": h, "value": j });
                    }
                    out_line(&j.to_string());
                } else {
                    self.out(&to_text(v));
                }
            }
            PipelineEvent::Error(r) => self.error_record(r),
            // Verbose and debug records are hidden unless asked for, as
            // Invoke-Command does without -Verbose / -Debug; a line the
            // script wrote through `$host.UI` (always shown, as a host call)
            // also comes as a record, as Windows sends it: shown once.
            PipelineEvent::Warning(r) if self.once(HostStream::Warning, &r.message) => {
                self.err(&format!("WARNING: {}", r.message))
            }
            PipelineEvent::Verbose(r) if self.once(HostStream::Verbose, &r.message) => {
                self.err(&format!("VERBOSE: {}", r.message))
            }
            PipelineEvent::Debug(r) if self.once(HostStream::Debug, &r.message) => {
                self.err(&format!("DEBUG: {}", r.message))
            }
            PipelineEvent::Warning(_) | PipelineEvent::Verbose(_) | PipelineEvent::Debug(_) => {}
            PipelineEvent::Information(r) => {
                if let Some(m) = r.message() {
                    self.out(m);
                }
            }
            PipelineEvent::Progress(p) => host.progress(p),
            PipelineEvent::Finished { state, error } => match state {
                PSInvocationState::Completed => {}
                PSInvocationState::Failed => match error {
                    Some(r) => self.error_record(r),
                    None => {
                        self.had_errors = true;
                        self.err("the pipeline failed");
                    }
                },
                PSInvocationState::Stopped => {
                    self.had_errors = true;
                    self.err("The pipeline has been stopped.");
                }
                _ => {}
            },
        }
    }

    /// Prints a pipeline's events until it ends.
    pub async fn pipeline(&mut self, mut p: Pipeline<'_>, host: &mut dyn Host) -> Result<()> {
        let _batch = super::output::Batch::begin();
        loop {
            while let Some(e) = p.next_queued().await? {
                self.event(&e, host);
            }
            super::output::flush_out();
            match p.next().await? {
                Some(e) => self.event(&e, host),
                None => return Ok(()),
            }
        }
    }
}
