//! The Identify response (DSP0226 11).
use super::{collapse_ws, each_child, open, EnvelopeInfo};
use crate::error::Result;
use crate::soap::xml::protocol;

/// The Identify response (DSP0226 11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identify {
    /// Addressing headers (usually none for Identify).
    pub info: EnvelopeInfo,
    /// `wsmid:ProtocolVersion`.
    pub protocol_version: Option<String>,
    /// `wsmid:ProductVendor`.
    pub product_vendor: Option<String>,
    /// `wsmid:ProductVersion` (e.g. `OS: 10.0.17763 SP: 0.0 Stack: 3.0`).
    pub product_version: Option<String>,
    /// `wsmid:SecurityProfiles/wsmid:SecurityProfileName`.
    pub security_profiles: Vec<String>,
    /// Any other child (`name`, text), e.g. Windows' `InitiatorInfo`.
    pub other: Vec<(String, String)>,
}

/// Parses an Identify response.
pub fn parse_identify(input: &[u8]) -> Result<Identify> {
    let mut b = open(input)?;
    // By local name: the namespace is spelt two ways in the wild.
    loop {
        match b.next_child()? {
            Some(s) if s.local == "IdentifyResponse" => break,
            Some(_) => {
                b.r.skip()?;
            }
            None => return Err(protocol("response Body has no IdentifyResponse element")),
        }
    }
    let mut id = Identify::default();
    b.children(|r, s| {
        match s.local.as_str() {
            "ProtocolVersion" => id.protocol_version = Some(r.text_content()?.trim().into()),
            "ProductVendor" => id.product_vendor = Some(r.text_content()?.trim().into()),
            "ProductVersion" => id.product_version = Some(r.text_content()?.trim().into()),
            "SecurityProfiles" => each_child(r, "element", |r, p| {
                if p.local == "SecurityProfileName" {
                    id.security_profiles.push(r.text_content()?.trim().into());
                } else {
                    r.skip()?;
                }
                Ok(())
            })?,
            other => {
                let name = other.to_owned();
                id.other.push((name, collapse_ws(&r.text_content()?)));
            }
        }
        Ok(())
    })?;
    id.info = b.finish()?;
    Ok(id)
}
