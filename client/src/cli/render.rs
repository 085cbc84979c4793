//! Printing a pipeline's events as `wsman` does: output objects to stdout
//! (strings as they are, objects in PowerShell's text form, or one JSON
//! value per line), records to stderr, PowerShell-style.
use psrp::types::{ErrorRecord, PSInvocationState};

use super::output::{err_line, out_line};
use crate::format::to_text;
use crate::host::Host;
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
}

impl Printer {
    fn out(&self, text: &str) {
        match &self.host_prefix {
            Some(h) => {
                for line in text.split('\n') {
                    out_line(&format!("[{h}] {line}"));
                }
            }
            None => out_line(text),
        }
    }

    fn err(&self, text: &str) {
        match &self.host_prefix {
            Some(h) => {
                for line in text.split('\n') {
                    err_line(&format!("[{h}] {line}"));
                }
            }
            None => err_line(text),
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
            PipelineEvent::Warning(r) => self.err(&format!("WARNING: {}", r.message)),
            PipelineEvent::Verbose(r) => self.err(&format!("VERBOSE: {}", r.message)),
            PipelineEvent::Debug(r) => self.err(&format!("DEBUG: {}", r.message)),
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
            while let Some(e) = p.next_queued()? {
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
