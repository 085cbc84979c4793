//! Where the script of `invoke` and `session invoke` comes from: the
//! SCRIPT argument, or `-f FILE` (`-` for stdin) as Invoke-Command
//! -FilePath, with its `--arg` values (-ArgumentList).
use std::io::Read;

use super::args::ScriptArgs;
use crate::{Error, Result};

/// A script ready to send, with its positional arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The script text.
    pub text: String,
    /// Its positional arguments, in order.
    pub args: Vec<String>,
}

/// Reads the script of `a`: its text, or FILE's (stdin for `-`). A
/// file that cannot be read, or is not UTF-8, is a usage error.
pub fn load(a: &ScriptArgs) -> Result<Script> {
    let text = match (&a.script, &a.file) {
        (Some(t), None) => t.clone(),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .map_err(|e| Error::Usage(format!("cannot read the script from stdin: {e}")))?;
            t
        }
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| Error::Usage(format!("cannot read the script {}: {e}", f.display())))?,
        _ => return Err(Error::Usage("give either SCRIPT or -f FILE".into())),
    };
    // A file saved by Windows tools may start with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    Ok(Script {
        text,
        args: a.args.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_with_bom_and_missing_file() {
        let dir = std::env::temp_dir().join(format!("wsman-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.ps1");
        std::fs::write(&f, "\u{feff}'hi'\n$args").unwrap();
        let a = ScriptArgs {
            script: None,
            file: Some(f.clone()),
            args: vec!["x".into()],
        };
        let s = load(&a).unwrap();
        assert_eq!(s.text, "'hi'\n$args");
        assert_eq!(s.args, ["x"]);
        let missing = ScriptArgs {
            file: Some(dir.join("nope.ps1")),
            ..a
        };
        let e = load(&missing).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        assert!(e.to_string().contains("nope.ps1"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
