//! EnumerateResponse and PullResponse (DSP0226 8.2, 8.4).
use super::shell::{shell_of, ShellInfo};
use super::{each_child, open, EnvelopeInfo};
use crate::error::Result;
use crate::soap::ns;

/// An EnumerateResponse or PullResponse (DSP0226 8.2, 8.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enumeration {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// `EnumerationContext` for the next Pull; `None` or empty when done.
    pub context: Option<String>,
    /// The items, each as standalone XML.
    pub items: Vec<String>,
    /// `EndOfSequence` present: no more items.
    pub end_of_sequence: bool,
}

impl Enumeration {
    /// The items parsed as shells (Enumerate on [`ns::uri::SHELL`],
    /// [MS-WSMV] 3.1.4.8); items that are not `rsp:Shell` are left out.
    pub fn shells(&self) -> Result<Vec<ShellInfo>> {
        let mut out = Vec::new();
        for item in &self.items {
            if let Some(sh) = shell_of(item)? {
                out.push(sh);
            }
        }
        Ok(out)
    }

    /// True when no Pull is needed: end of sequence or no context.
    pub fn is_done(&self) -> bool {
        self.end_of_sequence || self.context.as_deref().is_none_or(|c| c.trim().is_empty())
    }
}

/// Parses an EnumerateResponse (optimized or not).
pub fn parse_enumerate(input: &[u8]) -> Result<Enumeration> {
    parse_enumeration(input, "EnumerateResponse")
}

/// Parses a PullResponse.
pub fn parse_pull(input: &[u8]) -> Result<Enumeration> {
    parse_enumeration(input, "PullResponse")
}

fn parse_enumeration(input: &[u8], element: &str) -> Result<Enumeration> {
    let mut b = open(input)?;
    b.expect(ns::ENUMERATION, element)?;
    let mut e = Enumeration::default();
    b.children(|r, s| {
        match s.local.as_str() {
            "EnumerationContext" => e.context = Some(r.text_content()?.trim().to_owned()),
            "EndOfSequence" => {
                e.end_of_sequence = true;
                r.skip()?;
            }
            "Items" => each_child(r, "Items", |r, item| {
                e.items.push(r.capture(&item)?);
                Ok(())
            })?,
            _ => {
                r.skip()?;
            }
        }
        Ok(())
    })?;
    e.info = b.finish()?;
    Ok(e)
}
