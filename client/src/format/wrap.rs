//! Word wrapping of a list's values, as Windows PowerShell 5.1's
//! Format-List writes a value wider than the room after its label
//! (`ListWriter`, `StringManipulationHelper.GenerateLines`): the value is
//! broken between words, each line as full as it can be; a word longer
//! than a whole line is cut into pieces of that length.

/// `text` (one line, no line breaks) in lines of at most `room` characters
/// (at least 1), broken at spaces. The lines borrow from `text`.
pub(crate) fn words(text: &str, room: usize) -> Vec<&str> {
    let room = room.max(1);
    let mut lines = Vec::new();
    // The line being filled: its start and end in `text`, its length in chars.
    let mut line: Option<(usize, usize, usize)> = None;
    let mut at = 0;
    for word in text.split(' ') {
        let word_at = at;
        at += word.len() + 1;
        let chars = word.chars().count();
        if let Some((start, end, len)) = line {
            if len + 1 + chars <= room {
                line = Some((start, word_at + word.len(), len + 1 + chars));
                continue;
            }
            if end > start {
                lines.push(&text[start..end]);
            }
        }
        // The word starts a line; a word too long for one is cut.
        let (mut rest, mut rest_at) = (word, word_at);
        while rest.chars().count() > room {
            let cut = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
            lines.push(&rest[..cut]);
            rest_at += cut;
            rest = &rest[cut..];
        }
        line = Some((rest_at, rest_at + rest.len(), rest.chars().count()));
    }
    match line {
        Some((start, end, _)) if end > start || lines.is_empty() => lines.push(&text[start..end]),
        _ => {}
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn values_break_between_words() {
        assert_eq!(words("short", 10), ["short"]);
        assert_eq!(words("", 10), [""]);
        assert_eq!(
            words("the quick brown fox jumps", 10),
            ["the quick", "brown fox", "jumps"]
        );
        // A word exactly filling the line.
        assert_eq!(words("abcde fghij", 5), ["abcde", "fghij"]);
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut() {
        assert_eq!(words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(words("ab cdefghij k", 4), ["ab", "cdef", "ghij", "k"]);
        assert_eq!(words("ééééé", 2), ["éé", "éé", "é"]);
        // Spaces inside a line are kept, as the host's word_wrap.py keeps them.
        assert_eq!(words(" a  b", 10), [" a  b"]);
    }

    #[test]
    fn every_character_but_the_breaking_spaces_is_kept() {
        let text = "a  b   c d     eeeeeeeee f";
        for room in 1..12 {
            let lines = words(text, room);
            assert!(
                lines.iter().all(|l| l.chars().count() <= room),
                "{room}: {lines:?}"
            );
            let kept: usize = lines.iter().map(|l| l.replace(' ', "").len()).sum();
            assert_eq!(kept, text.replace(' ', "").len(), "{room}: {lines:?}");
        }
    }
}
