//! The `_xHHHH_` encoding of characters that XML cannot carry ([MS-PSRP]
//! 2.2.5.1.1 String).
//!
//! PowerShell writes C0 and C1 control characters, UTF-16 surrogates (so every
//! character outside the Basic Multilingual Plane, as two escapes) and the
//! non-characters U+FFFE/U+FFFF as `_xHHHH_`, the hexadecimal UTF-16 code
//! unit. A literal `_x` (either case of `x`) is written `_x005F_x` so that it
//! cannot be mistaken for an escape. This is not XML escaping: `&lt;` and
//! friends are handled by the XML layer around it.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::borrow::Cow;

/// Whether `c` must be written as `_xHHHH_` by [`escape_into`].
fn needs_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
        || (c as u32) > 0xFFFF
}

/// Appends `_xHHHH_` for one UTF-16 code unit.
fn push_unit(out: &mut String, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str("_x");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xF) as usize] as char);
    }
    out.push('_');
}

/// Whether `bytes` is printable ASCII without `&`, `<`, `>`, `"` or `_`:
/// text that goes out as it is. Checked 64 bytes at a time without an
/// early exit inside a block, which the compiler turns into vector
/// compares (a copy's base64 chunks are hundreds of KB each).
fn is_plain(bytes: &[u8]) -> bool {
    #[inline(always)]
    fn plain(b: u8) -> bool {
        b.wrapping_sub(0x20) < 0x5F && b != b'&' && b != b'<' && b != b'>' && b != b'"' && b != b'_'
    }
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        if !block.iter().fold(true, |ok, &b| ok & plain(b)) {
            return false;
        }
    }
    blocks.remainder().iter().all(|&b| plain(b))
}

/// Appends `s` to `out` with the CLIXML `_xHHHH_` encoding applied and XML
/// special characters escaped (`&`, `<`, `>` and, when `attribute` is true,
/// `"`), so the result can be placed in element text or a double-quoted
/// attribute value ([MS-PSRP] 2.2.5.1.1).
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn escape_into(out: &mut String, s: &str, attribute: bool) {
    let bytes = s.as_bytes();
    // Fast path: printable ASCII with nothing to escape (base64 text, such
    // as a file copy's chunks, is always this).
    if is_plain(bytes) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let replacement: Option<&str> = match c {
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' if attribute => Some("&quot;"),
            _ => None,
        };
        let is_underscore_x = c == '_' && matches!(bytes.get(i + 1), Some(b'x') | Some(b'X'));
        if replacement.is_none() && !is_underscore_x && !needs_escape(c) {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        if let Some(r) = replacement {
            out.push_str(r);
        } else if is_underscore_x {
            // `_x` is written `_x005F_x`: the underscore is escaped, the
            // `x` follows as itself.
            push_unit(out, 0x5F);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_unit(out, *unit);
            }
        }
    }
    out.push_str(&s[start..]);
}

/// `s` with the CLIXML `_xHHHH_` encoding and XML escaping applied, see
/// [`escape_into`].
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, false);
    out
}

/// Parses the four hex digits of an escape at `b[i..]` (`_xHHHH_`), returning
/// the code unit when `b[i..i + 7]` is a complete escape.
fn parse_escape(b: &[u8], i: usize) -> Option<u16> {
    let esc = b.get(i..i + 7)?;
    if esc[0] != b'_' || (esc[1] != b'x' && esc[1] != b'X') || esc[6] != b'_' {
        return None;
    }
    let mut unit = 0u16;
    for &h in &esc[2..6] {
        let d = (h as char).to_digit(16)?;
        unit = unit << 4 | d as u16;
    }
    Some(unit)
}

/// Decodes `_xHHHH_` escapes ([MS-PSRP] 2.2.5.1.1). Hex digits and the `x`
/// are matched in either case; a high surrogate escape followed by a low one
/// becomes one character; a lone surrogate (which a Rust string cannot hold)
/// becomes U+FFFD. Text without `_x` is returned borrowed.
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn unescape(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let Some(first) = find_escape(b, 0) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    let mut start = 0;
    let mut i = first;
    loop {
        out.push_str(&s[start..i]);
        let unit = parse_escape(b, i).expect("find_escape found an escape");
        let mut next = i + 7;
        match unit {
            0xD800..=0xDBFF => match parse_escape(b, next) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let c =
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                    next += 7;
                }
                _ => out.push('\u{FFFD}'),
            },
            0xDC00..=0xDFFF => out.push('\u{FFFD}'),
            _ => out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}')),
        }
        start = next;
        match find_escape(b, next) {
            Some(j) => i = j,
            None => break,
        }
    }
    out.push_str(&s[start..]);
    Cow::Owned(out)
}

/// The byte offset of the next complete `_xHHHH_` escape at or after `from`.
fn find_escape(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 7 <= b.len() {
        let rel = memchr_underscore(&b[i..b.len() - 6])?;
        let at = i + rel;
        if parse_escape(b, at).is_some() {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// The position of the first `_` in `b`.
fn memchr_underscore(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'_', b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_unchanged() {
        assert!(matches!(
            unescape("hello_world x_"),
            Cow::Borrowed("hello_world x_")
        ));
        assert_eq!(escape("hello_world"), "hello_world");
    }

    #[test]
    fn the_fast_path_agrees_with_the_slow_one_at_every_position() {
        // Long plain text (base64) goes out as it is; one character that
        // needs escaping anywhere in it, in a full 64-byte block or in the
        // remainder, is still escaped.
        let b64: String = (0..200).map(|i| b"ABCxyz019+/="[i % 12] as char).collect();
        assert!(is_plain(b64.as_bytes()));
        assert_eq!(escape(&b64), b64);
        for at in [0, 63, 64, 127, 150, 199] {
            for (c, esc) in [('<', "&lt;"), ('\n', "_x000A_"), ('_', "_"), ('é', "é")] {
                let mut s = b64.clone();
                s.replace_range(at..at + 1, &c.to_string());
                let want = format!("{}{esc}{}", &b64[..at], &b64[at + 1..]);
                assert_eq!(escape(&s), want, "{c:?} at {at}");
            }
        }
    }

    #[test]
    fn control_characters_round_trip() {
        let s = "a\r\nb\tc\u{0}\u{7F}\u{9F}";
        let e = escape(s);
        assert_eq!(e, "a_x000D__x000A_b_x0009_c_x0000__x007F__x009F_");
        assert_eq!(unescape(&e), s);
    }

    #[test]
    fn literal_underscore_x_is_escaped() {
        assert_eq!(escape("_x0041_"), "_x005F_x0041_");
        assert_eq!(escape("a_Xb"), "a_x005F_Xb");
        assert_eq!(unescape("_x005F_x0041_"), "_x0041_");
        assert_eq!(unescape("_x005f_X"), "_X");
    }

    #[test]
    fn surrogate_pairs_combine() {
        assert_eq!(escape("\u{1F600}"), "_xD83D__xDE00_");
        assert_eq!(unescape("_xD83D__xDE00_"), "\u{1F600}");
        assert_eq!(unescape("_xd83d__xde00_"), "\u{1F600}");
        assert_eq!(unescape("a_xD83D_b"), "a\u{FFFD}b");
        assert_eq!(unescape("_xDE00_"), "\u{FFFD}");
    }

    #[test]
    fn xml_specials_are_escaped() {
        assert_eq!(escape("<a & b>"), "&lt;a &amp; b&gt;");
        let mut s = String::new();
        escape_into(&mut s, "say \"hi\"", true);
        assert_eq!(s, "say &quot;hi&quot;");
    }

    #[test]
    fn incomplete_escapes_stay_literal() {
        for s in ["_x", "_x12", "_x123_", "_x12G4_", "__x004", "_x0041"] {
            assert_eq!(unescape(s), s);
        }
        assert_eq!(unescape("__x0041_"), "_A");
    }
}
