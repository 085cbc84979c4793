//! The PowerShell scripts a copy runs on the host (Windows PowerShell 5.1
//! and later): each begins with a `# wsman-copy: NAME` line, a comment to
//! PowerShell, by which the project's test host knows them
//! (fixtures/testhost/testhost/copy_scripts.py).
//!
//! A file to the host is written to `DEST.wsman-partial` and moved over
//! DEST once its digest matches; a folder to the host is built in
//! `DEST.wsman-partial` and renamed to DEST once every file is there, or,
//! when DEST is an existing folder, merged into it file by file.
//! [`ABORT`] removes either after a failure.

/// Appended to a destination's name while the copy is written to it
/// (`DEST.wsman-partial`), on either side.
pub const PARTIAL_SUFFIX: &str = ".wsman-partial";

/// Receives a file. Arguments: destination, whether this pipeline
/// continues one the last left open, the file's name (the target is
/// DEST\NAME when DEST is an existing folder, as Copy-Item does); input: base64 chunks, then
/// `digest:HEX` in the last pipeline. Outputs the target's full path at
/// once (the host accepted the destination), then, after the digest,
/// the path and the digest again.
pub fn receive(digest: &str) -> String {
    format!(
        r#"# wsman-copy: receive
param([string]$Destination, [bool]$Continue, [string]$Name)
begin {{
    $ErrorActionPreference = 'Stop'
    if ($Continue) {{
        $copy = $global:WsmanCopyInProgress
        if ($null -eq $copy) {{
            throw "the first part of the copy to '$Destination' is no longer on the host"
        }}
    }} else {{
        $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Destination)
        if ($Name -and [System.IO.Directory]::Exists($target)) {{
            $target = [System.IO.Path]::Combine($target, $Name)
        }}
        if ([System.IO.Directory]::Exists($target)) {{
            throw "'$target' is a directory: give the path of the file to write"
        }}
        $folder = [System.IO.Path]::GetDirectoryName($target)
        if ($folder -and -not [System.IO.Directory]::Exists($folder)) {{
            throw "the folder '$folder' does not exist"
        }}
        $partial = $target + '{PARTIAL_SUFFIX}'
        $copy = @{{
            Target = $target
            Partial = $partial
            Algorithm = {digest}
            File = New-Object -TypeName System.IO.FileStream -ArgumentList $partial, 'Create', 'Write', 'None'
        }}
        $global:WsmanCopyInProgress = $copy
    }}
    $expected = $null
    $copy.Target
}}
process {{
    try {{
        if ($_.StartsWith('digest:')) {{
            $expected = $_.Substring(7)
        }} else {{
            $chunk = [System.Convert]::FromBase64String($_)
            [void]$copy.Algorithm.TransformBlock($chunk, 0, $chunk.Length, $null, 0)
            $copy.File.Write($chunk, 0, $chunk.Length)
        }}
    }} catch {{
        $global:WsmanCopyInProgress = $null
        $copy.File.Dispose()
        [System.IO.File]::Delete($copy.Partial)
        throw
    }}
}}
end {{
    if ($null -eq $expected) {{
        # More follows in the next pipeline.
        return
    }}
    $global:WsmanCopyInProgress = $null
    $copy.File.Dispose()
    $target = $copy.Target
    try {{
        $algorithm = $copy.Algorithm
        [void]$algorithm.TransformFinalBlock((New-Object -TypeName byte[] -ArgumentList 0), 0, 0)
        $actual = ([System.BitConverter]::ToString($algorithm.Hash) -replace '-', '').ToLowerInvariant()
        if ($actual -ne $expected) {{
            throw "the file written to '$target' does not match the one sent (digest $actual here, $expected there)"
        }}
        if ([System.IO.File]::Exists($target)) {{ [System.IO.File]::Delete($target) }}
        [System.IO.File]::Move($copy.Partial, $target)
        $target
        $actual
    }} finally {{
        if ([System.IO.File]::Exists($copy.Partial)) {{ [System.IO.File]::Delete($copy.Partial) }}
    }}
}}"#
    )
}

/// Sends a file. Arguments: source path and chunk size; output: the
/// length, base64 chunks, the digest.
pub fn send(digest: &str) -> String {
    format!(
        r#"# wsman-copy: send
param([string]$Source, [int]$ChunkSize)
$ErrorActionPreference = 'Stop'
$path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Source)
if ([System.IO.Directory]::Exists($path)) {{
    throw "'$path' is a directory, not a file"
}}
if (-not [System.IO.File]::Exists($path)) {{
    throw "'$path' does not exist"
}}
$algorithm = {digest}
$file = New-Object -TypeName System.IO.FileStream -ArgumentList $path, 'Open', 'Read', 'ReadWrite'
try {{
    [long]$file.Length
    $buffer = New-Object -TypeName byte[] -ArgumentList $ChunkSize
    while (($read = $file.Read($buffer, 0, $buffer.Length)) -gt 0) {{
        [void]$algorithm.TransformBlock($buffer, 0, $read, $null, 0)
        [System.Convert]::ToBase64String($buffer, 0, $read)
    }}
    [void]$algorithm.TransformFinalBlock($buffer, 0, 0)
}} finally {{
    $file.Dispose()
}}
([System.BitConverter]::ToString($algorithm.Hash) -replace '-', '').ToLowerInvariant()"#
    )
}

/// Lists a folder. Argument: the folder; output: its full path, then
/// `D:REL` for each folder and `F:LENGTH:REL` for each file in it, at any
/// depth, REL relative to it with `\` between names.
pub const LIST: &str = r#"# wsman-copy: list
param([string]$Source)
$ErrorActionPreference = 'Stop'
$root = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Source).TrimEnd('\')
if (-not [System.IO.Directory]::Exists($root)) {
    if ([System.IO.File]::Exists($root)) { throw "'$root' is a file: copy it without -r" }
    throw "'$root' does not exist"
}
$root
$info = New-Object -TypeName System.IO.DirectoryInfo -ArgumentList $root
foreach ($entry in $info.EnumerateFileSystemInfos('*', [System.IO.SearchOption]::AllDirectories)) {
    $rel = $entry.FullName.Substring($root.Length + 1)
    if ($entry -is [System.IO.DirectoryInfo]) { "D:$rel" } else { "F:$($entry.Length):$rel" }
}"#;

/// Makes the staging folder of a folder copied to the host. Arguments:
/// destination, the folder's name (the target is DEST\NAME when DEST is
/// an existing folder, else DEST); input: `D:REL` for each sub-folder
/// (made in the staging folder) and `F:REL` for each file, relative;
/// output: the staging folder, the target, and `new` or `merge`.
///
/// A target that is an existing folder is merged into, as Copy-Item
/// -Recurse does: its files that the copy also has are replaced, others
/// added, nothing removed. Before anything is sent, each input is checked
/// against what is there: a file where the copy has a folder (or the
/// reverse) is refused, and so is a read-only file the copy would replace:
/// Copy-Item writes an error for one unless -Force is given
/// (CmdletProvider.Force: "if the destination is read-only ... if force is
/// false, the provider should write an error"), and this copy has no
/// -Force; the user clears the attribute (`attrib -r`) first. A refused
/// input removes the staging folder before the script fails.
pub const PREPARE: &str = r#"# wsman-copy: prepare
param([string]$Destination, [string]$Name)
begin {
    $ErrorActionPreference = 'Stop'
    $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Destination).TrimEnd('\')
    if ([System.IO.Directory]::Exists($target)) { $target = [System.IO.Path]::Combine($target, $Name) }
    if ([System.IO.File]::Exists($target)) {
        throw "'$target' is a file: a folder cannot be copied over it"
    }
    $merge = [System.IO.Directory]::Exists($target)
    $parent = [System.IO.Path]::GetDirectoryName($target)
    if ($parent -and -not [System.IO.Directory]::Exists($parent)) {
        throw "the folder '$parent' does not exist"
    }
    $stage = $target + '.wsman-partial'
    if ([System.IO.Directory]::Exists($stage)) { [System.IO.Directory]::Delete($stage, $true) }
    [void][System.IO.Directory]::CreateDirectory($stage)
    $stage
    $target
    if ($merge) { 'merge' } else { 'new' }
}
process {
    try {
        $rel = $_.Substring(2)
        $there = [System.IO.Path]::Combine($target, $rel)
        if ($_.StartsWith('D:')) {
            if ($merge -and [System.IO.File]::Exists($there)) {
                throw "'$there' is a file, and the copy has a folder of that name"
            }
            [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::Combine($stage, $rel))
        } elseif ($merge) {
            if ([System.IO.Directory]::Exists($there)) {
                throw "'$there' is a folder, and the copy has a file of that name"
            }
            if ([System.IO.File]::Exists($there) -and
                ([System.IO.File]::GetAttributes($there) -band [System.IO.FileAttributes]::ReadOnly)) {
                throw "'$there' is read-only: it is not replaced (clear the attribute first: attrib -r)"
            }
        }
    } catch {
        # The client knows only DEST, not DEST\NAME: the staging folder goes here.
        [System.IO.Directory]::Delete($stage, $true)
        throw
    }
}"#;

/// Puts the staging folder in place. Arguments: staging folder, target;
/// output: the target. A target that does not exist is the staging folder
/// renamed; an existing folder is merged into ([`PREPARE`]): each file
/// moved over its namesake (File.Replace, one rename on NTFS: never a
/// half-written file under its name) or beside the others, folders made,
/// then the emptied staging folder removed. A failure part-way says how
/// many files were already moved in (they stay); [`ABORT`] then removes
/// the rest of the staging folder.
pub const COMMIT: &str = r#"# wsman-copy: commit
param([string]$Stage, [string]$Target)
$ErrorActionPreference = 'Stop'
if ([System.IO.File]::Exists($Target)) {
    throw "'$Target' is a file: a folder cannot be copied over it"
}
if (-not [System.IO.Directory]::Exists($Target)) {
    [System.IO.Directory]::Move($Stage, $Target)
    $Target
    return
}
$info = New-Object -TypeName System.IO.DirectoryInfo -ArgumentList $Stage
$moved = 0
try {
    foreach ($dir in $info.GetDirectories('*', [System.IO.SearchOption]::AllDirectories)) {
        [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::Combine($Target, $dir.FullName.Substring($Stage.Length + 1)))
    }
    foreach ($file in $info.GetFiles('*', [System.IO.SearchOption]::AllDirectories)) {
        $there = [System.IO.Path]::Combine($Target, $file.FullName.Substring($Stage.Length + 1))
        if ([System.IO.File]::Exists($there)) {
            [System.IO.File]::Replace($file.FullName, $there, $null)
        } else {
            [System.IO.File]::Move($file.FullName, $there)
        }
        $moved++
    }
} catch {
    throw "$($_.Exception.Message) ($moved files were already moved into '$Target' and stay there; the rest of the copy is removed)"
}
[System.IO.Directory]::Delete($Stage, $true)
$Target"#;

/// Removes what a failed copy left: the file kept open between
/// pipelines, and the partial file or staging folder given.
pub const ABORT: &str = r#"# wsman-copy: abort
param([string]$Partial)
$ErrorActionPreference = 'Stop'
$copy = $global:WsmanCopyInProgress
$global:WsmanCopyInProgress = $null
if ($null -ne $copy) { $copy.File.Dispose() }
$path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Partial)
if (-not $path.EndsWith('.wsman-partial')) { throw "'$path' is not a partial copy" }
if ([System.IO.Directory]::Exists($path)) { [System.IO.Directory]::Delete($path, $true) }
elseif ([System.IO.File]::Exists($path)) { [System.IO.File]::Delete($path) }"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_balanced_tagged_and_create_the_digest_asked_for() {
        let d = "[System.Security.Cryptography.SHA256]::Create()";
        let all = [
            receive(d),
            send(d),
            LIST.into(),
            PREPARE.into(),
            COMMIT.into(),
            ABORT.into(),
        ];
        for script in &all {
            let count = |c| script.chars().filter(|x| *x == c).count();
            assert_eq!(count('{'), count('}'), "{script}");
            assert_eq!(count('('), count(')'), "{script}");
            assert!(!script.contains("{{") && !script.contains("}}"), "{script}");
            assert!(script.starts_with("# wsman-copy: "), "{script}");
        }
        for script in &all[..2] {
            assert_eq!(script.matches(d).count(), 1, "{script}");
        }
        assert!(receive("X").contains(&format!("$target + '{PARTIAL_SUFFIX}'")));
        assert!(PREPARE.contains(&format!("$target + '{PARTIAL_SUFFIX}'")));
        assert!(ABORT.contains(&format!("EndsWith('{PARTIAL_SUFFIX}')")));
    }
}
