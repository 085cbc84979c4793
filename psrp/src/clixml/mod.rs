//! CLIXML, the serialization format of PowerShell objects ([MS-PSRP] 2.2.5).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
mod value;

pub use value::{Content, PsObject, Value};
