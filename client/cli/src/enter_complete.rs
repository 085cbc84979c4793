//! Remote Tab completion for `wsman enter`, as Enter-PSSession does it: on
//! Tab, the line and the cursor go to the session as
//! `TabExpansion2 -inputScript LINE -cursorColumn N`, and the
//! `CommandCompletion` it answers (CompletionMatches, ReplacementIndex,
//! ReplacementLength) becomes the line editor's candidates.
//!
//! The line editor runs on a blocking thread while the session belongs to
//! the prompt loop: the [`RemoteCompleter`] sends a [`Request`] over a
//! channel and waits (bounded) for the loop to run the pipeline between
//! keep-alives.
use std::sync::mpsc;
use std::time::Duration;

use psrp::clixml::Value;
use psrp::types::{Command, PowerShell};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::session::PsSession;
use crate::Result;

/// How long Tab waits for the host's answer before offering nothing.
const ANSWER_WAIT: Duration = Duration::from_secs(15);

/// Most matches offered (a `Get-<Tab>` on a real host lists hundreds).
const MAX_MATCHES: usize = 1000;

/// One Tab press: the line, the cursor (a byte offset), and where the
/// answer goes (the byte offset the matches replace from, and the matches).
#[derive(Debug)]
pub struct Request {
    line: String,
    pos: usize,
    reply: mpsc::Sender<(usize, Vec<Pair>)>,
}

/// The line editor's helper: completion asked of the remote session.
pub struct RemoteCompleter {
    requests: UnboundedSender<Request>,
}

/// A completer and the receiving end the prompt loop serves.
pub fn channel() -> (RemoteCompleter, UnboundedReceiver<Request>) {
    let (requests, rx) = tokio::sync::mpsc::unbounded_channel();
    (RemoteCompleter { requests }, rx)
}

impl Completer for RemoteCompleter {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (reply, answer) = mpsc::channel();
        let request = Request {
            line: line.to_string(),
            pos,
            reply,
        };
        if self.requests.send(request).is_err() {
            return Ok((pos, Vec::new()));
        }
        Ok(answer
            .recv_timeout(ANSWER_WAIT)
            .unwrap_or((pos, Vec::new())))
    }
}

impl Hinter for RemoteCompleter {
    type Hint = String;
}
impl Highlighter for RemoteCompleter {}
impl Validator for RemoteCompleter {}
impl Helper for RemoteCompleter {}

/// Answers one Tab press by running TabExpansion2 in `s`. A failure (the
/// host does not know the command, a fault) offers nothing: completion
/// never ends the session; a broken connection shows at the next command.
pub async fn serve(s: &mut PsSession, request: Request) {
    let answer = match tab_expansion(s, &request.line, request.pos).await {
        Ok(Some(a)) => a,
        _ => (request.pos, Vec::new()),
    };
    let _ = request.reply.send(answer);
}

async fn tab_expansion(
    s: &mut PsSession,
    line: &str,
    pos: usize,
) -> Result<Option<(usize, Vec<Pair>)>> {
    let pos = floor_char_boundary(line, pos);
    let column = utf16_len(&line[..pos]);
    let command = Command::new("TabExpansion2")
        .parameter("inputScript", Value::String(line.to_string()))
        .parameter("cursorColumn", Value::I32(column));
    let result = s
        .invoke_powershell(PowerShell::new(vec![command]), false)
        .await?
        .collect()
        .await?;
    Ok(result.output.first().and_then(|c| candidates(c, line, pos)))
}

/// The replacement start (a byte offset in `line`) and the matches of a
/// `System.Management.Automation.CommandCompletion`; `None` when `value`
/// is not one. ReplacementIndex counts UTF-16 code units, as .NET strings
/// do; a start past the cursor is clamped to it.
pub fn candidates(value: &Value, line: &str, pos: usize) -> Option<(usize, Vec<Pair>)> {
    let obj = value.as_object()?;
    let index = obj.get_i64("ReplacementIndex")?;
    let start = byte_offset(line, usize::try_from(index).ok()?).min(pos);
    let matches = obj
        .property("CompletionMatches")
        .and_then(Value::as_list)
        .unwrap_or(&[]);
    let pairs = matches
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|m| {
            let replacement = m.get_str("CompletionText")?.to_string();
            let display = m
                .get_str("ListItemText")
                .unwrap_or(&replacement)
                .to_string();
            Some(Pair {
                display,
                replacement,
            })
        })
        .take(MAX_MATCHES)
        .collect();
    Some((start, pairs))
}

fn utf16_len(s: &str) -> i32 {
    i32::try_from(s.encode_utf16().count()).unwrap_or(i32::MAX)
}

/// The byte offset in `line` of UTF-16 code unit `units` (the end when past it).
fn byte_offset(line: &str, units: usize) -> usize {
    let mut seen = 0;
    for (i, c) in line.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    line.len()
}

fn floor_char_boundary(line: &str, pos: usize) -> usize {
    let mut pos = pos.min(line.len());
    while !line.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CommandCompletion as PowerShell 7.5 serializes one (the shape of
    /// Devolutions/ironPosh's command_completion_get_ser.xml), shortened.
    const COMPLETION: &str = r#"<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.CommandCompletion</T><T>System.Object</T></TN><ToString>System.Management.Automation.CommandCompletion</ToString><Props><I32 N="CurrentMatchIndex">-1</I32><I32 N="ReplacementIndex">8</I32><I32 N="ReplacementLength">6</I32><Obj N="CompletionMatches" RefId="1"><TN RefId="1"><T>System.Collections.ObjectModel.Collection`1[[System.Management.Automation.CompletionResult, System.Management.Automation]]</T><T>System.Object</T></TN><LST><Obj RefId="2"><TN RefId="2"><T>System.Management.Automation.CompletionResult</T><T>System.Object</T></TN><Props><S N="CompletionText">Get-ServerEvent</S><S N="ListItemText">Get-ServerEvent</S><S N="ResultType">Command</S><S N="ToolTip">x</S></Props></Obj><Obj RefId="3"><TNRef RefId="2" /><Props><S N="CompletionText">Get-Service</S><S N="ListItemText">Get-Service</S><S N="ResultType">Command</S><S N="ToolTip">_x000D__x000A_Get-Service _x000D__x000A_</S></Props></Obj></LST></Obj></Props></Obj>"#;

    fn parse(xml: &str) -> Value {
        psrp::clixml::from_str(xml).expect("CLIXML")
    }

    #[test]
    fn matches_and_replacement_start_come_from_the_completion() {
        let line = "1 | é;  Get-Se";
        let (start, pairs) = candidates(&parse(COMPLETION), line, line.len()).unwrap();
        // ReplacementIndex 8 counts UTF-16 units: "é" is one unit, two bytes.
        assert_eq!(&line[start..], "Get-Se");
        let texts: Vec<_> = pairs.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!(texts, ["Get-ServerEvent", "Get-Service"]);
    }

    #[test]
    fn other_objects_and_odd_indexes_give_no_panic() {
        assert!(candidates(&Value::String("x".into()), "Get-Se", 6).is_none());
        let far = COMPLETION.replace(">8</I32>", ">99</I32>");
        let (start, _) = candidates(&parse(&far), "Get-Se", 6).unwrap();
        assert_eq!(start, 6);
        let negative = COMPLETION.replace(">8</I32>", ">-3</I32>");
        assert!(candidates(&parse(&negative), "Get-Se", 6).is_none());
    }

    #[test]
    fn cursor_columns_count_utf16_units() {
        assert_eq!(utf16_len("é😀a"), 4);
        assert_eq!(byte_offset("é😀a", 3), "é😀".len());
        assert_eq!(floor_char_boundary("é", 1), 0);
    }
}
