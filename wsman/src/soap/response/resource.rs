//! Get, Put and custom action responses (DSP0226 7.3).
use super::{open, EnvelopeInfo};
use crate::error::Result;

/// A Get (or Put, or custom action) response: the resource representation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    /// Addressing headers.
    pub info: EnvelopeInfo,
    /// The first Body child as standalone XML (inherited namespace
    /// declarations added), empty when the Body is empty.
    pub xml: String,
}

impl Resource {
    /// The representation as JSON ([`crate::soap::json::xml_to_json`]).
    pub fn to_json(&self) -> Result<serde_json::Value> {
        if self.xml.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        crate::soap::json::xml_to_json(&self.xml)
    }
}

/// Parses a Get response (DSP0226 7.3), also fit for Put and custom actions.
pub fn parse_get(input: &[u8]) -> Result<Resource> {
    let mut b = open(input)?;
    let xml = match b.next_child()? {
        Some(s) => b.r.capture(&s)?,
        None => String::new(),
    };
    let info = b.finish()?;
    Ok(Resource { info, xml })
}
