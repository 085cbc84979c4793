//! Input of `wsman enter` as PowerShell's console reads it: a line that
//! leaves a block open (a brace, bracket or parenthesis, a string or
//! here-string, a `<# #>` comment, a trailing backtick) continues on the
//! next line at a `>> ` prompt; and the history of entered commands, kept
//! under the state folder between runs.
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many entries the history file keeps.
const HISTORY_LIMIT: usize = 1000;

/// Whether `text` leaves a block open, so PowerShell would ask for more at
/// `>> `.
pub fn is_incomplete(text: &str) -> bool {
    #[derive(PartialEq)]
    enum In {
        Code,
        Single,
        Double,
        HereSingle,
        HereDouble,
        Comment,
    }
    let chars: Vec<char> = text.chars().collect();
    let mut state = In::Code;
    let mut depth: i32 = 0;
    let mut i = 0;
    let at_line_start = |i: usize| i == 0 || chars[i - 1] == '\n';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match state {
            In::Code => match c {
                '#' => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                '<' if next == Some('#') => {
                    state = In::Comment;
                    i += 1;
                }
                '@' if matches!(next, Some('\'') | Some('"'))
                    && chars[i + 2..]
                        .iter()
                        .take_while(|c| **c != '\n')
                        .all(|c| c.is_whitespace()) =>
                {
                    state = if next == Some('\'') {
                        In::HereSingle
                    } else {
                        In::HereDouble
                    };
                    i += 1;
                }
                '\'' => state = In::Single,
                '"' => state = In::Double,
                '`' => i += 1,
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => depth -= 1,
                _ => {}
            },
            In::Single => {
                if c == '\'' {
                    if next == Some('\'') {
                        i += 1;
                    } else {
                        state = In::Code;
                    }
                }
            }
            In::Double => match c {
                '`' => i += 1,
                '"' if next == Some('"') => i += 1,
                '"' => state = In::Code,
                _ => {}
            },
            In::HereSingle | In::HereDouble => {
                let close = if state == In::HereSingle { '\'' } else { '"' };
                if c == close && next == Some('@') && at_line_start(i) {
                    state = In::Code;
                    i += 1;
                }
            }
            In::Comment => {
                if c == '#' && next == Some('>') {
                    state = In::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    // A backtick at the very end continues the line.
    let continued = state == In::Code && text.trim_end_matches(['\r', '\n']).ends_with('`');
    state != In::Code || depth > 0 || continued
}

/// The history file under the state folder.
pub fn history_path(state_dir: &Path) -> PathBuf {
    state_dir.join("enter_history")
}

/// The saved entries, oldest first (one JSON string per line, so an entry
/// of several lines stays one entry); the last [`HISTORY_LIMIT`]. A
/// missing or unreadable file is an empty history.
pub fn load_history(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let entries: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<String>(l).ok())
        .collect();
    let skip = entries.len().saturating_sub(HISTORY_LIMIT);
    let kept = entries[skip..].to_vec();
    if skip > HISTORY_LIMIT {
        // Grown far past the limit: write back only what is kept.
        let body: String = kept
            .iter()
            .map(|e| format!("{}\n", serde_json::Value::from(e.as_str())))
            .collect();
        let _ = std::fs::write(path, body);
    }
    kept
}

/// Appends one entry (private to the user: a command line may hold
/// anything). Errors are ignored: history is a convenience.
pub fn append_history(path: &Path, entry: &str) {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let _ = builder.create(dir);
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    if let Ok(mut f) = opts.open(path) {
        let _ = writeln!(f, "{}", serde_json::Value::from(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_blocks_continue() {
        for open in [
            "if ($x) {",
            "foreach ($i in 1..3) {\n  $i",
            "'unterminated",
            "\"also",
            "@'\nhere",
            "Get-Thing `",
            "<# a comment",
            "(1 +",
            "@(\n1",
        ] {
            assert!(is_incomplete(open), "{open:?}");
        }
        for done in [
            "$x = 1",
            "if ($x) { 'y' }",
            "'it''s'",
            "\"a `\" b\"",
            "'{'",
            "# {",
            "@'\nhere\n'@",
            "<# c #> 1",
            "foreach ($i in 1..3) {\n  $i\n}",
            "'line1\nline2'",
        ] {
            assert!(!is_incomplete(done), "{done:?}");
        }
    }

    #[test]
    fn history_round_trips_entries_of_several_lines() {
        let dir = std::env::temp_dir().join(format!("wsman-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = history_path(&dir);
        let _ = std::fs::remove_file(&p);
        assert!(load_history(&p).is_empty());
        append_history(&p, "$x = 1");
        append_history(&p, "if ($x) {\n 'y'\n}");
        assert_eq!(load_history(&p), ["$x = 1", "if ($x) {\n 'y'\n}"]);
        for i in 0..(2 * HISTORY_LIMIT + 5) {
            append_history(&p, &i.to_string());
        }
        let h = load_history(&p);
        assert_eq!(h.len(), HISTORY_LIMIT);
        assert_eq!(h.last().unwrap(), &(2 * HISTORY_LIMIT + 4).to_string());
        assert_eq!(load_history(&p).len(), HISTORY_LIMIT);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
