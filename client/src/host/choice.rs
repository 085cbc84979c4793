//! PowerShell's console-host choice prompts ([MS-PSRP] 2.2.3.17 methods 26
//! and 56, PromptForChoice): the choice line, the `?` help, and how an
//! answer is read.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use super::Choice;

/// The choice line of PowerShell's console host:
/// `[Y] Yes  [N] No  [?] Help (default is "Y"): `.
pub fn choice_line(choices: &[Choice], default: i32) -> String {
    let mut line = String::new();
    for c in choices {
        match c.hotkey() {
            Some(k) => line.push_str(&format!("[{k}] {}  ", c.plain_label())),
            None => line.push_str(&format!("{}  ", c.plain_label())),
        }
    }
    line.push_str("[?] Help");
    if let Some(d) = usize::try_from(default).ok().and_then(|d| choices.get(d)) {
        let key = d.hotkey().unwrap_or_else(|| d.plain_label());
        line.push_str(&format!(" (default is \"{key}\")"));
    }
    line.push_str(": ");
    line
}

/// The choice line of a multiple selection:
/// `[A] Apple  [B] Banana  [?] Help (default choices are "A","B")`.
pub fn multiple_choice_line(choices: &[Choice], defaults: &[i32]) -> String {
    let mut line = choice_line(choices, -1);
    line.truncate(line.trim_end_matches([':', ' ']).len());
    let keys: Vec<String> = defaults
        .iter()
        .filter_map(|d| usize::try_from(*d).ok().and_then(|d| choices.get(d)))
        .map(|c| format!("\"{}\"", c.hotkey().unwrap_or_else(|| c.plain_label())))
        .collect();
    match keys.len() {
        0 => {}
        1 => line.push_str(&format!(" (default is {})", keys[0])),
        _ => line.push_str(&format!(" (default choices are {})", keys.join(","))),
    }
    line
}

/// The help PowerShell's console host prints for `?`: one line per choice.
pub fn choice_help(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| {
            let key = c.hotkey().unwrap_or_else(|| c.plain_label());
            format!("{key} - {}\n", c.help_message)
        })
        .collect()
}

/// What an answer to PromptForChoice means: the hotkey, the label or the
/// index (0-based) chosen; an empty answer is the default; `?` asks for
/// help; anything else matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceAnswer {
    /// This choice.
    Chosen(i32),
    /// `?`.
    Help,
    /// Not a choice: ask again.
    Unknown,
}

/// Reads `answer` as PowerShell's console host does (also the index).
pub fn parse_choice(choices: &[Choice], default: i32, answer: &str) -> ChoiceAnswer {
    let a = answer.trim();
    let index = |i: usize| i32::try_from(i).map_or(ChoiceAnswer::Unknown, ChoiceAnswer::Chosen);
    if a.is_empty() {
        return match usize::try_from(default).ok().filter(|d| *d < choices.len()) {
            Some(d) => index(d),
            None => ChoiceAnswer::Unknown,
        };
    }
    if a == "?" {
        return ChoiceAnswer::Help;
    }
    if let Some(i) = choices
        .iter()
        .position(|c| c.hotkey().is_some_and(|k| k.eq_ignore_ascii_case(a)))
    {
        return index(i);
    }
    if let Some(i) = choices
        .iter()
        .position(|c| c.plain_label().eq_ignore_ascii_case(a))
    {
        return index(i);
    }
    match a.parse::<usize>() {
        Ok(i) if i < choices.len() => index(i),
        _ => ChoiceAnswer::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::tests::confirm;

    #[test]
    fn choice_line_is_powershells() {
        assert_eq!(
            choice_line(&confirm(), 0),
            "[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is \"Y\"): "
        );
        assert_eq!(choice_line(&confirm()[..1], -1), "[Y] Yes  [?] Help: ");
    }

    #[test]
    fn answers_by_hotkey_label_index_default_help_or_none() {
        let c = confirm();
        assert_eq!(parse_choice(&c, 0, "y"), ChoiceAnswer::Chosen(0));
        assert_eq!(parse_choice(&c, 0, "L"), ChoiceAnswer::Chosen(3));
        assert_eq!(parse_choice(&c, 0, "no to all"), ChoiceAnswer::Chosen(3));
        assert_eq!(parse_choice(&c, 0, "2"), ChoiceAnswer::Chosen(2));
        assert_eq!(parse_choice(&c, 2, ""), ChoiceAnswer::Chosen(2));
        assert_eq!(parse_choice(&c, -1, ""), ChoiceAnswer::Unknown);
        assert_eq!(parse_choice(&c, 0, "?"), ChoiceAnswer::Help);
        assert_eq!(parse_choice(&c, 0, "maybe"), ChoiceAnswer::Unknown);
        assert_eq!(parse_choice(&c, 0, "9"), ChoiceAnswer::Unknown);
        assert!(choice_help(&c).starts_with("Y - Continue with only the next step"));
    }

    #[test]
    fn multiple_choice_line_names_the_defaults() {
        let c = confirm();
        assert_eq!(
            multiple_choice_line(&c[..2], &[0, 1]),
            "[Y] Yes  [A] Yes to All  [?] Help (default choices are \"Y\",\"A\")"
        );
        assert_eq!(multiple_choice_line(&c[..1], &[]), "[Y] Yes  [?] Help");
    }
}
