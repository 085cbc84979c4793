//! The README's own examples (`wsman invoke 'Get-Service WinRM'`,
//! `wsman invoke 'Get-Service | Out-String'`, `wsman --json invoke
//! 'Get-Process' | jq -c .`) and the system one-liners operators type
//! (`Get-CimInstance`, `Get-WmiObject`, `Where-Object`/`Sort-Object`
//! pipelines) through the `wsman` CLI, end to end against the test host
//! (NTLM, sealed; the host imitates Windows PowerShell 5.1's Get-Service,
//! Get-Process and CIM cmdlets over its WMI catalogue). The client's views
//! (client/src/format/views.rs) must print these objects as the host's own
//! formatter (`| Out-String`) does.
use integration_tests::cli::{ok, stderr, stdout};
use integration_tests::{Cli, TestHost};
use serde_json::Value;

const SERVICE_HEADER: &str = "Status   Name               DisplayName";
const PROCESS_HEADER: &str =
    "Handles  NPM(K)    PM(K)      WS(K)     CPU(s)     Id  SI ProcessName";

fn host() -> Option<(TestHost, Cli)> {
    let host = TestHost::start(&["--auth", "ntlm"])?;
    let cli = Cli::for_host_with(&host, "ntlm");
    Some((host, cli))
}

/// Every `--json` line parsed (what `jq -c .` would do), or a panic naming
/// the line that is not JSON.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The output objects of `--json` lines (PowerShell 5.1 also sends its
/// "Preparing modules for first use." progress record, on the progress
/// stream).
fn outputs(text: &str) -> Vec<Value> {
    json_lines(text)
        .into_iter()
        .filter(|l| l["stream"] != "progress")
        .inspect(|l| assert_eq!(l["stream"], "output", "{l}"))
        .map(|l| l["value"].clone())
        .collect()
}

/// The text lines of `invoke` output without the blank lines around tables.
fn body(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_get_service_winrm_prints_the_service_view() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&["invoke", "Get-Service WinRM"]));
    assert_eq!(
        body(&out),
        [
            SERVICE_HEADER,
            "------   ----               -----------",
            "Running  WinRM              Windows Remote Management (WS-Manag...",
        ],
        "{out}"
    );
}

#[test]
fn readme_get_service_out_string_lists_the_catalogue() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&["invoke", "Get-Service | Out-String"]));
    let lines = body(&out);
    assert_eq!(lines[0], SERVICE_HEADER, "{out}");
    // The 60 services of the host's WMI catalogue, the same ones `wsman
    // enumerate wmicimv2/Win32_Service` lists.
    assert_eq!(lines.len(), 2 + 60, "{out}");
    let enumerated = ok(&cli.run(&["enumerate", "wmicimv2/Win32_Service", "--json"]));
    for item in json_lines(&enumerated) {
        let svc = &item["Win32_Service"];
        let name = svc["Name"].as_str().unwrap();
        let state = svc["State"].as_str().unwrap();
        // The view's Name column is 18 wide: a longer name is cut with "...".
        let cut = if name.len() > 18 {
            format!("{}...", &name[..15])
        } else {
            name.to_string()
        };
        let row = format!("{state:<8} {cut:<18}");
        assert!(
            lines.iter().any(|l| l.starts_with(&row)),
            "{row} missing from {out}"
        );
    }
}

#[test]
fn readme_json_get_process_is_one_json_object_per_line() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&["--json", "invoke", "Get-Process"]));
    let lines = outputs(&out);
    assert!(lines.len() > 40, "{out}");
    let mut names = Vec::new();
    for p in &lines {
        let types = p["@types"].as_array().expect("type names");
        assert!(
            types[0]
                .as_str()
                .unwrap()
                .ends_with("System.Diagnostics.Process"),
            "{p}"
        );
        assert_eq!(p["Name"], p["ProcessName"], "{p}");
        assert_eq!(p["WS"], p["WorkingSet64"], "{p}");
        assert!(p["Id"].is_i64() && p["CPU"].is_f64(), "{p}");
        names.push(p["ProcessName"].as_str().unwrap().to_string());
    }
    for expected in ["Idle", "System", "lsass", "svchost", "wsmprovhost"] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
}

#[test]
fn get_process_prints_the_process_view() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&["invoke", "Get-Process -Id 4"]));
    let lines = body(&out);
    assert_eq!(lines[0], PROCESS_HEADER, "{out}");
    assert_eq!(
        lines[1],
        "-------  ------    -----      -----     ------     --  -- -----------"
    );
    assert_eq!(lines.len(), 3, "{out}");
    // Columns 7, 7, 8, 10, 10, 6, 3 wide, right-aligned; CPU(s) in "N".
    let row = &lines[2];
    assert!(row.ends_with("      4   0 System"), "{row}");
    let cpu = &row[36..46]; // after 7 + 7 + 8 + 10 and their separators
    assert!(
        cpu.trim().contains(',') && cpu.trim().split('.').nth(1).unwrap().len() == 2,
        "{row}"
    );
}

#[test]
fn invoke_prints_what_out_string_prints_on_the_host() {
    let Some((_host, cli)) = host() else {
        return;
    };
    // Each `invoke` opens its own session, in a wsmprovhost of its own (a
    // new process id): whole Get-Process lists are compared in one session.
    for script in [
        "Get-Service",
        "Get-Service W*",
        "Get-Process -Name svchost, System, Idle, lsass",
        // Enums in a default table: their names, aligned left.
        "Get-Service WinRM, BITS | Select-Object Name, Status, StartType",
    ] {
        let ours = ok(&cli.run(&["invoke", script]));
        let theirs = ok(&cli.run(&["invoke", &format!("{script} | Out-String")]));
        assert_eq!(body(&ours), body(&theirs), "{script}");
    }
    ok(&cli.run(&["session", "new", "--name", "views"]));
    for script in ["Get-Process", "Get-Process | Sort-Object CPU -Descending"] {
        let ours = ok(&cli.run(&["session", "invoke", "views", script]));
        let theirs = ok(&cli.run(&[
            "session",
            "invoke",
            "views",
            &format!("{script} | Out-String"),
        ]));
        assert!(body(&ours).len() > 40, "{ours}");
        assert_eq!(body(&ours), body(&theirs), "{script}");
    }
    ok(&cli.run(&["session", "remove", "views"]));
}

#[test]
fn pipelines_operators_type() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&[
        "--json",
        "invoke",
        "Get-Service | Where-Object Status -eq Running",
    ]));
    let running = outputs(&out);
    assert_eq!(running.len(), 40, "{out}");
    // ServiceControllerStatus.Running is 4 (an enum is its value in JSON).
    assert!(running.iter().all(|s| s["Status"] == 4), "{out}");

    let out = ok(&cli.run(&[
        "--json",
        "invoke",
        "Get-Process | Sort-Object WS -Descending | Select-Object -First 5",
    ]));
    let ws: Vec<i64> = outputs(&out)
        .iter()
        .map(|p| p["WS"].as_i64().unwrap())
        .collect();
    assert_eq!(ws.len(), 5, "{out}");
    assert!(ws.windows(2).all(|w| w[0] >= w[1]), "{ws:?}");
    let all = ok(&cli.run(&["--json", "invoke", "Get-Process"]));
    let max = outputs(&all)
        .iter()
        .map(|p| p["WS"].as_i64().unwrap())
        .max();
    assert_eq!(Some(ws[0]), max);

    let text = ok(&cli.run(&[
        "invoke",
        "Get-Process | Sort-Object WS -Descending | Select-Object -First 5",
    ]));
    assert_eq!(body(&text)[0], PROCESS_HEADER, "{text}");
    assert_eq!(body(&text).len(), 7, "{text}");
}

#[test]
fn cim_and_wmi_read_the_same_catalogue() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&["--json", "invoke", "Get-CimInstance Win32_OperatingSystem"]));
    let os = &outputs(&out)[0];
    assert_eq!(
        os["Caption"],
        "Microsoft Windows Server 2019 Standard Evaluation"
    );
    assert!(os["@types"][0]
        .as_str()
        .unwrap()
        .ends_with("CimInstance#root/cimv2/Win32_OperatingSystem"));
    let got = ok(&cli.run(&["get", "wmicimv2/Win32_OperatingSystem", "--json"]));
    assert_eq!(
        json_lines(&got)[0]["Win32_OperatingSystem"]["Caption"],
        os["Caption"]
    );

    let out = ok(&cli.run(&[
        "--json",
        "invoke",
        "Get-WmiObject Win32_Service -Filter \"Name='WinRM'\"",
    ]));
    let lines = outputs(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["Name"], "WinRM");
    assert_eq!(lines[0]["State"], "Running");
    assert_eq!(lines[0]["__CLASS"], "Win32_Service");
}

/// CIM instances print in DotNetTypes.format.ps1xml's views (tables), WMI
/// objects in their types.ps1xml DefaultDisplayPropertySet (a list of six),
/// as Windows PowerShell 5.1 prints them; and as the host's Out-String does.
#[test]
fn cim_and_wmi_objects_print_in_their_windows_views() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let out = ok(&cli.run(&["invoke", "Get-CimInstance Win32_OperatingSystem"]));
    assert_eq!(
        body(&out),
        [
            "SystemDirectory     Organization BuildNumber RegisteredUser SerialNumber            Version",
            "---------------     ------------ ----------- -------------- ------------            -------",
            "C:\\Windows\\system32              17763       Windows User   00429-70000-00000-AA000 10.0.17763",
        ],
        "{out}"
    );
    let out = ok(&cli.run(&["invoke", "Get-CimInstance Win32_Service"]));
    let lines = body(&out);
    assert_eq!(lines.len(), 62, "{out}");
    assert_eq!(
        lines[..5],
        [
            "ProcessId Name             StartMode State   Status ExitCode",
            "--------- ----             --------- -----   ------ --------",
            "400       AppIDSvc         Auto      Running OK     0",
            "404       Appinfo          Manual    Running OK     0",
            // Name is 16 wide; the view aligns no column right.
            "0         AudioEndpoint... Auto      Stopped OK     1077",
        ],
        "{out}"
    );
    let out = ok(&cli.run(&[
        "invoke",
        "Get-WmiObject Win32_Service -Filter \"Name='WinRM'\"",
    ]));
    let lines = body(&out);
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(lines[0], "ExitCode  : 0", "{out}");
    assert_eq!(lines[1], "Name      : WinRM", "{out}");
    assert!(lines[2].starts_with("ProcessId : "), "{out}");
    assert_eq!(
        lines[3..],
        ["StartMode : Auto", "State     : Running", "Status    : OK"],
        "{out}"
    );
    for script in [
        "Get-CimInstance Win32_OperatingSystem",
        "Get-CimInstance Win32_Service",
        "Get-CimInstance Win32_Service -Filter \"State = 'Stopped'\"",
        "Get-WmiObject Win32_OperatingSystem",
        "Get-WmiObject Win32_Service -Filter \"StartMode = 'Manual'\"",
    ] {
        let ours = ok(&cli.run(&["invoke", script]));
        let theirs = ok(&cli.run(&["invoke", &format!("{script} | Out-String")]));
        assert!(body(&ours).len() >= 3, "{ours}");
        assert_eq!(body(&ours), body(&theirs), "{script}");
    }
}

#[test]
fn missing_names_are_windows_errors() {
    let Some((_host, cli)) = host() else {
        return;
    };
    let o = cli.run(&["invoke", "Get-Service NoSuchSvc"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).trim().is_empty());
    let err = stderr(&o);
    assert!(
        err.contains("Cannot find any service with service name 'NoSuchSvc'.")
            && err.contains("NoServiceFoundForGivenName"),
        "{err}"
    );
    let o = cli.run(&["--json", "invoke", "Get-Process nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<Value> = json_lines(&stdout(&o))
        .into_iter()
        .filter(|l| l["stream"] != "progress")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["stream"], "error");
    assert_eq!(
        lines[0]["fqid"],
        "NoProcessFoundForGivenName,Microsoft.PowerShell.Commands.GetProcessCommand"
    );
    assert_eq!(lines[0]["category"], "ObjectNotFound");
}

/// The README's library lines: `s.invoke("$x; Get-Process")` streams the
/// value then the processes; `s.run_many(&["Get-Service", "Get-Process"])`
/// runs both at once, each its own objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_library_lines_get_services_and_processes() {
    use integration_tests::connection;
    use pssession::host::NullHost;
    use pssession::session::{PipelineEvent, PsSession, SessionOptions};
    use wsman::auth::Mechanism;

    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let opts = SessionOptions {
        max_runspaces: Some(2),
        ..Default::default()
    };
    let info = connection(&host, Mechanism::Ntlm);
    let mut s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();
    let type_of = |v: &psrp::clixml::Value| match v {
        psrp::clixml::Value::Object(o) => o
            .type_names
            .as_ref()
            .and_then(|t| t.first().cloned())
            .unwrap_or_default(),
        other => pssession::format::to_text(other),
    };
    s.run("$x = 42").await.unwrap();
    let mut p = s.invoke("$x; Get-Process").await.unwrap();
    let mut seen = Vec::new();
    while let Some(event) = p.next().await.unwrap() {
        if let PipelineEvent::Output(v) = event {
            seen.push(type_of(&v));
        }
    }
    assert_eq!(seen[0], "42");
    assert!(seen.len() > 40, "{seen:?}");
    assert!(seen[1..].iter().all(|t| t == "System.Diagnostics.Process"));

    let results = s.run_many(&["Get-Service", "Get-Process"]).await.unwrap();
    assert_eq!(results.len(), 2);
    let (_, services) = &results[0];
    let (_, processes) = &results[1];
    assert!(!services.had_errors() && !processes.had_errors());
    assert_eq!(services.output.len(), 60);
    assert!(services
        .output
        .iter()
        .all(|v| type_of(v) == "System.ServiceProcess.ServiceController"));
    assert!(processes
        .output
        .iter()
        .all(|v| type_of(v) == "System.Diagnostics.Process"));
    s.close().await.unwrap();
}
