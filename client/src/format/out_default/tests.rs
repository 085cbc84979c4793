//! The layouts, compared with what Windows PowerShell 5.1 prints for the
//! same objects (the forms in the module docs and the test host's
//! formatting.py).
use std::sync::Arc;

use psrp::clixml::{Content, PsObject, Value};

use super::{OutDefault, TABLE_SAMPLE};

const CUSTOM: &str = "System.Management.Automation.PSCustomObject";

fn object(type_name: &str, props: &[(&str, Value)]) -> Value {
    Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec![
            type_name.to_string(),
            "System.Object".into(),
        ])),
        extended: props
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
        ..Default::default()
    }))
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// What Out-Default prints for `values` at `width`, each line ended by `\n`.
fn shown(values: &[Value], width: usize) -> String {
    let mut out = String::new();
    let mut f = OutDefault::new(width);
    let mut emit = |t: &str| {
        out.push_str(t);
        out.push('\n');
    };
    for v in values {
        f.add(v, &mut emit);
    }
    f.end(&mut emit);
    out
}

#[test]
fn small_objects_share_one_table_sized_from_their_cells() {
    let out = shown(
        &[
            object(CUSTOM, &[("a", Value::I32(1)), ("b", s("x"))]),
            object(CUSTOM, &[("a", Value::I32(20)), ("b", s("yyyy"))]),
        ],
        120,
    );
    // Numbers to the right (header and dashes too), text to the left, no
    // trailing spaces, two blank lines after the table.
    assert_eq!(out, "\n a b\n - -\n 1 x\n20 yyyy\n\n\n");
}

#[test]
fn objects_of_five_properties_are_lists_a_blank_line_apart() {
    let props = |n: i32| {
        object(
            CUSTOM,
            &[
                ("Name", s("pwsh")),
                ("Id", Value::I32(n)),
                ("CPU", Value::F64(10.0 / 3.0)),
                ("Path", Value::Null),
                (
                    "StartTime",
                    Value::DateTime("2026-12-07T13:05:09.1234567".into()),
                ),
            ],
        )
    };
    let out = shown(&[props(1), props(2)], 120);
    assert_eq!(
        out,
        "\n\nName      : pwsh\nId        : 1\nCPU       : 3.33333333333333\nPath      :\n\
         StartTime : 12/7/2026 1:05:09 PM\n\
         \nName      : pwsh\nId        : 2\nCPU       : 3.33333333333333\nPath      :\n\
         StartTime : 12/7/2026 1:05:09 PM\n\n\n\n"
    );
}

#[test]
fn later_objects_of_the_type_keep_the_first_ones_columns() {
    let out = shown(
        &[
            object(CUSTOM, &[("a", Value::I32(1))]),
            object(CUSTOM, &[("b", Value::I32(2))]),
        ],
        120,
    );
    assert_eq!(out, "\na\n-\n1\n\n\n\n");
}

#[test]
fn values_between_objects_are_lines_in_their_place_in_the_table() {
    // Written out of band: the table goes on after them, without a new header.
    let out = shown(
        &[
            s("first"),
            object(CUSTOM, &[("a", Value::I32(1))]),
            s("text"),
            Value::F64(0.1 + 0.2),
            Value::Null,
            Value::Bool(true),
            object(CUSTOM, &[("a", Value::I32(2))]),
        ],
        120,
    );
    assert_eq!(out, "first\n\na\n-\n1\ntext\n0.3\nTrue\n2\n\n\n");
}

#[test]
fn the_first_object_decides_the_shape_for_the_whole_stream() {
    let five = |t: &str| {
        object(
            t,
            &[
                ("a", Value::I32(3)),
                ("b", Value::I32(4)),
                ("c", Value::I32(5)),
                ("d", Value::I32(6)),
                ("e", Value::I32(7)),
            ],
        )
    };
    // A table without a view takes objects of any type and size in its
    // columns (Select-Object's objects after others: blank rows).
    let out = shown(
        &[
            object(CUSTOM, &[("a", Value::I32(1))]),
            object("Other.Type", &[("b", Value::I32(2))]),
            five("Third.Type"),
        ],
        120,
    );
    assert_eq!(out, "\na\n-\n1\n\n3\n\n\n");
    // A list takes small objects as lists.
    let out = shown(
        &[five(CUSTOM), object("Other.Type", &[("x", Value::I32(1))])],
        120,
    );
    assert_eq!(
        out,
        "\n\na : 3\nb : 4\nc : 5\nd : 6\ne : 7\n\nx : 1\n\n\n\n"
    );
    // A view's table shows another type out of band, as a list.
    let out = shown(
        &[
            item("FileInfo", "a.txt", Some(1), "C:\\d"),
            object(CUSTOM, &[("x", Value::I32(1))]),
            item("FileInfo", "b.txt", Some(2), "C:\\d"),
        ],
        120,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[7].ends_with(" a.txt"), "{out}");
    assert_eq!(lines[8..11], ["", "x : 1", ""], "{out}");
    assert!(lines[11].ends_with(" b.txt"), "{out}");
    assert_eq!(lines.len(), 14, "{out}");
}

#[test]
fn widths_come_from_the_first_rows_and_later_wider_cells_are_cut() {
    let mut values: Vec<Value> = (0..TABLE_SAMPLE)
        .map(|i| {
            object(
                CUSTOM,
                &[("Name", s(&format!("n{i}"))), ("Id", Value::I32(1))],
            )
        })
        .collect();
    values.push(object(
        CUSTOM,
        &[("Name", s("a-much-longer-name")), ("Id", Value::I32(12345))],
    ));
    let out = shown(&values, 120);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Name Id");
    assert_eq!(lines[2], "---- --");
    assert_eq!(lines[3], "n0    1");
    // The 33rd row came after the widths were fixed: cut, with `...`
    // where the column has room for it.
    assert_eq!(lines[TABLE_SAMPLE + 3], "a... 12");
}

#[test]
fn rows_are_written_once_the_sample_is_full_not_held_to_the_end() {
    let mut f = OutDefault::new(120);
    let mut lines = 0;
    for i in 0..TABLE_SAMPLE {
        f.add(&object(CUSTOM, &[("n", Value::I32(i as i32))]), &mut |t| {
            lines += t.split('\n').count()
        });
    }
    // Header (blank, labels, dashes) and every row, before the stream ends.
    assert_eq!(lines, 3 + TABLE_SAMPLE);
    assert!(f.held_since().is_none());
    f.add(&object(CUSTOM, &[("n", Value::I32(7))]), &mut |_| {});
    assert!(
        f.held_since().is_none(),
        "a row after the sample is not held"
    );
}

#[test]
fn released_rows_fix_the_widths_before_the_sample_is_full() {
    let mut f = OutDefault::new(120);
    let mut out = Vec::new();
    f.add(&object(CUSTOM, &[("n", Value::I32(1))]), &mut |t| {
        out.push(t.to_string())
    });
    assert!(out.is_empty() && f.held_since().is_some());
    f.release(&mut |t| out.push(t.to_string()));
    assert_eq!(out.join("\n"), "\nn\n-\n1");
    assert!(f.held_since().is_none());
}

#[test]
fn a_table_wider_than_the_console_cuts_one_column_and_leaves_out_the_rest() {
    let out = shown(
        &[object(
            CUSTOM,
            &[
                ("Path", s(&"x".repeat(30))),
                ("Id", Value::I32(7)),
                ("More", s("m")),
            ],
        )],
        20,
    );
    assert_eq!(out, "\nPath\n----\nxxxxxxxxxxxxxxxxx...\n\n\n");
    let out = shown(
        &[object(
            CUSTOM,
            &[("Id", Value::I32(7)), ("Path", s(&"x".repeat(30)))],
        )],
        20,
    );
    assert_eq!(out, "\nId Path\n-- ----\n 7 xxxxxxxxxxxxxx...\n\n\n");
}

#[test]
fn text_with_line_breaks_stays_on_its_row_in_a_table_and_wraps_in_a_list() {
    let out = shown(&[object(CUSTOM, &[("a", s("one\r\ntwo"))])], 120);
    assert_eq!(out, "\na\n-\none two\n\n\n");
    let five: Vec<(&str, Value)> = vec![
        ("Text", s("one\ntwo")),
        ("Long", s(&"y".repeat(25))),
        ("c", Value::I32(3)),
        ("d", Value::I32(4)),
        ("e", Value::I32(5)),
    ];
    let out = shown(&[object(CUSTOM, &five)], 20);
    // Lines after the first and the rest of a long value go under the value.
    assert_eq!(
        out,
        "\n\nText : one\n       two\nLong : yyyyyyyyyyyyy\n       yyyyyyyyyyyy\n\
         c    : 3\nd    : 4\ne    : 5\n\n\n\n"
    );
}

#[test]
fn cells_show_collections_and_objects_as_powershell_does() {
    let list = Value::Object(Box::new(PsObject {
        content: Content::List((1..=6).map(Value::I32).collect()),
        ..Default::default()
    }));
    let inner = object(CUSTOM, &[("x", Value::I32(1)), ("y", s("z"))]);
    let out = shown(&[object(CUSTOM, &[("List", list), ("Obj", inner)])], 120);
    assert_eq!(
        out,
        "\nList            Obj\n----            ---\n{1, 2, 3, 4...} @{x=1; y=z}\n\n\n"
    );
}

/// A file or folder as Get-ChildItem returns it over PSRP.
fn item(kind: &str, name: &str, length: Option<i64>, parent: &str) -> Value {
    object(
        &format!("Deserialized.System.IO.{kind}"),
        &[
            (
                "PSParentPath",
                s(&format!("Microsoft.PowerShell.Core\\FileSystem::{parent}")),
            ),
            (
                "Mode",
                s(if kind == "DirectoryInfo" {
                    "d-----"
                } else {
                    "-a----"
                }),
            ),
            ("Name", s(name)),
            ("Length", length.map_or(Value::Null, Value::I64)),
            (
                "LastWriteTime",
                Value::DateTime("2020-01-15T22:03:00.5".into()),
            ),
            ("Attributes", s("Archive")),
        ],
    )
}

#[test]
fn files_and_folders_show_in_the_file_system_view_grouped_by_folder() {
    let out = shown(
        &[
            item("DirectoryInfo", "sub", None, "C:\\dir"),
            item("FileInfo", "notes.txt", Some(20), "C:\\dir"),
            item("FileInfo", "deep.txt", Some(1234567), "C:\\dir\\sub"),
        ],
        120,
    );
    assert_eq!(
        out,
        "\n\n    Directory: C:\\dir\n\n\n\
         Mode                LastWriteTime         Length Name\n\
         ----                -------------         ------ ----\n\
         d-----        1/15/2020  10:03 PM                sub\n\
         -a----        1/15/2020  10:03 PM             20 notes.txt\n\
         \n\n    Directory: C:\\dir\\sub\n\n\n\
         Mode                LastWriteTime         Length Name\n\
         ----                -------------         ------ ----\n\
         -a----        1/15/2020  10:03 PM        1234567 deep.txt\n\n\n"
    );
}

#[test]
fn a_file_without_its_parent_path_is_grouped_by_its_full_name() {
    let file = Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec!["System.IO.FileInfo".to_string()])),
        to_string: Some("C:\\a.txt".into()),
        extended: vec![
            ("Mode".into(), s("-a----")),
            (
                "LastWriteTime".into(),
                Value::DateTime("2026-03-04T09:08:07".into()),
            ),
            ("Length".into(), Value::I64(1)),
            ("Name".into(), s("a.txt")),
        ],
        ..Default::default()
    }));
    let out = shown(&[file], 120);
    assert!(
        out.starts_with("\n\n    Directory: C:\\\n\n\nMode "),
        "{out}"
    );
    assert!(
        out.contains("\n-a----         3/4/2026   9:08 AM              1 a.txt\n"),
        "{out}"
    );
}

#[test]
fn a_hashtable_shows_in_the_dictionary_view() {
    let table = Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec!["System.Collections.Hashtable".to_string()])),
        content: Content::Dictionary(vec![(s("a"), Value::I32(1)), (s("bb"), s("x"))]),
        ..Default::default()
    }));
    let out = shown(&[table], 120);
    let name = format!("{:<31}", "Name");
    assert_eq!(
        out,
        format!(
            "\n{name}Value\n{:<31}-----\n{:<31}1\n{:<31}x\n\n\n",
            "----", "a", "bb"
        )
    );
}

#[test]
fn a_collection_is_enumerated_into_one_table() {
    let list = Value::Object(Box::new(PsObject {
        content: Content::List(vec![
            object(CUSTOM, &[("a", Value::I32(1))]),
            object(CUSTOM, &[("a", Value::I32(2))]),
        ]),
        ..Default::default()
    }));
    assert_eq!(shown(&[list], 120), "\na\n-\n1\n2\n\n\n");
}

/// The text of the stdout streams of a recorded WinRS Receive.
fn recorded_stdout(path: &str) -> String {
    use base64::Engine;
    let xml = std::fs::read_to_string(path).expect("the recording is in fixtures/recordings");
    let mut out = Vec::new();
    for part in xml.split("<rsp:Stream Name=\"stdout\"").skip(1) {
        let body = part.split_once('>').map_or("", |(_, b)| b);
        let b64 = body.split('<').next().unwrap_or("").trim();
        out.extend(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        );
    }
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

#[test]
fn a_folder_listing_matches_what_windows_printed_for_the_same_items() {
    // `dir` on Windows 7 (WinRb/WinRM's recording, PowerShell 2.0's
    // FileSystem view): the group header, the Mode and LastWriteTime
    // columns and the name are as 5.1 prints them; 5.1 made Length 14 wide
    // (was 10) and trims the lines' trailing spaces.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/recordings/winrb_winrm/legacy_2013_aef7dec/spec/mock/read_output_streams.xml"
    );
    let windows = recorded_stdout(path);
    let windows: Vec<&str> = windows.lines().collect();
    let rows: Vec<&str> = windows[7..]
        .iter()
        .copied()
        .filter(|l| !l.is_empty())
        .collect();
    let items: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mode = row[..5].trim();
            let (date, time) = row[13..33].trim().split_once("  ").unwrap();
            let mut d = date.split('/').map(|n| n.parse::<u32>().unwrap());
            let (month, day, year) = (d.next().unwrap(), d.next().unwrap(), d.next().unwrap());
            let (clock, half) = time.trim().split_once(' ').unwrap();
            let (h, m) = clock.split_once(':').unwrap();
            let h: u32 = h.parse::<u32>().unwrap() % 12 + if half == "PM" { 12 } else { 0 };
            let when = format!("{year}-{month:02}-{day:02}T{h:02}:{m}:00");
            object(
                "System.IO.DirectoryInfo",
                &[
                    (
                        "PSParentPath",
                        s("Microsoft.PowerShell.Core\\FileSystem::C:\\Users\\vagrant"),
                    ),
                    ("Mode", s(mode)),
                    ("LastWriteTime", Value::DateTime(when)),
                    ("Length", Value::Null),
                    ("Name", s(row[45..].trim_end())),
                ],
            )
        })
        .collect();
    assert_eq!(items.len(), 8, "{windows:?}");
    let ours = shown(&items, 80);
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours[..5], windows[..5]);
    assert_eq!(ours[5][..33], windows[5][..33]);
    assert_eq!(ours.len(), 7 + rows.len() + 2);
    for (mine, theirs) in ours[7..].iter().zip(&rows) {
        assert_eq!(mine[..33], theirs[..33]);
        assert!(
            mine.ends_with(&format!("  {}", &theirs[45..].trim_end())),
            "{mine:?}"
        );
    }
}

#[test]
fn odd_input_never_panics_and_no_line_is_wider_than_the_console() {
    // Empty names, wide and combining characters, control characters, huge
    // and tiny widths, a label longer than the console.
    let texts = [
        "",
        "é",
        "日本語のファイル名",
        "a\u{301}b",
        "\t\x1b[31m",
        &"z".repeat(300),
    ];
    for width in [0, 1, 4, 11, 80, 1000] {
        let mut values = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            values.push(object(CUSTOM, &[("", s(t)), (t, Value::I32(i as i32))]));
            values.push(s(t));
            values.push(object(
                "T",
                &[
                    ("a", s(t)),
                    (t, s(t)),
                    ("c", Value::Null),
                    ("d", Value::F64(f64::NAN)),
                    (&"L".repeat(200), s(t)),
                ],
            ));
            values.push(item("FileInfo", t, Some(i as i64), t));
        }
        let out = shown(&values, width);
        let limit = width.max(10);
        for line in out
            .lines()
            .filter(|l| !texts.iter().any(|t| !t.is_empty() && l == t))
        {
            // Table lines and list lines fit (labels longer than the console
            // excepted, as in PowerShell a label is never cut).
            if !line.contains(" : ") && !line.starts_with("LLLL") && !line.starts_with(' ') {
                assert!(line.chars().count() <= limit, "{width}: {line:?}");
            }
        }
    }
}

#[test]
fn services_show_in_the_service_view() {
    // Get-Service WinRM as Windows PowerShell 5.1 shows it: the display
    // name cut to its 38 columns.
    let status = Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec![
            "System.ServiceProcess.ServiceControllerStatus".to_string(),
        ])),
        to_string: Some("Running".into()),
        content: Content::Primitive(Value::I32(4)),
        ..Default::default()
    }));
    let service = object(
        "Deserialized.System.ServiceProcess.ServiceController",
        &[
            ("Name", s("WinRM")),
            ("CanStop", Value::Bool(true)),
            (
                "DisplayName",
                s("Windows Remote Management (WS-Management)"),
            ),
            ("MachineName", s(".")),
            ("ServiceName", s("WinRM")),
            ("Status", status),
        ],
    );
    assert_eq!(
        shown(&[service], 120),
        "\nStatus   Name               DisplayName\n\
         ------   ----               -----------\n\
         Running  WinRM              Windows Remote Management (WS-Manag...\n\n\n"
    );
}

/// Get-Date's DateTime: the `<DT>` with its DisplayHint note.
fn date(text: &str, hint: Option<(&str, i32)>) -> Value {
    let Some((name, n)) = hint else {
        return Value::DateTime(text.into());
    };
    let hint = Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec![
            "Microsoft.PowerShell.Commands.DisplayHintType".to_string(),
        ])),
        to_string: Some(name.into()),
        content: Content::Primitive(Value::I32(n)),
        ..Default::default()
    }));
    Value::Object(Box::new(PsObject {
        type_names: Some(Arc::from(vec!["System.DateTime".to_string()])),
        to_string: Some("12/7/2026 12:43:49 PM".into()),
        content: Content::Primitive(Value::DateTime(text.into())),
        extended: vec![("DisplayHint".into(), hint)],
        ..Default::default()
    }))
}

#[test]
fn a_date_shows_in_the_date_time_view_by_its_display_hint() {
    let when = "2026-12-07T12:43:49.1234567";
    let long = "Monday, December 7, 2026 12:43:49 PM";
    // Framed by blank lines: one before, two after.
    assert_eq!(shown(&[date(when, None)], 120), format!("\n{long}\n\n\n"));
    assert_eq!(
        shown(&[date(when, Some(("DateTime", 2)))], 120),
        format!("\n{long}\n\n\n")
    );
    assert_eq!(
        shown(&[date(when, Some(("Date", 0)))], 120),
        "\nMonday, December 7, 2026\n\n\n"
    );
    assert_eq!(
        shown(&[date(when, Some(("Time", 1)))], 120),
        "\n12:43:49 PM\n\n\n"
    );
    // In its place among a table's rows, as any value out of band.
    let row = object(CUSTOM, &[("a", Value::I32(1))]);
    assert_eq!(
        shown(&[row.clone(), date(when, None), row], 120),
        format!("\na\n-\n1\n\n{long}\n\n\n1\n\n\n")
    );
    // Not a dateTime: the text as it came.
    assert_eq!(shown(&[date("soon", None)], 120), "soon\n");
}

#[test]
fn a_version_shows_in_the_version_view() {
    // $PSVersionTable.PSVersion as Windows PowerShell 5.1 shows it.
    let v = Value::Version("5.1.17763.1".into());
    assert_eq!(
        shown(&[v], 120),
        "\nMajor  Minor  Build  Revision\n-----  -----  -----  --------\n\
         5      1      17763  1\n\n\n"
    );
    // Missing parts are -1, as System.Version's properties say; versions
    // share one table.
    let out = shown(
        &[
            Value::Version("2.0".into()),
            Value::Version("10.0.1".into()),
        ],
        120,
    );
    assert_eq!(
        out.lines().skip(3).collect::<Vec<_>>(),
        ["2      0      -1     -1", "10     0      1      -1", "", ""]
    );
}

#[test]
fn history_shows_in_the_history_view() {
    let entry = |id: i64, line: &str| {
        object(
            "Deserialized.Microsoft.PowerShell.Commands.HistoryInfo",
            &[
                ("Id", Value::I64(id)),
                ("CommandLine", s(line)),
                ("ExecutionStatus", s("Completed")),
                (
                    "StartExecutionTime",
                    Value::DateTime("2026-12-07T12:00:00".into()),
                ),
                (
                    "EndExecutionTime",
                    Value::DateTime("2026-12-07T12:00:01".into()),
                ),
            ],
        )
    };
    assert_eq!(
        shown(&[entry(1, "Get-Date"), entry(12, "'a' * 3")], 120),
        "\n  Id CommandLine\n  -- -----------\n   1 Get-Date\n  12 'a' * 3\n\n\n"
    );
}

#[test]
fn a_long_list_value_is_word_wrapped_under_its_column() {
    let five: Vec<(&str, Value)> = vec![
        ("Note", s("the quick brown fox jumps over the lazy dog")),
        ("Path", s(&format!("C:\\{}", "x".repeat(30)))),
        ("c", Value::I32(3)),
        ("d", Value::I32(4)),
        ("e", Value::I32(5)),
    ];
    let out = shown(&[object(CUSTOM, &five)], 20);
    // 13 columns after `Note : `: broken between words; a word longer
    // than that is cut.
    assert_eq!(
        out,
        "\n\nNote : the quick\n       brown fox\n       jumps over\n       the lazy dog\n\
         Path : C:\\xxxxxxxxxx\n       xxxxxxxxxxxxx\n       xxxxxxx\n\
         c    : 3\nd    : 4\ne    : 5\n\n\n\n"
    );
}
