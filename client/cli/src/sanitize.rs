//! Text from the host made safe for a terminal.
//!
//! Everything a host sends as text (fault messages, Identify fields, error
//! records, warnings, host writes, progress, prompt captions) may hold
//! control characters: `ESC ] 0 ; ... BEL` retitles a terminal, `ESC [ 2 J`
//! clears it, a lone `CR` overwrites what came before on the line. Before
//! such text reaches a terminal every control character is shown visibly
//! instead (`\x1b`, `\x07`, `\r`, `\u{9b}`), except newline and tab. Long
//! fault texts are cut with a note saying how much was left out.
//!
//! Output *values* (what a script returns) written to a pipe or file stay
//! byte-exact: [`stdout_text`] escapes only when stdout is a terminal.
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// How much of a fault or error text is shown: 4 KiB.
pub const MAX_ERROR_TEXT: usize = 4096;

/// Whether `c` must not reach a terminal as it is: C0 controls but newline
/// and tab, DEL, C1 controls, and the Unicode bidirectional overrides and
/// isolates (text that displays in another order than it reads).
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character (but `\n` and `\t`) shown visibly:
/// `\x1b` for ESC, `\r` for a carriage return, `\u{9b}` for a C1 control.
/// A carriage return just before a newline (Windows line ends) is dropped.
/// Borrowed when there is nothing to escape.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An error or fault text for the terminal: at most [`MAX_ERROR_TEXT`]
/// bytes of it (cut at a character boundary, with a note of how many bytes
/// were left out), then escaped as [`for_terminal`] does.
pub fn error_text(text: &str) -> String {
    if text.len() <= MAX_ERROR_TEXT {
        return for_terminal(text).into_owned();
    }
    let mut cut = MAX_ERROR_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}[... {} more bytes]",
        for_terminal(&text[..cut]),
        text.len() - cut
    )
}

/// Whether stdout is a terminal (asked once).
pub fn stdout_is_terminal() -> bool {
    static TERMINAL: OnceLock<bool> = OnceLock::new();
    *TERMINAL.get_or_init(|| std::io::stdout().is_terminal())
}

/// Text for stdout: escaped as [`for_terminal`] does when stdout is a
/// terminal, byte-exact when it is a pipe or a file.
pub fn stdout_text(text: &str) -> Cow<'_, str> {
    if stdout_is_terminal() {
        for_terminal(text)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        let hostile = "title\x1b]0;pwned\x07\x1b[2Jcleared";
        assert_eq!(
            for_terminal(hostile),
            "title\\x1b]0;pwned\\x07\\x1b[2Jcleared"
        );
        assert_eq!(for_terminal("a\u{9b}31mb\u{7f}"), "a\\u{9b}31mb\\x7f");
        assert_eq!(for_terminal("over\rwrite"), "over\\rwrite");
        assert_eq!(for_terminal("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "line 1\r\nline 2\n\tindented — ünïcödé ✓";
        assert_eq!(for_terminal(text), "line 1\nline 2\n\tindented — ünïcödé ✓");
        assert!(matches!(for_terminal("plain\ttext\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_errors_are_cut_with_a_note() {
        let long = "é".repeat(10_000); // 20,000 bytes
        let shown = error_text(&long);
        assert!(shown.len() < MAX_ERROR_TEXT + 40, "{}", shown.len());
        assert!(
            shown.ends_with("[... 15904 more bytes]"),
            "{}",
            &shown[4000..]
        );
        assert_eq!(error_text("short \x1b"), "short \\x1b");
    }
}
