//! `wsman invoke` of the one-liners that reach into .NET, end to end
//! against the test host (NTLM, sealed): numeric literals (`0x10`, `1KB`,
//! `1e20`, `5l`), type literals, casts and static members (`[int]"5"`,
//! `[math]::Round(2.567, 2)`, `[datetime]"2020-01-02"`), methods on values
//! (`$d.AddDays(1)`, `GetType()`), `Get-Date` and `$PSVersionTable`, with
//! what Windows PowerShell 5.1 answers. What PowerShell refuses fails with
//! PowerShell's own message and FullyQualifiedErrorId on stderr and exit
//! code 1, never a Python name. Objects other than strings and numbers are
//! checked through `--json`, so the assertions do not depend on how the
//! CLI lays out tables.
use integration_tests::cli::{ok, stderr, stdout};
use integration_tests::{Cli, TestHost};
use serde_json::Value;

#[test]
fn invoke_prints_what_powershell_prints_for_dotnet_one_liners() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    let cases = [
        ("0x10; 0xFFFFFFFF", "16\n-1\n"),
        (
            "1KB; 1MB; 1GB; 1TB",
            "1024\n1048576\n1073741824\n1099511627776\n",
        ),
        ("[int]\"5\" + 1; [int]2.5; [long]'12' * 2", "6\n2\n24\n"),
        ("[math]::Round(2.567, 2); [math]::Max(3, 7)", "2.57\n7\n"),
        ("[Environment]::MachineName", "TESTHOST\n"),
        ("$d = Get-Date; $d.GetType().FullName", "System.DateTime\n"),
        (
            "(Get-Date).Year -ge 2024; (Get-Date) -gt [datetime]'2020-01-01'",
            "True\nTrue\n",
        ),
        (
            "([datetime]'2020-01-02').AddDays(1).ToString('yyyy-MM-dd')",
            "2020-01-03\n",
        ),
        (
            "$d = [datetime]'2020-01-02 13:04:05'; \"$d\"; $d.AddMonths(1).ToString('D')",
            "01/02/2020 13:04:05\nSunday, February 2, 2020\n",
        ),
        (
            "Get-Date -Date 2021-03-04 -Format 'dd.MM.yyyy'",
            "04.03.2021\n",
        ),
        (
            "$PSVersionTable.PSVersion.ToString(); $PSVersionTable.PSEdition",
            "5.1.17763.1\nDesktop\n",
        ),
        ("'abc'.ToUpper(); 'a,b'.Split(',').Count", "ABC\n2\n"),
        (
            "'a,b,c'.Split(',')[-1]; [Environment]::OSVersion.Version.Build",
            "c\n17763\n",
        ),
        ("[int]::MaxValue + 1; 5l * 2", "2147483648\n10\n"),
        (
            "(New-TimeSpan -Hours 1 -Minutes 30).TotalMinutes;              (Measure-Command { Start-Sleep -Milliseconds 100 }).TotalMilliseconds -ge 100",
            "90\nTrue\n",
        ),
        (
            "[datetime]::ParseExact('02.01.2020', 'dd.MM.yyyy', $null).ToString('yyyy-MM-dd')",
            "2020-01-02\n",
        ),
        (
            "'{0:N2} MB' -f (1.5GB / 1MB); '{0} is {1}' -f 'x', 1",
            "1,536.00 MB\nx is 1\n",
        ),
    ];
    for (script, expected) in cases {
        let out = ok(&cli.run(&["invoke", script]));
        assert_eq!(out, expected, "wsman invoke {script:?}");
    }
}

/// The output values of `wsman --json invoke SCRIPT`.
fn json_values(cli: &Cli, script: &str) -> Vec<Value> {
    let out = cli.run(&["--json", "invoke", script]);
    let text = ok(&out);
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["stream"] == "output")
        .map(|v| v["value"].clone())
        .collect()
}

#[test]
fn invoke_json_carries_doubles_versions_and_datetimes() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    let values = json_values(
        &cli,
        "1e20; [math]::PI; 1.5KB; 5l; $PSVersionTable.PSVersion",
    );
    assert_eq!(values.len(), 5, "{values:?}");
    assert_eq!(values[0].as_f64(), Some(1e20));
    assert_eq!(values[1].as_f64(), Some(std::f64::consts::PI));
    assert_eq!(values[2].as_f64(), Some(1536.0));
    assert_eq!(values[3].as_i64(), Some(5));
    assert_eq!(values[4], Value::from("5.1.17763.1"));

    // A DateTime, not text made on the host: [datetime]'...' is Kind
    // Unspecified (no zone), Get-Date Kind Local on a host set to UTC.
    let values = json_values(&cli, "[datetime]'2020-01-02'; Get-Date");
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values[0].to_string().contains("2020-01-02T00:00:00"),
        "{values:?}"
    );
    let now = values[1].to_string();
    let stamp = now
        .split('"')
        .find(|s| s.len() >= 25 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T')
        .unwrap_or_else(|| panic!("no DateTime in {now}"));
    assert!(stamp.ends_with("+00:00"), "{stamp}");

    // $PSVersionTable as a table of its versions.
    let values = json_values(&cli, "$PSVersionTable");
    let text = values[0].to_string();
    for needle in [
        "PSVersion",
        "5.1.17763.1",
        "BuildVersion",
        "10.0.17763.1",
        "Desktop",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
}

#[test]
fn invoke_of_what_powershell_refuses_fails_with_its_error() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    for (script, message, fqid) in [
        (
            "'abc'.Foo()",
            "Method invocation failed because [System.String] does not contain a method named 'Foo'.",
            "MethodNotFound",
        ),
        (
            "$d = Get-Date; $d.Nope()",
            "Method invocation failed because [System.DateTime] does not contain a method named 'Nope'.",
            "MethodNotFound",
        ),
        ("[foo]'x'", "Unable to find type [foo].", "TypeNotFound"),
        (
            "[int]'abc'",
            "Cannot convert value \"abc\" to type \"System.Int32\".",
            "InvalidCastFromStringToInteger",
        ),
        (
            "[math]::Round()",
            "Cannot find an overload for \"Round\" and the argument count: \"0\".",
            "MethodCountCouldNotFindBest",
        ),
        (
            "$x.Foo()",
            "You cannot call a method on a null-valued expression.",
            "InvokeMethodOnNull",
        ),
    ] {
        let out = cli.run(&["invoke", script]);
        assert_eq!(out.status.code(), Some(1), "{script:?}");
        assert_eq!(stdout(&out), "", "{script:?} printed a value");
        let err = stderr(&out);
        assert!(err.contains(message), "{script:?}: {err}");
        assert!(err.contains(fqid), "{script:?}: {err}");
        assert!(
            !err.contains("[str]") && !err.contains("Python"),
            "{script:?}: {err}"
        );
    }
}

#[test]
fn invoke_shows_psversiontable_and_get_date_as_windows_formats_them() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    // Formatted on the host (Out-String), so the text is the host's, not
    // the CLI's table layout.
    let out = ok(&cli.run(&[
        "invoke",
        "$PSVersionTable | Out-String; $PSVersionTable.PSVersion | Out-String; \
         Get-Date -Date '2021-03-04 05:06:07' | Out-String",
    ]));
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    for line in [
        "Name                           Value",
        "PSVersion                      5.1.17763.1",
        "PSCompatibleVersions           {1.0, 2.0, 3.0, 4.0...}",
        "BuildVersion                   10.0.17763.1",
        "Major  Minor  Build  Revision",
        "5      1      17763  1",
        "Thursday, March 4, 2021 5:06:07 AM",
    ] {
        assert!(lines.contains(&line), "{line:?} missing from {out:?}");
    }
}
