//! `wsman invoke` of the one-liners users type prints what PowerShell
//! prints: operators with the left operand's type deciding
//! (about_Arithmetic_Operators, about_Comparison_Operators), and the
//! cmdlets users pipe into (ForEach-Object, Where-Object, Select-Object,
//! Sort-Object, Measure-Object), run end to end against the test host
//! (NTLM, sealed). A bad line is an error the user sees on stderr with a
//! non-zero exit, never a wrong answer.
use integration_tests::cli::{ok, stderr, stdout};
use integration_tests::{Cli, TestHost};

/// Two objects with a Name and a Length, as a directory listing has.
const OBJECTS: &str =
    "[pscustomobject]@{Name='a'; Length=5},[pscustomobject]@{Name='bb'; Length=20}";

#[test]
fn invoke_prints_what_powershell_prints_for_common_one_liners() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    let cases: Vec<(String, &str)> = vec![
        ("'a' + 'b'".into(), "ab\n"),
        ("1 + 2 * 3".into(), "7\n"),
        ("'a' + 1; 1 + '2'".into(), "a1\n3\n"),
        ("7 / 2".into(), "3.5\n"),
        ("$i = 4; \"x$($i * 2)y\"".into(), "x8y\n"),
        ("'A' -eq 'a'; 3 -gt 4 -or -not $false".into(), "True\nTrue\n"),
        ("1..3 | ForEach-Object { $_ * 2 }".into(), "2\n4\n6\n"),
        ("1..6 | ? { $_ % 2 -eq 0 } | % { $PSItem + 1 }".into(), "3\n5\n7\n"),
        ("3,1,2 | Sort-Object -Descending | Select-Object -First 2".into(), "3\n2\n"),
        (
            format!("{OBJECTS} | Where-Object {{ $_.Length -gt 10 }} | Select-Object -ExpandProperty Name"),
            "bb\n",
        ),
    ];
    for (script, expected) in &cases {
        let out = ok(&cli.run(&["invoke", script]));
        assert_eq!(out, *expected, "wsman invoke {script:?}");
    }
}

#[test]
fn invoke_shows_measure_object_as_powershell_lists_it() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    let out = ok(&cli.run(&[
        "invoke",
        "1..4 | Measure-Object -Sum -Average -Maximum -Minimum | Out-String",
    ]));
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    for line in [
        "Count    : 4",
        "Average  : 2.5",
        "Sum      : 10",
        "Maximum  : 4",
        "Minimum  : 1",
        "Property :",
    ] {
        assert!(lines.contains(&line), "{line:?} missing from {out:?}");
    }
}

#[test]
fn invoke_of_a_bad_one_liner_fails_with_powershells_message() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    for (script, message) in [
        ("1/0", "Attempted to divide by zero."),
        (
            "1..3 | Sort-Object -Bogus",
            "A parameter cannot be found that matches parameter name 'Bogus'.",
        ),
        ("1 + Get-Foo", "is not recognized as the name of a cmdlet"),
    ] {
        let out = cli.run(&["invoke", script]);
        assert!(!out.status.success(), "{script:?} exited 0");
        assert_eq!(stdout(&out), "", "{script:?} printed a value");
        assert!(
            stderr(&out).contains(message),
            "{script:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn invoke_filters_the_hosts_files_with_where_object() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let drive =
        std::path::Path::new(host.get("fs_root").expect("the host names its files")).join("C");
    std::fs::create_dir_all(&drive).unwrap();
    std::fs::write(drive.join("notes.txt"), "twenty bytes of text").unwrap();
    std::fs::write(drive.join("a.txt"), "x").unwrap();
    let cli = Cli::for_host_with(&host, "ntlm");
    let out = ok(&cli.run(&[
        "invoke",
        r"Get-ChildItem C:\ | Where-Object { $_.Length -gt 10 } | % Name",
    ]));
    assert_eq!(out, "notes.txt\n");
    // The view PowerShell shows files in (FileSystem.format.ps1xml),
    // formatted on the host, then by the client: the same lines.
    let out = ok(&cli.run(&["invoke", r"Get-ChildItem C:\ -File | Out-String"]));
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(lines.contains(&r"    Directory: C:\"), "{out:?}");
    assert!(
        lines.contains(&"Mode                LastWriteTime         Length Name"),
        "{out:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-a----") && l.ends_with("             20 notes.txt")),
        "{out:?}"
    );
    let client = ok(&cli.run(&["invoke", r"Get-ChildItem C:\ -File"]));
    assert_eq!(
        client.lines().collect::<Vec<_>>(),
        lines[..lines.len() - 1],
        "{client:?}"
    );
}
