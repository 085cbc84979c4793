//! Runs one script through a PowerShell that speaks the out-of-process
//! framing on its stdio: `pwsh -s` locally, `ssh HOST pwsh -s` remotely (the
//! PowerShell-over-SSH transport), or the psrpcore test bridge.
//!
//! ```text
//! cargo run -p psrp --example oop_client -- 'Get-Date' pwsh -NoLogo -s
//! cargo run -p psrp --example oop_client -- 'Get-Date' .venv/bin/python psrp/tests/psrpcore_bridge.py
//! ```
//!
//! The transport is a few lines around the sans-IO [`RunspacePool`]: write
//! each [`Outgoing`](psrp::Outgoing) as a `<Data>` line (announcing a new
//! pipeline with `<Command>` first), feed each received `<Data>` line to
//! `receive_data`, print the events.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Process, Stdio};

use base64::Engine;
use psrp::messages::CreatePipeline;
use psrp::types::{Command, PowerShell, RunspacePoolState};
use psrp::{Event, RunspacePool, RunspacePoolConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(script), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: oop_client SCRIPT PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut child = Process::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();

    let mut pool = RunspacePool::new(RunspacePoolConfig::default());
    pool.open()?;
    let mut pipeline = None;
    let mut announced = std::collections::HashSet::new();
    loop {
        // Handle what happened.
        while let Some(event) = pool.next_event() {
            match event {
                Event::RunspacePoolState {
                    state: RunspacePoolState::Opened,
                    ..
                } if pipeline.is_none() => {
                    let ps = PowerShell::new(vec![Command::script(script.clone())]);
                    pipeline = Some(pool.create_pipeline(CreatePipeline::new(ps))?);
                }
                Event::Output { value, .. } => println!("{value}"),
                Event::Error { record, .. } => eprintln!("error: {}", record.message()),
                Event::Warning { record, .. } => eprintln!("warning: {}", record.message),
                Event::PipelineState {
                    pipeline_id, state, ..
                } if Some(pipeline_id) == pipeline && state.is_terminal() => {
                    writeln!(stdin, "<Close PSGuid='{}' />", uuid::Uuid::nil())?;
                    drop(stdin);
                    child.wait()?;
                    return Ok(());
                }
                Event::RunspacePoolState {
                    state: RunspacePoolState::Broken,
                    error,
                } => {
                    return Err(format!(
                        "the RunspacePool broke: {}",
                        error.map(|e| e.message().to_string()).unwrap_or_default()
                    )
                    .into())
                }
                _ => {}
            }
        }
        // Send what the pool has queued.
        while let Some(out) = pool.data_to_send(64 * 1024)? {
            let guid = out.pipeline_id.unwrap_or_default();
            if let Some(pid) = out.pipeline_id {
                if announced.insert(pid) {
                    writeln!(stdin, "<Command PSGuid='{pid}' />")?;
                }
            }
            writeln!(
                stdin,
                "<Data Stream='{}' PSGuid='{guid}'>{}</Data>",
                out.stream.oop_name(),
                b64.encode(&out.data)
            )?;
        }
        stdin.flush()?;

        // Wait for the next packet.
        let Some(line) = lines.next() else {
            return Err("the peer closed its output".into());
        };
        let line = line?;
        if let Some(rest) = line.strip_prefix("<Data ") {
            let data = rest
                .split_once('>')
                .and_then(|(_, r)| r.split_once('<'))
                .map(|(d, _)| d)
                .unwrap_or("");
            pool.receive_data(&b64.decode(data)?)?;
        }
    }
}
