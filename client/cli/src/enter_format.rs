//! Each `wsman enter` line formatted on the host, as Enter-PSSession does
//! it: the line runs as a script followed by the `Out-Default` command, so
//! PowerShell formats the output (a table for a few properties, a list for
//! more, at the console's width) and writes it back as host WriteLine calls
//! ([MS-PSRP] 2.2.3.17); the width is the BufferSize of the console the
//! pipeline's HostInfo announces ([MS-PSRP] 2.2.3.14), measured before each
//! line, so a resized terminal is followed.
//!
//! PowerShell hosts add the same `Out-Default` command after what is typed
//! (public hosts such as PowerShellFar and PoshConsole do, with
//! MergeUnclaimedPreviousCommandResults Error|Output). Here errors are not
//! merged into it: they stay error records, printed by this console as
//! PowerShell prints them, so a failed line still counts as one.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::types::{Command, Coordinates, HostDefaultData, PowerShell, Size};

use crate::session::InvokeOptions;

/// Columns announced when the terminal does not tell its size.
const DEFAULT_WIDTH: i32 = 120;
/// Rows announced when the terminal does not tell its size.
const DEFAULT_HEIGHT: i32 = 50;
/// Rows of the screen buffer (scroll-back), as a console has more than its
/// window shows.
const BUFFER_HEIGHT: i32 = 3000;

/// The pipeline for one line typed at the prompt: the line as a script,
/// then `Out-Default`, with the line as typed for the host's history.
pub fn formatted(line: &str) -> PowerShell {
    typed(
        vec![Command::script(line), Command::new("Out-Default")],
        line,
    )
}

/// The pipeline for one line typed at the prompt, left unformatted
/// (`--json`): the line as a script, for the host's history too.
pub fn unformatted(line: &str) -> PowerShell {
    typed(vec![Command::script(line)], line)
}

/// `commands` run for `line`: the PowerShell object's History string is
/// the line ([MS-PSRP] 2.2.3.11), so Get-History lists what was typed and
/// not the `Out-Default` added after it, as Enter-PSSession's lines are.
fn typed(commands: Vec<Command>, line: &str) -> PowerShell {
    let mut ps = PowerShell::new(commands);
    ps.history = Some(line.to_string());
    ps
}

/// How a typed line's pipeline starts: AddToHistory set ([MS-PSRP]
/// 2.2.2.10), as Enter-PSSession sets it for the person's lines (and not
/// for the TabExpansion2 pipelines this console runs on its own).
pub fn line_options() -> InvokeOptions {
    InvokeOptions {
        add_to_history: true,
        ..Default::default()
    }
}

/// The console to announce: this terminal's columns and rows (stdout's,
/// else stderr's), or 120 by 50 when neither is a terminal.
pub fn console() -> HostDefaultData {
    let (width, height) = terminal_size().unwrap_or((DEFAULT_WIDTH, DEFAULT_HEIGHT));
    console_of(width, height)
}

/// The console `wsman invoke` and `session invoke` announce: this
/// terminal's when stdout is one, so `Out-String` and `Out-Default` on the
/// host format at its width as they do under Invoke-Command in a console.
/// Off a terminal (output to a pipe or a file) none, as a host without a
/// console (`$host.UI.RawUI` null): PowerShell's `Out-String` then formats
/// at its default of 120 columns, whatever the terminal stderr is on.
pub fn stdout_console() -> Option<HostDefaultData> {
    stdout_size().map(|(width, height)| console_of(width, height))
}

/// A console `width` columns by `height` rows: gray on black, the cursor
/// at the origin, a scroll-back buffer as wide as the window.
pub fn console_of(width: i32, height: i32) -> HostDefaultData {
    let window = Size { width, height };
    HostDefaultData {
        foreground_color: 7,
        background_color: 0,
        cursor_position: Coordinates::default(),
        window_position: Coordinates::default(),
        cursor_size: 25,
        buffer_size: Size {
            width,
            height: BUFFER_HEIGHT.max(height),
        },
        window_size: window,
        max_window_size: window,
        max_physical_window_size: window,
        window_title: "wsman".into(),
    }
}

/// Columns and rows of the terminal stdout is, `None` off a terminal.
fn stdout_size() -> Option<(i32, i32)> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    #[cfg(unix)]
    {
        let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
        (size.ws_col > 0).then_some((i32::from(size.ws_col), rows(size.ws_row)))
    }
    #[cfg(not(unix))]
    {
        let width = std::env::var("COLUMNS").ok()?.parse().ok()?;
        Some((width, DEFAULT_HEIGHT))
    }
}

/// `ws_row`, or the default when the terminal does not tell it.
#[cfg(unix)]
fn rows(ws_row: u16) -> i32 {
    if ws_row > 0 {
        i32::from(ws_row)
    } else {
        DEFAULT_HEIGHT
    }
}

fn terminal_size() -> Option<(i32, i32)> {
    #[cfg(unix)]
    {
        let size = rustix::termios::tcgetwinsize(std::io::stdout())
            .or_else(|_| rustix::termios::tcgetwinsize(std::io::stderr()))
            .ok()?;
        (size.ws_col > 0).then_some((i32::from(size.ws_col), rows(size.ws_row)))
    }
    #[cfg(not(unix))]
    {
        let width = std::env::var("COLUMNS").ok()?.parse().ok()?;
        Some((width, DEFAULT_HEIGHT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_sent_as_its_script_then_out_default() {
        let mut expected = PowerShell::new(vec![
            Command::script("Get-Service | Select -First 2"),
            Command::new("Out-Default"),
        ]);
        expected.history = Some("Get-Service | Select -First 2".into());
        assert_eq!(formatted("Get-Service | Select -First 2"), expected);
    }

    #[test]
    fn a_line_goes_into_the_history_as_typed_with_or_without_formatting() {
        assert!(line_options().add_to_history);
        assert_eq!(unformatted("1 + 1").history.as_deref(), Some("1 + 1"));
        assert_eq!(
            unformatted("1 + 1").statements,
            vec![vec![Command::script("1 + 1")]]
        );
    }

    #[test]
    fn the_console_announces_the_terminal_width_as_its_buffer_width() {
        let c = console_of(93, 20);
        assert_eq!(c.buffer_size.width, 93);
        assert_eq!(
            c.window_size,
            Size {
                width: 93,
                height: 20
            }
        );
        assert!(c.buffer_size.height >= 20);
    }
}
