//! CLIXML, the serialization format of PowerShell objects ([MS-PSRP] 2.2.5).
//!
//! Every PSRP message body is one CLIXML value; pipeline output arrives as a
//! stream of them. This module reads them straight from the bytes into
//! [`Value`]s (streaming on quick-xml, no DOM), writes them back, and turns
//! them into JSON.
//!
//! - [`from_str`] / [`from_slice`]: a document holding one value (a message
//!   body).
//! - [`Reader`]: the values of an `<Objs>` document one at a time, with the
//!   stream each belongs to ([`Reader::stream`]) for `-OutputFormat xml`
//!   output.
//! - [`Limits`]: nesting depth, value count and reference expansion bounds
//!   for hostile input; a `<!DOCTYPE>` is refused, so no entity is ever
//!   expanded. Bad input gives an [`Error`] with its byte position, never a
//!   panic.
//! - [`to_string`] / [`Writer`]: compact CLIXML as PowerShell writes it.
//! - [`Value::to_json`]: the shape a `--json` user expects.
//! - [`escape`] / [`unescape`]: the `_xHHHH_` string encoding.
//!
//! ```
//! use psrp::clixml::{self, Value};
//! let v = clixml::from_str(
//!     r#"<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN><MS><S N="Name">svc_x000A_host</S><I32 N="Id">4</I32></MS></Obj>"#,
//! )?;
//! let o = v.as_object().unwrap();
//! assert_eq!(o.get_str("Name"), Some("svc\nhost"));
//! assert_eq!(o.property("Id").and_then(Value::as_i64), Some(4));
//! assert_eq!(clixml::from_str(&clixml::to_string(&v))?, v);
//! # Ok::<(), clixml::Error>(())
//! ```
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
mod de;
mod error;
mod escape;
mod json;
mod reader;
mod ser;
mod value;

pub use de::Limits;
pub use error::{Error, ErrorKind};
pub use escape::{escape, escape_into, unescape};
pub use reader::{from_slice_with_limits, Reader};
pub use ser::{to_string, to_writer, Writer};
pub use value::{Content, PsObject, Value};

/// Parses a CLIXML document holding exactly one value (a single value
/// element such as a PSRP message's `<Obj>`, or an `<Objs>` with one child),
/// with the default [`Limits`] ([MS-PSRP] 2.2.5). A UTF-8 byte order mark is
/// skipped.
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn from_str(s: &str) -> Result<Value, Error> {
    from_slice(s.as_bytes())
}

/// [`from_str`] over bytes, which must be UTF-8 ([MS-PSRP] 2.2.5).
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn from_slice(input: &[u8]) -> Result<Value, Error> {
    reader::from_slice_with_limits(input, Limits::default())
}
