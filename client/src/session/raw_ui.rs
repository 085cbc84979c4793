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
use psrp::types::{Coordinates, HostDefaultData, HostMethodIdentifier as M, KeyInfo, Size};

use super::host_calls::Answer;

/// Applies a raw-UI host call to the console state `ui` and answers it
/// when it asks for a value; `None` when the call is not a raw-UI one.
/// `read_key` gives ReadKey its key.
pub(crate) fn handle(
    ui: &mut HostDefaultData,
    call: &HostCall,
    read_key: &mut dyn FnMut(i32) -> Option<KeyInfo>,
) -> Option<Answer> {
    let arg = call.parameters.first();
    let int = || arg.and_then(Value::as_i32);
    let coordinates = || arg.and_then(|v| Coordinates::from_value(v).ok());
    let size = || arg.and_then(|v| Size::from_value(v).ok());
    let reply = |v: Value| Some(Some(Ok(Some(v))));
    match call.method {
        M::GetForegroundColor => reply(Value::I32(ui.foreground_color)),
        M::GetBackgroundColor => reply(Value::I32(ui.background_color)),
        M::GetCursorPosition => reply(ui.cursor_position.to_value()),
        M::GetWindowPosition => reply(ui.window_position.to_value()),
        M::GetCursorSize => reply(Value::I32(ui.cursor_size)),
        M::GetBufferSize => reply(ui.buffer_size.to_value()),
        M::GetWindowSize => reply(ui.window_size.to_value()),
        M::GetMaxWindowSize => reply(ui.max_window_size.to_value()),
        M::GetMaxPhysicalWindowSize => reply(ui.max_physical_window_size.to_value()),
        M::GetWindowTitle => reply(Value::String(ui.window_title.clone())),
        M::GetKeyAvailable => reply(Value::Bool(false)),
        M::ReadKey => Some(match read_key(int().unwrap_or(0)) {
            Some(k) => Some(Ok(Some(k.to_value()))),
            None => Some(Err(super::host_calls::host_error(
                "ReadKey: the host has no key to read.",
            ))),
        }),
        M::SetForegroundColor => {
            ui.foreground_color = int().unwrap_or(ui.foreground_color);
            Some(None)
        }
        M::SetBackgroundColor => {
            ui.background_color = int().unwrap_or(ui.background_color);
            Some(None)
        }
        M::SetCursorPosition => {
            ui.cursor_position = coordinates().unwrap_or(ui.cursor_position);
            Some(None)
        }
        M::SetWindowPosition => {
            ui.window_position = coordinates().unwrap_or(ui.window_position);
            Some(None)
        }
        M::SetCursorSize => {
            ui.cursor_size = int().unwrap_or(ui.cursor_size);
            Some(None)
        }
        M::SetBufferSize => {
            ui.buffer_size = size().unwrap_or(ui.buffer_size);
            Some(None)
        }
        M::SetWindowSize => {
            ui.window_size = size().unwrap_or(ui.window_size);
            Some(None)
        }
        M::SetWindowTitle => {
            if let Some(t) = arg.and_then(Value::as_str) {
                ui.window_title = t.to_string();
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
