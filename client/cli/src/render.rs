//! Printing a pipeline's events as `wsman` does: output objects to stdout
//! (strings as they are, objects laid out as PowerShell's console shows
//! them: tables, lists, format views; [`pssession::format::OutDefault`]),
//! records to
//! stderr, PowerShell-style; or, with `--json`, every event as one JSON
//! object per line on stdout (`shared/docs/cli.md`, "JSON lines").
use std::sync::atomic::{AtomicBool, Ordering};

use psrp::clixml::Value;
use psrp::types::{ErrorRecord, InformationRecord, PSInvocationState, ProgressRecord};
use serde_json::{json, Map, Value as Json};

use super::output::{err_line, out_line};
use super::sanitize::{for_terminal, stdout_text};
use crate::format::{OutDefault, DEFAULT_WIDTH};
use crate::host::{Host, HostStream};
use crate::session::PipelineEvent;

/// Whether this process prints JSON lines (`--json`): the console host's
/// writes (Write-Host, `$host.UI`, progress) follow it too. One per
/// process, as stdout is.
static JSON_MODE: AtomicBool = AtomicBool::new(false);

/// Turns JSON lines on or off for the whole process (set once from `--json`).
pub fn set_json_mode(on: bool) {
    JSON_MODE.store(on, Ordering::Relaxed);
}

/// Whether `--json` is in effect.
pub fn json_mode() -> bool {
    JSON_MODE.load(Ordering::Relaxed)
}

/// Writes one JSON line: `{"stream":STREAM, ...fields}`, with `host` when
/// the line belongs to one of several hosts or sessions.
pub fn json_line(stream: &str, host: Option<&str>, fields: Json) {
    json_line_in(stream, host, None, fields);
}

/// [`json_line`] for a line of one of several sessions: `host` and
/// `session` (its local Id) fields.
pub fn json_line_in(stream: &str, host: Option<&str>, session: Option<&str>, fields: Json) {
    let mut m = Map::new();
    m.insert("stream".into(), stream.into());
    if let Some(h) = host {
        m.insert("host".into(), h.into());
    }
    if let Some(s) = session {
        m.insert("session".into(), s.into());
    }
    if let Json::Object(f) = fields {
        m.extend(f);
    }
    out_line(&Json::Object(m).to_string());
}

/// A host or session that could not be reached or failed as a whole:
/// `{"stream":"failure","host":...,"exit_code":N,"message":...}`.
pub fn json_failure(host: Option<&str>, session: Option<&str>, e: &crate::Error) {
    let mut fields = json!({
        "exit_code": crate::exit_code(e),
        "message": super::sanitize::error_text(&e.to_string()),
    });
    if let Some(s) = session {
        fields["session"] = s.into();
    }
    json_line("failure", host, fields);
}

/// An output object as JSON: strings, numbers and booleans as JSON values,
/// objects as their properties, with their type names under `"@types"`.
pub fn output_json(v: &Value) -> Json {
    let mut j = v.to_json();
    if let (Value::Object(o), Json::Object(m)) = (v, &mut j) {
        if let Some(types) = &o.type_names {
            m.insert("@types".into(), json!(types.as_ref()));
        }
    }
    j
}

/// An error record's JSON line fields: message, category, fqid, target.
fn error_json(r: &ErrorRecord) -> Json {
    json!({
        "message": r.message(),
        "category": r.category.category_name().unwrap_or("NotSpecified"),
        "fqid": r.fully_qualified_error_id,
        "target": r.target_object.to_json(),
    })
}

/// An information record's JSON fields; Write-Host's (tag `PSHOST`) are
/// `"ui":true`, as text the host shows.
fn information_json(r: &InformationRecord) -> Json {
    let mut j = json!({
        "message": r.message().unwrap_or(""),
        "tags": r.tags,
    });
    if r.tags.iter().any(|t| t == "PSHOST") {
        j["ui"] = true.into();
    }
    if let Some(s) = &r.source {
        j["source"] = s.as_str().into();
    }
    j
}

/// A progress record's JSON fields.
pub fn progress_json(p: &ProgressRecord) -> Json {
    json!({
        "activity": p.activity.as_deref().unwrap_or(""),
        "status": p.status_description.as_deref().unwrap_or(""),
        "percent": p.percent_complete,
        "id": p.activity_id,
        "completed": p.record_type == psrp::types::enums::ProgressRecordType::Completed,
    })
}

/// The width output objects are laid out at: the terminal's columns when
/// stdout is one (as the console host's buffer width), else 120, the width
/// PowerShell's Out-String uses without a console, which is also what the
/// host formats `| Out-String` at when `wsman` announces no console.
fn width() -> usize {
    super::enter_format::stdout_console()
        .and_then(|c| usize::try_from(c.buffer_size.width).ok())
        .filter(|w| *w > 0)
        .unwrap_or(DEFAULT_WIDTH)
}

/// Waits until rows held since `since` are due (300 ms, PowerShell's wait
/// for a table's first rows); forever when none are held.
pub async fn held_rows_due(since: Option<std::time::Instant>) {
    match since {
        Some(t) => {
            let due = t + std::time::Duration::from_millis(300);
            tokio::time::sleep_until(due.into()).await;
        }
        None => std::future::pending().await,
    }
}

impl Drop for Printer {
    /// Table rows still held are written: no output is lost when a
    /// pipeline ends without its state message (a cut connection).
    fn drop(&mut self) {
        self.end_output();
    }
}

/// How to print.
#[derive(Debug, Clone, Default)]
pub struct Printer {
    /// Out-Default for the output objects (`None` until the first one:
    /// its width is the terminal's then).
    formatter: Option<OutDefault>,
    /// The host's name, for the `+ PSComputerName` line of error records
    /// (Invoke-Command's), when known.
    pub computer_name: Option<String>,
    /// `--json`.
    pub json: bool,
    /// Prefix each line with this host name (fan-out); with `--json`, the
    /// `host` field.
    pub host_prefix: Option<String>,
    /// With several sessions: the session the lines belong to (the
    /// `session` field of JSON lines).
    pub session: Option<String>,
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
        let mut p = Printer::default();
        p.json = args.json;
        p.show_verbose = args.show_verbose;
        p.show_debug = args.show_debug;
        p
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

    fn json(&self, stream: &str, fields: Json) {
        json_line_in(
            stream,
            self.host_prefix.as_deref(),
            self.session.as_deref(),
            fields,
        );
    }

    /// Formats one output object; its text goes to stdout.
    fn output(&mut self, v: &Value) {
        let mut formatter = self
            .formatter
            .take()
            .unwrap_or_else(|| OutDefault::new(width()));
        formatter.add(v, &mut |text| self.out(text));
        self.formatter = Some(formatter);
    }

    /// Writes what the formatter holds and ends its table or lists (the
    /// end of a pipeline's output).
    pub fn end_output(&mut self) {
        if let Some(mut f) = self.formatter.take() {
            f.end(&mut |text| self.out(text));
        }
    }

    /// Since when table rows have been held for their column widths
    /// (None when none are): [`release_held`](Self::release_held) them
    /// 300 ms later, as PowerShell's Out-Default does.
    pub fn held_since(&self) -> Option<std::time::Instant> {
        self.formatter.as_ref().and_then(OutDefault::held_since)
    }

    /// Writes the held table rows (widths fixed from them).
    pub fn release_held(&mut self) {
        if let Some(mut f) = self.formatter.take() {
            f.release(&mut |text| self.out(text));
            self.formatter = Some(f);
        }
    }

    fn error_record(&mut self, r: &ErrorRecord) {
        self.had_errors = true;
        if self.json {
            self.json("error", error_json(r));
            return;
        }
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
        if let Some(host) = &self.computer_name {
            // Invoke-Command's records name their host (Windows PowerShell 5.1).
            text.push_str(&format!("\n    + PSComputerName        : {host}"));
        }
        self.err(&text);
    }

    /// Prints one event as a JSON line (`--json`).
    fn event_json(&mut self, e: &PipelineEvent) {
        let message = |m: &str| json!({ "message": m });
        match e {
            PipelineEvent::Output(v) => self.json("output", json!({ "value": output_json(v) })),
            PipelineEvent::Error(r) => self.error_record(r),
            PipelineEvent::Warning(r) if self.once(HostStream::Warning, &r.message) => {
                self.json("warning", message(&r.message))
            }
            PipelineEvent::Verbose(r) if self.once(HostStream::Verbose, &r.message) => {
                self.json("verbose", message(&r.message))
            }
            PipelineEvent::Debug(r) if self.once(HostStream::Debug, &r.message) => {
                self.json("debug", message(&r.message))
            }
            PipelineEvent::Warning(_) | PipelineEvent::Verbose(_) | PipelineEvent::Debug(_) => {}
            PipelineEvent::Information(r) => self.json("information", information_json(r)),
            PipelineEvent::Progress(p) => self.json("progress", progress_json(p)),
            PipelineEvent::Finished { .. } => self.finished(e),
        }
    }

    /// The end of a pipeline: a failed or stopped one is an error.
    fn finished(&mut self, e: &PipelineEvent) {
        let PipelineEvent::Finished { state, error } = e else {
            return;
        };
        self.end_output();
        match state {
            PSInvocationState::Completed => {}
            PSInvocationState::Failed => match error {
                Some(r) => self.error_record(r),
                None => {
                    self.had_errors = true;
                    if self.json {
                        self.json(
                            "error",
                            json!({"message": "the pipeline failed",
                            "category": "NotSpecified", "fqid": "", "target": null}),
                        );
                    } else {
                        self.err("the pipeline failed");
                    }
                }
            },
            PSInvocationState::Stopped => {
                self.had_errors = true;
                let m = "The pipeline has been stopped.";
                if self.json {
                    self.json(
                        "error",
                        json!({"message": m, "category": "OperationStopped",
                        "fqid": "PipelineStopped", "target": null}),
                    );
                } else {
                    self.err(m);
                }
            }
            _ => {}
        }
    }

    /// Prints one event; progress goes to `host`.
    pub fn event(&mut self, e: &PipelineEvent, host: &mut dyn Host) {
        if self.json {
            return self.event_json(e);
        }
        match e {
            PipelineEvent::Output(v) => self.output(v),
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
            PipelineEvent::Finished { .. } => self.finished(e),
        }
    }
}
