//! The host's raw user interface (PowerShell's `PSHostRawUserInterface`):
//! the console state announced as host default data in HostInfo ([MS-PSRP]
//! 2.2.3.14), kept up to date by the raw-UI host calls (methods 27 to 51 of
//! [MS-PSRP] 2.2.3.17), and the keys `ReadKey` asks for.
//!
//! The server answers `$host.UI.RawUI.ForegroundColor` and the other
//! properties from the default data without asking the client; setting one
//! is a host call that only informs the client.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::clixml::Value;
use psrp::messages::HostCall;
use psrp::types::{Coordinates, HostMethodIdentifier as M, KeyInfo, Size};

use super::host_calls::Answer;

/// The console state a host announces ([MS-PSRP] 2.2.3.14, keys 0 to 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDefaultData {
    /// ForegroundColor (a `System.ConsoleColor` value, 0 to 15).
    pub foreground_color: i32,
    /// BackgroundColor.
    pub background_color: i32,
    /// CursorPosition.
    pub cursor_position: Coordinates,
    /// WindowPosition.
    pub window_position: Coordinates,
    /// CursorSize (percent of a cell).
    pub cursor_size: i32,
    /// BufferSize.
    pub buffer_size: Size,
    /// WindowSize.
    pub window_size: Size,
    /// MaxWindowSize.
    pub max_window_size: Size,
    /// MaxPhysicalWindowSize.
    pub max_physical_window_size: Size,
    /// WindowTitle.
    pub window_title: String,
}

impl Default for HostDefaultData {
    /// A 120×50 window on a 120×3000 buffer, grey on black.
    fn default() -> Self {
        let window = Size {
            width: 120,
            height: 50,
        };
        HostDefaultData {
            foreground_color: 7,
            background_color: 0,
            cursor_position: Coordinates::default(),
            window_position: Coordinates::default(),
            cursor_size: 25,
            buffer_size: Size {
                width: 120,
                height: 3000,
            },
            window_size: window,
            max_window_size: window,
            max_physical_window_size: window,
            window_title: String::new(),
        }
    }
}

/// Size is sent height first in host default data, as Windows PowerShell
/// writes it.
fn size_value(s: Size) -> Value {
    Value::Object(Box::new(psrp::clixml::PsObject {
        extended: vec![
            ("height".into(), Value::I32(s.height)),
            ("width".into(), Value::I32(s.width)),
        ],
        ..Default::default()
    }))
}

impl HostDefaultData {
    /// The `_hostDefaultData` entries: key, .NET type name, value.
    pub fn entries(&self) -> Vec<(i32, String, Value)> {
        const COLOR: &str = "System.ConsoleColor";
        const COORDINATES: &str = "System.Management.Automation.Host.Coordinates";
        const SIZE: &str = "System.Management.Automation.Host.Size";
        let e = |k: i32, t: &str, v: Value| (k, t.to_string(), v);
        vec![
            e(0, COLOR, Value::I32(self.foreground_color)),
            e(1, COLOR, Value::I32(self.background_color)),
            e(2, COORDINATES, self.cursor_position.to_value()),
            e(3, COORDINATES, self.window_position.to_value()),
            e(4, "System.Int32", Value::I32(self.cursor_size)),
            e(5, SIZE, size_value(self.buffer_size)),
            e(6, SIZE, size_value(self.window_size)),
            e(7, SIZE, size_value(self.max_window_size)),
            e(8, SIZE, size_value(self.max_physical_window_size)),
            e(9, "System.String", Value::String(self.window_title.clone())),
        ]
    }

    /// Applies a raw-UI host call and answers it when it asks for a value;
    /// `None` when the call is not a raw-UI one. `read_key` gives ReadKey
    /// its key.
    pub(crate) fn handle(
        &mut self,
        call: &HostCall,
        read_key: &mut dyn FnMut(i32) -> Option<KeyInfo>,
    ) -> Option<Answer> {
        let arg = call.parameters.first();
        let int = || arg.and_then(Value::as_i32);
        let coordinates = || arg.and_then(|v| Coordinates::from_value(v).ok());
        let size = || arg.and_then(|v| Size::from_value(v).ok());
        let reply = |v: Value| Some(Some(Ok(Some(v))));
        match call.method {
            M::GetForegroundColor => reply(Value::I32(self.foreground_color)),
            M::GetBackgroundColor => reply(Value::I32(self.background_color)),
            M::GetCursorPosition => reply(self.cursor_position.to_value()),
            M::GetWindowPosition => reply(self.window_position.to_value()),
            M::GetCursorSize => reply(Value::I32(self.cursor_size)),
            M::GetBufferSize => reply(self.buffer_size.to_value()),
            M::GetWindowSize => reply(self.window_size.to_value()),
            M::GetMaxWindowSize => reply(self.max_window_size.to_value()),
            M::GetMaxPhysicalWindowSize => reply(self.max_physical_window_size.to_value()),
            M::GetWindowTitle => reply(Value::String(self.window_title.clone())),
            M::GetKeyAvailable => reply(Value::Bool(false)),
            M::ReadKey => Some(match read_key(int().unwrap_or(0)) {
                Some(k) => Some(Ok(Some(k.to_value()))),
                None => Some(Err(psrp::types::ErrorRecord::new(
                    "the host has no key to read",
                    "RemoteHostCallFailed",
                    0,
                ))),
            }),
            M::SetForegroundColor => {
                self.foreground_color = int().unwrap_or(self.foreground_color);
                Some(None)
            }
            M::SetBackgroundColor => {
                self.background_color = int().unwrap_or(self.background_color);
                Some(None)
            }
            M::SetCursorPosition => {
                self.cursor_position = coordinates().unwrap_or(self.cursor_position);
                Some(None)
            }
            M::SetWindowPosition => {
                self.window_position = coordinates().unwrap_or(self.window_position);
                Some(None)
            }
            M::SetCursorSize => {
                self.cursor_size = int().unwrap_or(self.cursor_size);
                Some(None)
            }
            M::SetBufferSize => {
                self.buffer_size = size().unwrap_or(self.buffer_size);
                Some(None)
            }
            M::SetWindowSize => {
                self.window_size = size().unwrap_or(self.window_size);
                Some(None)
            }
            M::SetWindowTitle => {
                if let Some(t) = arg.and_then(Value::as_str) {
                    self.window_title = t.to_string();
                }
                Some(None)
            }
            // No screen buffer is kept: these only inform the client.
            M::FlushInputBuffer
            | M::SetBufferContents1
            | M::SetBufferContents2
            | M::ScrollBufferContents => Some(None),
            _ => None,
        }
    }
}
