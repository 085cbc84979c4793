//! CLIXML deserialization speed ([MS-PSRP] 2.2.5), in MB/s and objects/s:
//!
//! - `processes_10k`: an `<Objs>` document of 10,000 process-like objects
//!   (type `System.Diagnostics.Process`, 16 properties of mixed types, as
//!   `Get-Process` output is serialized), read with [`clixml::Reader`];
//! - `recorded_largest`: the largest PSRP messages of the recorded Windows
//!   traffic, each read with [`clixml::from_slice`];
//! - `serialize_processes_10k`: writing the same 10,000 objects.
//!
//! Also writes the document to `$CARGO_TARGET_DIR/clixml-bench/processes_10k.xml`
//! (`target/` when the variable is unset) for `benches/psrpcore_clixml.py`,
//! which times psrpcore on the same input.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use psrp::clixml::{self, PsObject, Value, Writer};

/// One `Get-Process`-like object, deterministic in `i`.
fn process(i: u32, type_names: &Arc<[String]>) -> Value {
    let name = [
        "svchost",
        "explorer",
        "pwsh",
        "lsass",
        "System Idle Process",
    ][i as usize % 5];
    let adapted = vec![
        ("Name".to_owned(), Value::String(name.to_owned())),
        ("Id".to_owned(), Value::I32(i as i32 * 4 + 8)),
        ("Handles".to_owned(), Value::I32((i % 2000) as i32)),
        (
            "WorkingSet64".to_owned(),
            Value::I64(i64::from(i) * 4096 + 10_485_760),
        ),
        (
            "PrivateMemorySize64".to_owned(),
            Value::I64(i64::from(i) * 8192),
        ),
        (
            "VirtualMemorySize64".to_owned(),
            Value::I64(2_199_023_255_552 + i64::from(i)),
        ),
        ("CPU".to_owned(), Value::F64(f64::from(i) * 0.015625 + 0.1)),
        ("SessionId".to_owned(), Value::I32((i % 3) as i32)),
        (
            "StartTime".to_owned(),
            Value::DateTime(format!("2024-05-{:02}T10:42:32.2731993-07:00", i % 28 + 1)),
        ),
        (
            "TotalProcessorTime".to_owned(),
            Value::Duration(format!("PT{}.0269026S", i % 600)),
        ),
        ("Responding".to_owned(), Value::Bool(i % 7 != 0)),
        (
            "Path".to_owned(),
            Value::String(format!("C:\\Windows\\System32\\{name}.exe")),
        ),
        (
            "Company".to_owned(),
            Value::String("Microsoft Corporation".to_owned()),
        ),
        ("BasePriority".to_owned(), Value::I32(8)),
        ("MainWindowTitle".to_owned(), Value::String(String::new())),
        ("HasExited".to_owned(), Value::Null),
    ];
    Value::from(PsObject {
        type_names: Some(type_names.clone()),
        to_string: Some(format!("System.Diagnostics.Process ({name})")),
        adapted,
        ..Default::default()
    })
}

fn processes_document(n: u32) -> String {
    let tn: Arc<[String]> = vec![
        "System.Diagnostics.Process".to_owned(),
        "System.ComponentModel.Component".to_owned(),
        "System.MarshalByRefObject".to_owned(),
        "System.Object".to_owned(),
    ]
    .into();
    let values: Vec<Value> = (0..n).map(|i| process(i, &tn)).collect();
    let mut out = String::new();
    Writer::new(&mut out).write_document(&values);
    out
}

/// `$CARGO_TARGET_DIR/clixml-bench` (relative to the workspace when the
/// variable is relative), else `target/clixml-bench` in the workspace.
fn out_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"));
    let dir = target.join("clixml-bench");
    std::fs::create_dir_all(&dir).expect("create the clixml-bench directory");
    dir
}

/// The CLIXML bodies of the PSRP messages in the recordings' `rsp:Stream`
/// elements whose data is one complete fragment (most large outputs are).
fn recorded_messages() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recordings/pypsrp/tests/tests_pypsrp/responses");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for chunk in text.split("<rsp:Stream").skip(1) {
            let Some(gt) = chunk.find('>') else { continue };
            let Some(end) = chunk.find("</rsp:Stream>") else {
                continue;
            };
            if end < gt {
                continue;
            }
            let Ok(data) =
                base64::engine::general_purpose::STANDARD.decode(chunk[gt + 1..end].trim())
            else {
                continue;
            };
            let mut rest = &data[..];
            while rest.len() >= 21 {
                let len = u32::from_be_bytes(rest[17..21].try_into().unwrap()) as usize;
                if rest[16] != 3 || rest.len() < 21 + len || len <= 40 {
                    break;
                }
                out.push(rest[21 + 40..21 + len].to_vec());
                rest = &rest[21 + len..];
            }
        }
    }
    out.retain(|m| clixml::from_slice(m).is_ok());
    out.sort_by_key(|m| std::cmp::Reverse(m.len()));
    out.truncate(20);
    out
}

fn bench(c: &mut Criterion) {
    const N: u32 = 10_000;
    let doc = processes_document(N);
    let path = out_dir().join("processes_10k.xml");
    std::fs::write(&path, &doc).unwrap();
    eprintln!(
        "wrote {} (input of benches/psrpcore_clixml.py)",
        path.display()
    );
    assert_eq!(clixml::Reader::new(doc.as_bytes()).count(), N as usize);

    let mut g = c.benchmark_group("deserialize");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("processes_10k_bytes", |b| {
        b.iter(|| {
            for v in clixml::Reader::new(black_box(doc.as_bytes())) {
                black_box(v.unwrap());
            }
        })
    });
    g.throughput(Throughput::Elements(N.into()));
    g.bench_function("processes_10k_objects", |b| {
        b.iter(|| {
            for v in clixml::Reader::new(black_box(doc.as_bytes())) {
                black_box(v.unwrap());
            }
        })
    });
    let recorded = recorded_messages();
    let bytes: usize = recorded.iter().map(Vec::len).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function(
        format!("recorded_largest_{}_messages", recorded.len()),
        |b| {
            b.iter(|| {
                for m in &recorded {
                    black_box(clixml::from_slice(black_box(m)).unwrap());
                }
            })
        },
    );
    g.finish();

    let values: Vec<Value> = clixml::Reader::new(doc.as_bytes())
        .map(Result::unwrap)
        .collect();
    let mut g = c.benchmark_group("serialize");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(N.into()));
    g.bench_function("processes_10k_objects", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(doc.len());
            Writer::new(&mut out).write_document(black_box(&values));
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
