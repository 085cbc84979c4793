//! A folder copied from the host into a local folder that already exists
//! (a second `wsman copy -r host:C:\dir\tree .`): merged into it, as
//! Copy-Item -Recurse -FromSession does: files the copy also has are
//! replaced, others added, nothing removed.
//!
//! The copy is first made whole in the staging folder beside the target
//! ([`super::tree`]), every digest verified, so a failure or Ctrl+C while
//! files travel leaves the target as it was. Only then is each file
//! renamed over its namesake (one `rename`: never a half-written file
//! under its name). Before anything is copied, [`check`] refuses a file
//! where the copy has a folder (or the reverse) and a read-only file the
//! copy would replace: Copy-Item writes an error for one unless -Force is
//! given, and this copy has no -Force. The host's side of the same merge
//! is [`super::scripts::PREPARE`] and [`super::scripts::COMMIT`].
use std::path::{Path, PathBuf};

use super::local_error;
use super::tree::Tree;
use crate::{Error, Result};

fn under(root: &Path, names: &[String]) -> PathBuf {
    names.iter().fold(root.to_path_buf(), |p, n| p.join(n))
}

/// Checks that `tree` can be merged into the existing folder `target`:
/// no file where the copy has a folder, no folder (or other thing) where
/// it has a file, no read-only file to replace.
pub(crate) fn check(target: &Path, tree: &Tree) -> Result<()> {
    for d in &tree.dirs {
        let p = under(target, d);
        if p.symlink_metadata().is_ok() && !p.is_dir() {
            return Err(Error::Usage(format!(
                "{} is a file, and the copy has a folder of that name",
                p.display()
            )));
        }
    }
    for (f, _) in &tree.files {
        let p = under(target, f);
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            return Err(Error::Usage(format!(
                "{} is a folder, and the copy has a file of that name",
                p.display()
            )));
        }
        if !meta.is_file() {
            return Err(Error::Usage(format!(
                "{} is not a file, and the copy has a file of that name",
                p.display()
            )));
        }
        if meta.permissions().readonly() {
            return Err(Error::Usage(format!(
                "{} is read-only: it is not replaced (make it writable first)",
                p.display()
            )));
        }
    }
    Ok(())
}

/// Moves the files of the complete, verified copy in `stage` into
/// `target` (the folders first, made where missing). A failure part-way
/// says how many files were already moved in: they stay; folders this
/// step made and left empty are removed, the rest of the staging folder
/// by its owner.
pub(crate) fn commit(stage: &Path, target: &Path, tree: &Tree) -> Result<()> {
    let mut made = Vec::new();
    let mut moved = 0usize;
    let mut run = || -> Result<()> {
        for d in &tree.dirs {
            let p = under(target, d);
            if !p.is_dir() {
                std::fs::create_dir(&p).map_err(|e| local_error("cannot write", &p, e))?;
                made.push(p);
            }
        }
        for (f, _) in &tree.files {
            let to = under(target, f);
            std::fs::rename(under(stage, f), &to)
                .map_err(|e| local_error("cannot write", &to, e))?;
            moved += 1;
        }
        Ok(())
    };
    let result = run();
    if let Err(e) = result {
        for p in made.iter().rev() {
            // Only an empty one goes: a file moved into it stays.
            let _ = std::fs::remove_dir(p);
        }
        return Err(Error::Usage(format!(
            "{e} ({moved} of {} files were already moved into {} and stay there; the rest of the copy is removed)",
            tree.files.len(),
            target.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    fn tree(dirs: &[&str], files: &[&str]) -> Tree {
        Tree {
            dirs: dirs.iter().map(|d| names(d)).collect(),
            files: files.iter().map(|f| (names(f), 1)).collect(),
        }
    }

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsman-merge-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn conflicts_and_read_only_files_are_refused_before_anything_moves() {
        let dir = temp("check");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("f"), b"old").unwrap();
        std::fs::write(dir.join("ro"), b"old").unwrap();
        assert!(check(&dir, &tree(&["sub", "new"], &["f", "sub/x", "new/y"])).is_ok());
        let e = check(&dir, &tree(&["f"], &[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a file, and the copy has a folder"),
            "{e}"
        );
        let e = check(&dir, &tree(&[], &["sub"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a folder, and the copy has a file"),
            "{e}"
        );
        let mut perms = std::fs::metadata(dir.join("ro")).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(dir.join("ro"), perms).unwrap();
        let e = check(&dir, &tree(&[], &["ro"])).unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        let mut perms = std::fs::metadata(dir.join("ro")).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(dir.join("ro"), perms).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn commit_replaces_adds_keeps_and_reports_what_moved_when_it_fails() {
        let dir = temp("commit");
        let (stage, target) = (dir.join("t.wsman-partial"), dir.join("t"));
        std::fs::create_dir_all(stage.join("a/new")).unwrap();
        std::fs::create_dir_all(target.join("a")).unwrap();
        std::fs::write(stage.join("a/f"), b"new").unwrap();
        std::fs::write(stage.join("a/new/g"), b"added").unwrap();
        std::fs::write(target.join("a/f"), b"old").unwrap();
        std::fs::write(target.join("kept"), b"mine").unwrap();
        commit(&stage, &target, &tree(&["a", "a/new"], &["a/f", "a/new/g"])).unwrap();
        assert_eq!(std::fs::read(target.join("a/f")).unwrap(), b"new");
        assert_eq!(std::fs::read(target.join("a/new/g")).unwrap(), b"added");
        assert_eq!(std::fs::read(target.join("kept")).unwrap(), b"mine");

        // The second file cannot be moved (a folder took its place after
        // the check): the first stays replaced, the folder made is kept
        // only while something is in it.
        std::fs::create_dir_all(stage.join("b")).unwrap();
        std::fs::write(stage.join("one"), b"1").unwrap();
        std::fs::write(stage.join("b/two"), b"2").unwrap();
        std::fs::create_dir_all(stage.join("empty")).unwrap();
        std::fs::create_dir_all(target.join("b/two/blocker")).unwrap();
        let e = commit(&stage, &target, &tree(&["b", "empty"], &["one", "b/two"])).unwrap_err();
        assert!(
            e.to_string().contains("1 of 2 files were already moved"),
            "{e}"
        );
        assert_eq!(std::fs::read(target.join("one")).unwrap(), b"1");
        assert!(!target.join("empty").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
