//! Folders (`wsman copy -r`, Copy-Item -Recurse): the tree is listed on
//! the side it comes from, its folders are made (empty ones too) in a
//! staging folder `TARGET.wsman-partial` on the other side, each file is
//! copied into it as [`copy_to_host`](super::copy_to_host) /
//! [`copy_from_host`] copy a file (digest checked
//! on both sides), and the staging folder is renamed to the target at the
//! end. A failed or interrupted copy removes its staging folder: nothing
//! partial is left on either side.
//!
//! The target is DEST, or DEST/NAME (NAME the source folder's name) when
//! DEST is an existing folder, as `cp -r` does. A target that is an
//! existing folder is merged into, as Copy-Item -Recurse does (files the
//! copy also has replaced, others added, nothing removed): the staging
//! folder is filled the same way, then each of its files is moved over its
//! namesake ([`scripts::COMMIT`] on the host, `copy/merge.rs` here), so a
//! failure while files travel leaves the target as it was.
use std::path::{Component, Path, PathBuf};

use psrp::clixml::Value;
use psrp::types::{Command, PowerShell};

use super::{
    abort_on_host, copy_from_host, interrupted, local_error, scripts, send_file, CopyOptions,
    CopyReport, Progress, PARTIAL_SUFFIX,
};
use crate::session::{InvokeOptions, PipelineEvent, PsSession};
use crate::{Error, Result};

/// A folder's content, relative to it: folders first (parents before
/// children), then files with their sizes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tree {
    /// Folders, each a list of names from the root down.
    pub dirs: Vec<Vec<String>>,
    /// Files, each a list of names and its length in bytes.
    pub files: Vec<(Vec<String>, u64)>,
}

impl Tree {
    /// Bytes in all the files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, n)| n).sum()
    }
}

/// Characters Windows does not allow in a name (and `/`, a separator here).
fn valid_windows_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c < ' ' || matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
}

/// Lists a local folder, following symbolic links as Copy-Item and
/// `cp -rL` do: a link to a file stands for that file's content, a link to
/// a folder for that folder. A folder reached a second time (a link loop,
/// or two links to one folder), known by its device and inode, is skipped
/// with a warning, as are a link that leads nowhere and anything neither a
/// file nor a folder; a name that is not UTF-8 or that Windows cannot hold
/// is an error.
pub fn walk_local(root: &Path, warnings: &mut Vec<String>) -> Result<Tree> {
    let mut tree = Tree::default();
    let mut seen = Seen::default();
    let meta = std::fs::metadata(root).map_err(|e| local_error("cannot read", root, e))?;
    seen.first_visit(root, &meta);
    let mut stack = vec![(root.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries = std::fs::read_dir(&dir)
            .map_err(|e| local_error("cannot read", &dir, e))?
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| local_error("cannot read", &dir, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().into_string().map_err(|n| {
                Error::Usage(format!(
                    "{}: the name {n:?} is not UTF-8 and cannot be sent",
                    dir.display()
                ))
            })?;
            if !valid_windows_name(&name) {
                return Err(Error::Usage(format!(
                    "{}: Windows does not allow the name {name:?}",
                    path.display()
                )));
            }
            let link = std::fs::symlink_metadata(&path)
                .map_err(|e| local_error("cannot read", &path, e))?
                .file_type()
                .is_symlink();
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if link => {
                    let to = std::fs::read_link(&path).unwrap_or_default();
                    warnings.push(format!(
                        "skipped {} (a link to {} that cannot be followed: {e})",
                        path.display(),
                        to.display()
                    ));
                    continue;
                }
                Err(e) => return Err(local_error("cannot read", &path, e)),
            };
            let mut names = rel.clone();
            names.push(name);
            if meta.is_dir() {
                if !seen.first_visit(&path, &meta) {
                    warnings.push(format!(
                        "skipped {} (a link to a folder this copy already has: {})",
                        path.display(),
                        std::fs::read_link(&path).unwrap_or_default().display()
                    ));
                    continue;
                }
                tree.dirs.push(names.clone());
                stack.push((path, names));
            } else if meta.is_file() {
                tree.files.push((names, meta.len()));
            } else {
                warnings.push(format!("skipped {} (not a file or folder)", path.display()));
            }
        }
    }
    tree.dirs.sort();
    Ok(tree)
}

/// The folders a walk has entered, by device and inode (by canonical path
/// where there are no inodes), so that none is entered twice.
#[derive(Default)]
struct Seen {
    #[cfg(unix)]
    ids: std::collections::HashSet<(u64, u64)>,
    #[cfg(not(unix))]
    ids: std::collections::HashSet<PathBuf>,
}

impl Seen {
    /// Whether the folder `path` (of metadata `meta`) is entered for the
    /// first time; it counts as entered from now on.
    #[cfg(unix)]
    fn first_visit(&mut self, _path: &Path, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.ids.insert((meta.dev(), meta.ino()))
    }

    #[cfg(not(unix))]
    fn first_visit(&mut self, path: &Path, _meta: &std::fs::Metadata) -> bool {
        self.ids
            .insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
    }
}

/// Parses the host's listing ([`scripts::LIST`]): its root, then `D:REL`
/// and `F:LENGTH:REL` lines. A name that would leave the folder (`..`, an
/// absolute path, a drive) is refused: the host does not choose where
/// files land here.
pub fn parse_listing(lines: &[String]) -> Result<(String, Tree)> {
    let bad = |l: &str| Error::Broken(format!("the host's folder listing has a bad line: {l:?}"));
    let (root, rest) = lines
        .split_first()
        .ok_or_else(|| Error::Broken("the host listed nothing".into()))?;
    let mut tree = Tree::default();
    for line in rest {
        let names = |rel: &str| -> Result<Vec<String>> {
            let names: Vec<String> = rel.split('\\').map(str::to_string).collect();
            if names.iter().all(|n| valid_windows_name(n)) {
                Ok(names)
            } else {
                Err(bad(line))
            }
        };
        if let Some(rel) = line.strip_prefix("D:") {
            tree.dirs.push(names(rel)?);
        } else if let Some(rest) = line.strip_prefix("F:") {
            let (len, rel) = rest.split_once(':').ok_or_else(|| bad(line))?;
            let len = len.parse().map_err(|_| bad(line))?;
            tree.files.push((names(rel)?, len));
        } else {
            return Err(bad(line));
        }
    }
    tree.dirs.sort();
    Ok((root.clone(), tree))
}

/// The target: `dest`, or `dest/name` when `dest` is an existing folder;
/// and whether it is an existing folder, to merge into.
fn local_target(dest: &Path, name: &str) -> Result<(PathBuf, bool)> {
    let target = if dest.is_dir() {
        dest.join(name)
    } else {
        dest.to_path_buf()
    };
    if target.is_dir() {
        return Ok((target, true));
    }
    if target.symlink_metadata().is_ok() {
        return Err(Error::Usage(format!(
            "{} is a file: a folder cannot be copied over it",
            target.display()
        )));
    }
    Ok((target, false))
}

/// Runs a script to its end: its outputs as text, its failure as the error.
async fn run_script(
    session: &mut PsSession,
    ps: PowerShell,
    input: Option<Vec<Value>>,
    what: &str,
) -> Result<Vec<String>> {
    let opts = InvokeOptions {
        input: input.is_some(),
        ..Default::default()
    };
    let mut pipeline = session.invoke_with(ps, opts).await?;
    if let Some(values) = input {
        pipeline.send_all_input(values).await?;
    }
    let mut outputs = Vec::new();
    let mut failure = None;
    while let Some(ev) = pipeline.next().await? {
        match ev {
            PipelineEvent::Output(v) => outputs.push(v.as_str().unwrap_or_default().to_string()),
            other => super::note_failure(&mut failure, what, other),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(outputs),
    }
}

/// Copies the local folder `local` and everything in it to `remote` on
/// the host; `progress` counts the bytes of all its files.
pub async fn copy_dir_to_host(
    session: &mut PsSession,
    local: &Path,
    remote: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
    options: &CopyOptions,
) -> Result<CopyReport> {
    let full = std::fs::canonicalize(local).map_err(|e| local_error("cannot read", local, e))?;
    if !full.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a folder: copy a file without -r",
            local.display()
        )));
    }
    let name = full
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| valid_windows_name(n))
        .ok_or_else(|| Error::Usage(format!("{}: no name to give the folder", local.display())))?
        .to_string();
    let mut warnings = Vec::new();
    let tree = walk_local(&full, &mut warnings)?;
    let what = format!("the copy to {remote}");
    // The folders to make, and the files, checked against a folder that
    // exists before anything is sent.
    let names = tree
        .dirs
        .iter()
        .map(|d| format!("D:{}", d.join("\\")))
        .chain(
            tree.files
                .iter()
                .map(|(f, _)| format!("F:{}", f.join("\\"))),
        )
        .map(Value::String)
        .collect();
    let ps = PowerShell::new(vec![Command::script(scripts::PREPARE)
        .argument(Value::String(remote.to_string()))
        .argument(Value::String(name))]);
    let outputs = match run_script(session, ps, Some(names), &what).await {
        Ok(o) => o,
        Err(e) => {
            // The staging folder may have been made before a sub-folder
            // failed.
            abort_on_host(session, &format!("{remote}{PARTIAL_SUFFIX}")).await;
            return Err(e);
        }
    };
    let [stage, target, mode] = <[String; 3]>::try_from(outputs)
        .map_err(|o| Error::Broken(format!("{what}: the host answered {o:?}")))?;
    let result = fill_remote(
        session,
        (&full, &tree),
        (&stage, &target),
        progress,
        options,
        &mut warnings,
    )
    .await;
    match result {
        Ok(bytes) => Ok(CopyReport {
            path: target,
            bytes,
            digest: String::new(),
            remote_digest: None,
            warnings,
            files: tree.files.len() as u64,
            merged: mode == "merge",
        }),
        Err(e) => {
            abort_on_host(session, &stage).await;
            Err(e)
        }
    }
}

/// Copies every file of `tree` (under `root` here) into the staging
/// folder on the host, then puts it in place ([`scripts::COMMIT`]: renamed
/// to the target, or merged into it); the host's warnings are noted.
async fn fill_remote(
    session: &mut PsSession,
    (root, tree): (&Path, &Tree),
    (stage, target): (&str, &str),
    progress: &mut (dyn FnMut(Progress) + Send),
    options: &CopyOptions,
    warnings: &mut Vec<String>,
) -> Result<u64> {
    let total = tree.bytes();
    let mut before = 0u64;
    for (names, _) in &tree.files {
        if options.cancelled() {
            return Err(interrupted(&format!("the copy to {target}")));
        }
        let path = names.iter().fold(root.to_path_buf(), |p, n| p.join(n));
        let file = std::fs::File::open(&path).map_err(|e| local_error("cannot open", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| local_error("cannot read", &path, e))?
            .len();
        let remote = format!("{stage}\\{}", names.join("\\"));
        let mut each = |p: Progress| {
            progress(Progress {
                done: before + p.done,
                total: Some(total.max(before + p.total.unwrap_or(0))),
            })
        };
        let mut started = false;
        let r = send_file(
            session,
            file,
            len,
            &path,
            &remote,
            &mut each,
            options,
            &mut started,
        )
        .await?;
        before += r.bytes;
        warnings.extend(r.warnings);
    }
    let ps = PowerShell::new(vec![Command::script(scripts::COMMIT)
        .argument(Value::String(stage.to_string()))
        .argument(Value::String(target.to_string()))]);
    run_script(session, ps, None, &format!("the copy to {target}")).await?;
    Ok(before)
}

/// A local staging folder, removed with everything in it when dropped
/// unless kept.
struct Stage {
    path: PathBuf,
    keep: bool,
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Copies the folder `remote` on the host and everything in it to the
/// local `local`; `progress` counts the bytes of all its files.
pub async fn copy_dir_from_host(
    session: &mut PsSession,
    remote: &str,
    local: &Path,
    progress: &mut (dyn FnMut(Progress) + Send),
    options: &CopyOptions,
) -> Result<CopyReport> {
    let what = format!("the copy of {remote}");
    let ps = PowerShell::new(vec![
        Command::script(scripts::LIST).argument(Value::String(remote.to_string()))
    ]);
    let lines = run_script(session, ps, None, &what).await?;
    let (root, tree) = parse_listing(&lines)?;
    let name = root
        .rsplit('\\')
        .find(|n| !n.is_empty())
        .filter(|n| valid_windows_name(n))
        .ok_or_else(|| Error::Usage(format!("{what}: the folder has no name")))?;
    let (target, merge) = local_target(local, name)?;
    if merge {
        super::merge::check(&target, &tree)?;
    }
    let mut stage_path = target.as_os_str().to_owned();
    stage_path.push(PARTIAL_SUFFIX);
    let mut stage = Stage {
        path: PathBuf::from(stage_path),
        keep: false,
    };
    if stage.path.is_dir() {
        std::fs::remove_dir_all(&stage.path)
            .map_err(|e| local_error("cannot remove", &stage.path, e))?;
    }
    std::fs::create_dir(&stage.path).map_err(|e| local_error("cannot write", &stage.path, e))?;
    let local_of = |names: &[String]| {
        let p = names.iter().fold(stage.path.clone(), |p, n| p.join(n));
        // parse_listing let through only plain names.
        debug_assert!(p.components().all(|c| matches!(
            c,
            Component::Normal(_) | Component::RootDir | Component::Prefix(_) | Component::CurDir
        )));
        p
    };
    for d in &tree.dirs {
        let p = local_of(d);
        std::fs::create_dir_all(&p).map_err(|e| local_error("cannot write", &p, e))?;
    }
    let total = tree.bytes();
    let mut before = 0u64;
    let mut warnings = Vec::new();
    for (names, _) in &tree.files {
        let path = local_of(names);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| local_error("cannot write", parent, e))?;
        }
        let source = format!("{}\\{}", root.trim_end_matches('\\'), names.join("\\"));
        let mut each = |p: Progress| {
            progress(Progress {
                done: before + p.done,
                total: Some(total.max(before + p.total.unwrap_or(0))),
            })
        };
        let r = copy_from_host(session, &source, &path, &mut each, options).await?;
        before += r.bytes;
        warnings.extend(r.warnings);
    }
    if merge {
        // Dropped after, the staging folder goes with what is left in it.
        super::merge::commit(&stage.path, &target, &tree)?;
    } else {
        std::fs::rename(&stage.path, &target)
            .map_err(|e| local_error("cannot write", &target, e))?;
        stage.keep = true;
    }
    Ok(CopyReport {
        path: target.display().to_string(),
        bytes: before,
        digest: String::new(),
        remote_digest: None,
        warnings,
        files: tree.files.len() as u64,
        merged: merge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_listing_is_parsed_and_names_that_leave_the_folder_refused() {
        let (root, tree) = parse_listing(&lines(&[
            r"C:\data",
            r"D:a",
            r"D:a\b c",
            r"F:0:a\b c\empty",
            r"F:12:é ü.txt",
        ]))
        .unwrap();
        assert_eq!(root, r"C:\data");
        assert_eq!(
            tree.dirs,
            vec![vec!["a".to_string()], vec!["a".into(), "b c".into()]]
        );
        assert_eq!(tree.files.len(), 2);
        assert_eq!(tree.bytes(), 12);
        for bad in [
            r"F:1:..\x",
            r"D:a\..\..\x",
            r"F:1:C:\x",
            "F:x:a",
            "X:a",
            r"D:\abs",
            "F:1:a/b",
        ] {
            assert!(parse_listing(&lines(&[r"C:\d", bad])).is_err(), "{bad}");
        }
        assert!(parse_listing(&[]).is_err());
    }

    #[test]
    fn a_local_tree_lists_empty_folders_and_files() {
        let dir = std::env::temp_dir().join(format!("wsman-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/empty")).unwrap();
        std::fs::write(dir.join("a/f.txt"), b"abc").unwrap();
        std::fs::write(dir.join("z"), b"").unwrap();
        let mut warnings = Vec::new();
        let tree = walk_local(&dir, &mut warnings).unwrap();
        assert_eq!(
            tree.dirs,
            vec![vec!["a".to_string()], vec!["a".into(), "empty".into()]]
        );
        let mut files = tree.files.clone();
        files.sort();
        assert_eq!(
            files,
            vec![
                (vec!["a".to_string(), "f.txt".into()], 3),
                (vec!["z".to_string()], 0)
            ]
        );
        std::fs::write(dir.join("bad:name"), b"").unwrap();
        assert!(walk_local(&dir, &mut warnings).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_loops_and_dangling_links_skipped_with_a_warning() {
        use std::os::unix::fs::symlink;
        let base = std::env::temp_dir().join(format!("wsman-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (dir, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("o.txt"), b"12345").unwrap();
        std::fs::write(dir.join("a/f.txt"), b"abc").unwrap();
        symlink(outside.join("o.txt"), dir.join("file link")).unwrap();
        symlink(&outside, dir.join("folder link")).unwrap();
        symlink(&outside, dir.join("same folder again")).unwrap();
        symlink(&dir, dir.join("a/loop")).unwrap();
        symlink(base.join("nowhere"), dir.join("dangling")).unwrap();
        let mut warnings = Vec::new();
        let tree = walk_local(&dir, &mut warnings).unwrap();
        let n = |p: &str| p.split('/').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(tree.dirs, vec![n("a"), n("folder link")]);
        let mut files = tree.files.clone();
        files.sort();
        assert_eq!(
            files,
            vec![
                (n("a/f.txt"), 3),
                (n("file link"), 5),
                (n("folder link/o.txt"), 5)
            ]
        );
        warnings.sort();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("/a/loop (a link to a folder this copy already has"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("/dangling (a link to ") && warnings[1].contains("nowhere"),
            "{warnings:?}"
        );
        assert!(
            warnings[2].contains("/same folder again (a link to a folder this copy already has"),
            "{warnings:?}"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
