//! The ReceiveResponse ([MS-WSMV] 3.1.4.14): output streams and the
//! command state.
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{each_child, open, EnvelopeInfo};
use crate::error::Result;
use crate::soap::ns;
use crate::soap::shared::SharedStr;
use crate::soap::xml::{as_text, protocol};

/// One `rsp:Stream` of a ReceiveResponse ([MS-WSMV] 2.2.4.39).
///
/// The name and CommandId are shared (`Arc<str>`) among the streams of a
/// Receive that repeat them ([`SharedStr`]): thousands of output objects,
/// each in its own `rsp:Stream`, do not cost two strings each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamData {
    /// `@Name`: `stdout`, `stderr`, `pr`.
    pub name: SharedStr,
    /// `@CommandId`; `None` for shell-level (RunspacePool) output.
    pub command_id: Option<SharedStr>,
    /// `@End="true"`: the stream is finished.
    pub end: bool,
    /// The base64-decoded bytes.
    pub data: Vec<u8>,
}

/// `rsp:CommandState` ([MS-WSMV] 2.2.4.7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandState {
    /// `@CommandId`.
    pub command_id: Option<String>,
    /// `@State`: one of [`ns::state`].
    pub state: String,
    /// `rsp:ExitCode` when done.
    pub exit_code: Option<i64>,
}

impl CommandState {
    /// True when the state is `.../CommandState/Done`.
    pub fn is_done(&self) -> bool {
        self.state == ns::state::DONE || self.state.ends_with("/Done")
    }
}

/// A ReceiveResponse ([MS-WSMV] 3.1.4.14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// The streams in wire order.
    pub streams: Vec<StreamData>,
    /// The command state, when present.
    pub command_state: Option<CommandState>,
}
/// Decodes an `rsp:Stream`'s base64 text; whitespace (line breaks some
/// hosts insert) is dropped first, and only then is the text copied.
fn decode_stream(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    let bytes = text.as_bytes();
    let size = bytes.len() / 4 * 3 + 3;
    // a large stream (a file chunk, a big object) in a buffer of the pool,
    // which the caller hands back once the stream is processed
    let mut data = if size >= crate::transport::body_pool::SMALL {
        crate::transport::body_pool::take()
    } else {
        Vec::new()
    };
    data.reserve(size);
    // usually one unbroken run (decoded with SIMD); white space is looked
    // for only when that fails
    if base64_simd::STANDARD
        .decode_append(bytes, &mut data)
        .is_err()
    {
        data.clear();
        let compact: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        B64.decode_vec(&compact, &mut data)?;
    }
    Ok(data)
}

/// Parses a ReceiveResponse, decoding each stream's base64.
///
/// The run of plain `rsp:Stream` elements a large Receive is made of is
/// read by a strict scanner (`soap::streams`) and the rest by
/// the full parser, which checks that the scanner cut where it should.
pub fn parse_receive(input: &[u8]) -> Result<Received> {
    let text = as_text(input)?;
    if let Some(mut run) = crate::soap::streams::scan(text, decode_stream) {
        if run.streams.len() > crate::soap::xml::MAX_ELEMENTS {
            return Err(protocol(format!(
                "XML holds more than {} elements",
                crate::soap::xml::MAX_ELEMENTS
            )));
        }
        let mut skeleton = String::with_capacity(text.len() - (run.cut_end - run.cut_at));
        skeleton.push_str(&text[..run.cut_at]);
        skeleton.push_str(&text[run.cut_end..]);
        let cut = (run.element_at, run.cut_at);
        // Any doubt (a failed check, an error) and the whole document is
        // parsed again the full way, which then has the last word.
        if let Ok(Some(mut out)) = parse_receive_checked(skeleton.as_bytes(), Some(cut)) {
            run.streams.append(&mut out.streams);
            out.streams = run.streams;
            return Ok(out);
        }
    }
    Ok(parse_receive_checked(input, None)?.expect("no cut to check"))
}

/// The full parse; with `cut`, `None` unless the ReceiveResponse start tag
/// spans exactly `cut` (its `<` and the offset past its `>`).
pub(super) fn parse_receive_checked(
    input: &[u8],
    cut: Option<(usize, usize)>,
) -> Result<Option<Received>> {
    let mut b = open(input)?;
    let start = b.expect(ns::SHELL, "ReceiveResponse")?;
    if let Some((at, end)) = cut {
        if start.pos != at || b.r.position() != end {
            return Ok(None);
        }
    }
    let mut out = Received::default();
    b.children(|r, s| {
        match s.local.as_str() {
            "Stream" => {
                let name = SharedStr::from(s.attr("Name").unwrap_or_default());
                let command_id = s.attr("CommandId").map(SharedStr::from);
                let end = s
                    .attr("End")
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("true"));
                let text = r.text_content_cow()?;
                let data = decode_stream(&text)
                    .map_err(|e| protocol(format!("rsp:Stream {name} is not valid base64: {e}")))?;
                out.streams.push(StreamData {
                    name,
                    command_id,
                    end,
                    data,
                });
            }
            "CommandState" => {
                let mut st = CommandState {
                    command_id: s.attr("CommandId").map(str::to_owned),
                    state: s.attr("State").unwrap_or_default().to_owned(),
                    exit_code: None,
                };
                each_child(r, "CommandState", |r, e| {
                    if e.local == "ExitCode" {
                        let t = r.text_content()?;
                        st.exit_code = Some(t.trim().parse().map_err(|_| {
                            protocol(format!("rsp:ExitCode {:?} is not a number", t.trim()))
                        })?);
                    } else {
                        r.skip()?;
                    }
                    Ok(())
                })?;
                out.command_state = Some(st);
            }
            _ => {
                r.skip()?;
            }
        }
        Ok(())
    })?;
    out.info = b.finish()?;
    Ok(Some(out))
}
