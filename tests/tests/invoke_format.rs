//! `wsman invoke` lays out output objects as PowerShell's console does
//! (Out-Default of Windows PowerShell 5.1, `pssession::format::OutDefault`):
//! for each script X below, what the client prints for `invoke X` is
//! exactly what the test host's own Out-String (formatting.py, an
//! imitation of PowerShell's) gives for `invoke 'X | Out-String'`, each
//! side judged by the other; the expected forms are also spelled out, as
//! Windows shows them (tables, lists, the FileSystem and Dictionary views,
//! doubles of 15 digits, en-US dates). Run end to end against the test
//! host (NTLM, sealed), stdout a pipe: both sides at 120 columns.
use integration_tests::cli::{ok, stderr};
use integration_tests::{Cli, TestHost};

/// What `wsman invoke 'X | Out-String'` prints, as the lines the client
/// should print for X: CRLFs as line ends, without the line end `wsman`
/// adds after the one string.
fn out_string(cli: &Cli, script: &str) -> String {
    let text = ok(&cli.run(&["invoke", &format!("{script} | Out-String")]));
    let text = text.replace("\r\n", "\n");
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// Asserts the client prints for `script` what the host's Out-String
/// gives for it (`X | Out-String` pipes the last statement only: callers
/// give one statement), and returns it.
fn same_as_out_string(cli: &Cli, script: &str) -> String {
    let client = ok(&cli.run(&["invoke", script]));
    let host = out_string(cli, script);
    assert_eq!(
        client, host,
        "wsman invoke {script:?} differs from its | Out-String"
    );
    client
}

#[test]
fn objects_print_as_the_hosts_out_string_lays_them_out() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let drive =
        std::path::Path::new(host.get("fs_root").expect("the host names its files")).join("C");
    std::fs::create_dir_all(drive.join("dir").join("sub")).unwrap();
    std::fs::write(drive.join("dir").join("notes.txt"), "twenty bytes of text").unwrap();
    // The client in the host's zone (UTC): the two show the same clock.
    let cli = Cli::for_host_with(&host, "ntlm").env("TZ", "UTC");

    // Up to four properties: one table, numbers to the right.
    let out = same_as_out_string(
        &cli,
        "[pscustomobject]@{a=1;b='x'}, [pscustomobject]@{a=22;b='yy'}",
    );
    assert_eq!(out, "\n a b\n - -\n 1 x\n22 yy\n\n\n");

    // Five or more: lists, a blank line apart, doubles with 15 digits.
    let five = "[pscustomobject]@{Name='n'; Id=1; Ratio=10/3; Path=$null; Note='x'}";
    let out = same_as_out_string(&cli, &format!("{five}, {five}"));
    let one = "Name  : n\nId    : 1\nRatio : 3.33333333333333\nPath  :\nNote  : x\n";
    assert_eq!(out, format!("\n\n{one}\n{one}\n\n\n"));

    // Strings and numbers between objects are lines in their place, the
    // table going on after them (the host's evaluator cannot pipe such a
    // mix to Out-String: its formatter gives these lines for these objects
    // in test_formatting.py's test_the_first_object_decides_the_shape...).
    let script = "'top'; [pscustomobject]@{a=1}; 10 / 3; 'end'; [pscustomobject]@{a=2}";
    let out = ok(&cli.run(&["invoke", script]));
    assert_eq!(out, "top\n\na\n-\n1\n3.33333333333333\nend\n2\n\n\n");

    // Files: the FileSystem view, grouped by folder, at 120 columns.
    let out = same_as_out_string(&cli, r"Get-ChildItem C:\dir");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "",
            "",
            r"    Directory: C:\dir",
            "",
            "",
            "Mode                LastWriteTime         Length Name"
        ]
    );
    assert!(
        lines[7].starts_with("d-----") && lines[7].ends_with("                sub"),
        "{out}"
    );
    assert!(
        lines[8].starts_with("-a----") && lines[8].ends_with("             20 notes.txt"),
        "{out}"
    );
    // The date as the en-US console shows it (`1/15/2020  10:03 PM`).
    let when: Vec<&str> = lines[8][8..33].trim_start().split("  ").collect();
    assert_eq!(when.len(), 2, "{out}");
    assert_eq!(when[0].split('/').count(), 3, "{out}");
    assert!(
        when[1].ends_with(" AM") || when[1].ends_with(" PM"),
        "{out}"
    );

    // Environment variables: DictionaryEntry's view, Name 30 wide.
    let out = same_as_out_string(&cli, "Get-ChildItem Env:USERNAME");
    let user = host.get("user").expect("the host names its user");
    assert_eq!(
        out,
        format!(
            "\n{:<31}Value\n{:<31}-----\n{:<31}{user}\n\n\n",
            "Name", "----", "USERNAME"
        )
    );

    // Measure-Object's result (6 properties: a list), Select-Object's
    // objects (a table; a folder's empty Length), a cell with a line
    // break, a collection and an object in cells, booleans and numbers.
    for script in [
        "1..4 | Measure-Object -Sum -Average -Maximum -Minimum",
        r"Get-ChildItem C:\dir | Select-Object Name, Length",
        "[pscustomobject]@{t=\"a`nb\"; n=1}",
        "[pscustomobject]@{l=1,2,3,4,5,6; o=[pscustomobject]@{x=1}}",
        "[pscustomobject]@{b=$true; d=1.5; big=12345678901234567}",
    ] {
        same_as_out_string(&cli, script);
    }
    let out = same_as_out_string(&cli, "[pscustomobject]@{l=1,2,3,4,5,6; t=\"a`nb\"}");
    assert_eq!(out.lines().nth(3), Some("{1, 2, 3, 4...} a b"), "{out}");

    // A value wider than the width is cut with `...` at 120 columns.
    let wide = format!("[pscustomobject]@{{Id=7; Path='{}'}}", "x".repeat(200));
    let out = same_as_out_string(&cli, &wide);
    let row = out.lines().nth(3).unwrap_or_default();
    assert_eq!(row, format!(" 7 {}...", "x".repeat(120 - 3 - 3)), "{out}");
}

#[test]
fn fan_out_prefixes_every_line_of_a_table_with_its_host() {
    let start = || TestHost::start(&["--auth", "basic", "--allow-unencrypted"]);
    let (Some(a), Some(b)) = (start(), start()) else {
        return;
    };
    let cli = Cli::new()
        .auth("basic")
        .user("vagrant")
        .password(a.get("password").unwrap());
    let hosts = format!("{},{}", a.url(), b.url());
    let out = ok(&cli.run(&["-H", &hosts, "invoke", "[pscustomobject]@{a=1}; 'after'"]));
    for h in [a.url(), b.url()] {
        // Each host's table and line, in order, every line behind its prefix.
        let lines: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("[{h}] ")))
            .collect();
        // 'after' is a line in its place; the table ends with the output.
        assert_eq!(lines, ["", "a", "-", "1", "after", "", ""], "{h}:\n{out}");
    }
    assert_eq!(out.lines().count(), 14, "{out}");
}

#[test]
fn remote_errors_name_their_host_as_invoke_command_shows_them() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    let out = cli.run(&["invoke", r"Get-ChildItem C:\nope"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let fqid = lines
        .iter()
        .position(|l| l.starts_with("    + FullyQualifiedErrorId : PathNotFound"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        lines.get(fqid + 1),
        Some(&"    + PSComputerName        : 127.0.0.1"),
        "{err}"
    );
}

#[test]
fn a_table_row_is_shown_while_the_script_still_runs() {
    use std::io::BufRead;
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    // One row, then nothing for 5 s: PowerShell shows the table after
    // waiting 300 ms for more rows, not when the script ends.
    let mut child = cli.spawn(&["invoke", "[pscustomobject]@{a=1}; Start-Sleep 5; 'last'"]);
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stdout is text");
        let row = line == "1";
        seen.push(line);
        if row {
            break;
        }
    }
    let row_seen = std::time::Instant::now();
    let rest: Vec<String> = lines.map(|l| l.expect("stdout is text")).collect();
    let status = child.wait().expect("wsman exits");
    let before_end = row_seen.elapsed();
    assert!(status.success());
    assert_eq!(seen, ["", "a", "-", "1"], "{rest:?}");
    // Not a speed measurement: the row must not wait for the 5 s sleep
    // (nor for 'last').
    assert!(
        before_end > std::time::Duration::from_secs(2),
        "the row came {before_end:?} before wsman ended, not before the sleep"
    );
    assert_eq!(rest, ["last", "", ""]);
}

#[test]
fn rows_held_for_their_widths_are_not_lost_when_the_connection_is_cut() {
    use integration_tests::forwarder::{Fault, Forwarder};
    // Without robust connections a cut connection ends the command: the
    // row received just before (held for its table's widths) is printed.
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--no-robust"]) else {
        return;
    };
    let addr = host
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .expect("the host's address");
    let fwd = Forwarder::start(addr);
    let cli = Cli::for_host_with(&host, "ntlm").url(&fwd.url());
    // Request 5 is the Receive that brings the row (after the shell's
    // Create and first Receive, the Command, a Receive with the host's
    // progress record); request 6, the next Receive, is cut when sent, well
    // within the 300 ms the row waits for others (without the flush when
    // the printer is dropped, stdout stays empty).
    fwd.plan(6, Fault::DropRequest);
    let out = cli.run(&["invoke", "[pscustomobject]@{a=1}; Start-Sleep 3; 'never'"]);
    assert!(fwd.fired(), "the Receive after the row was not cut");
    assert!(!out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "\na\n-\n1\n\n\n", "{}", stderr(&out));
}

#[test]
fn session_invoke_and_receive_lay_out_objects_alike() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    ok(&cli.run(&["session", "new", "--name", "fmt"]));
    let script = "[pscustomobject]@{a=1;b='x'}, [pscustomobject]@{a=22;b='yy'}";
    let table = "\n a b\n - -\n 1 x\n22 yy\n\n\n";
    assert_eq!(ok(&cli.run(&["session", "invoke", "fmt", script])), table);
    // Received later: the same formatter, a new table for the new pipeline.
    ok(&cli.run(&["session", "invoke", "--disconnected", "fmt", script]));
    assert_eq!(ok(&cli.run(&["session", "receive", "fmt"])), table);
    let out = cli.run(&["session", "invoke", "fmt", r"Get-ChildItem C:\nope"]);
    assert!(
        stderr(&out).contains("\n    + PSComputerName        : 127.0.0.1"),
        "{}",
        stderr(&out)
    );
    ok(&cli.run(&["session", "remove", "fmt"]));
}

#[test]
fn dates_versions_and_long_list_values_show_as_the_hosts_out_string() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm").env("TZ", "UTC");
    // Get-Date: DateTime's view by its DisplayHint, framed by blank lines
    // (a date given without a zone: no conversion to the client's time).
    let when = "Get-Date -Date '2026-12-07 12:43:49'";
    let out = same_as_out_string(&cli, when);
    assert_eq!(out, "\nMonday, December 7, 2026 12:43:49 PM\n\n\n");
    let out = same_as_out_string(&cli, &format!("{when} -DisplayHint Date"));
    assert_eq!(out, "\nMonday, December 7, 2026\n\n\n");
    same_as_out_string(&cli, &format!("{when} -DisplayHint Time"));
    // A cast has no DisplayHint: the long date and time too.
    same_as_out_string(&cli, "[datetime]'2020-02-29 23:05:00'");

    // A Local DateTime (written with the host's offset, +00:00) is shown in
    // the client's local time, as PowerShell reads it back; the host's own
    // Out-String shows its clock.
    let local = "Get-Date -Year 2026 -Month 12 -Day 7 -Hour 12 -Minute 43 -Second 49";
    let india = Cli::for_host_with(&host, "ntlm").env("TZ", "XYZ-5:30");
    let out = ok(&india.run(&["invoke", local]));
    assert_eq!(out, "\nMonday, December 7, 2026 6:13:49 PM\n\n\n");
    let out = ok(&india.run(&["invoke", &format!("{local} | Out-String")]));
    assert_eq!(
        out,
        "\r\nMonday, December 7, 2026 12:43:49 PM\r\n\r\n\r\n\n"
    );
    // Without a zone (`-Date` text): the clock as written.
    let out = ok(&india.run(&["invoke", when]));
    assert_eq!(out, "\nMonday, December 7, 2026 12:43:49 PM\n\n\n");

    // System.Version's view.
    let out = same_as_out_string(&cli, "$PSVersionTable.PSVersion");
    assert_eq!(
        out,
        "\nMajor  Minor  Build  Revision\n-----  -----  -----  --------\n\
         5      1      17763  1\n\n\n"
    );

    // A list value longer than the width is word-wrapped under its column.
    let words = vec!["word"; 40].join(" ");
    let long = format!("[pscustomobject]@{{a=1; b=2; c=3; d=4; Text='{words}'}}");
    let out = same_as_out_string(&cli, &long);
    let text: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("Text")).collect();
    assert_eq!(
        text[0],
        format!("Text : {}", vec!["word"; 22].join(" ")),
        "{out}"
    );
    assert_eq!(
        text[1],
        format!("       {}", vec!["word"; 18].join(" ")),
        "{out}"
    );
}

#[test]
fn get_history_shows_in_the_history_view() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    // Lines typed in `enter` (Enter-PSSession) go into the history.
    let out = cli.run_stdin(&["enter"], "'one'\n1 + 1\nGet-History\nexit\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("\n  Id CommandLine\n  -- -----------\n   1 'one'\n   2 1 + 1\n\n\n"),
        "{stdout}"
    );
    // `session invoke` is Invoke-Command -Session: its pipelines are not
    // added to the history (AddToHistory unset), so Get-History is empty.
    ok(&cli.run(&["session", "new", "--name", "hist"]));
    ok(&cli.run(&["session", "invoke", "hist", "'one'"]));
    let out = ok(&cli.run(&["session", "invoke", "hist", "Get-History"]));
    ok(&cli.run(&["session", "remove", "hist"]));
    assert_eq!(out, "");
}
