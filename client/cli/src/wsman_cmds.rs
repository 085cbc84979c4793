//! The plain WS-Management commands: `identify`, `get`, `enumerate`, `exec`.
use std::io::{IsTerminal, Read};
use std::ops::ControlFlow;

use wsman::client::resolve_resource_uri;
use wsman::soap::request::{Enumerate, Filter};
use wsman::soap::Selector;

use super::args::ConnectionArgs;
use super::config::{connection_info, single_host};
use super::output::{err_bytes, err_line, out_bytes, out_line, stdout_closed};
use super::sanitize::{for_terminal, stdout_text};
use super::signals::Interrupt;
use crate::winrs::{OutputStream, WinRsShell};
use crate::{Error, Result};

/// `wsman identify`.
/// `wsman identify`: unauthenticated unless `-a` is on the command line,
/// as Test-WSMan; an authenticated Identify also tells ProductVersion.
pub async fn identify(args: &ConnectionArgs) -> Result<i32> {
    let host = single_host(args)?;
    let info = if args.auth_on_command_line {
        connection_info(args, host)?
    } else {
        super::config::anonymous_info(args, host)?
    };
    let mut client = info.wsman_client()?;
    let id = client.identify().await?;
    if args.json {
        let v = serde_json::json!({
            "ProtocolVersion": id.protocol_version,
            "ProductVendor": id.product_vendor,
            "ProductVersion": id.product_version,
            "SecurityProfiles": id.security_profiles,
        });
        out_line(&v.to_string());
    } else {
        let show = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                out_line(&format!("{k:<16}: {}", for_terminal(v)));
            }
        };
        show("ProtocolVersion", &id.protocol_version);
        show("ProductVendor", &id.product_vendor);
        show("ProductVersion", &id.product_version);
        for p in &id.security_profiles {
            out_line(&format!("{:<16}: {}", "SecurityProfile", for_terminal(p)));
        }
    }
    Ok(0)
}

fn parse_selectors(raw: &[String]) -> Result<Vec<Selector>> {
    raw.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(Selector::new(k, v)),
            _ => Err(Error::Usage(format!(
                "selector {s:?} is not KEY=VALUE (e.g. -s Name=WinRM)"
            ))),
        })
        .collect()
}

/// Prints a resource: `Name : Value` text, or its XML as received
/// (`--xml`), or one JSON object (`--json`).
fn print_xml_or_json(xml: &str, json: bool, raw_xml: bool) -> Result<()> {
    if raw_xml {
        out_line(&stdout_text(xml));
        return Ok(());
    }
    let v = wsman::soap::json::xml_to_json(xml)?;
    if json {
        out_line(&v.to_string());
    } else {
        // Values come from the host: escaped before a terminal.
        out_bytes(stdout_text(&crate::resource_text::resource_text(&v)).as_bytes());
    }
    Ok(())
}

/// `wsman get RESOURCE [-s KEY=VALUE]...`.
pub async fn get(
    args: &ConnectionArgs,
    resource: &str,
    selectors: &[String],
    xml: bool,
) -> Result<i32> {
    let selectors = parse_selectors(selectors)?;
    let info = connection_info(args, single_host(args)?)?;
    let mut client = info.wsman_client()?;
    // Ctrl+C while the answer is awaited: exit 130 with nothing printed
    // (the resource is printed whole or not at all).
    let interrupt = Interrupt::listen();
    let uri = resolve_resource_uri(resource);
    let r = tokio::select! {
        biased;
        code = interrupt.wait() => return Ok(interrupted(code, None)),
        r = client.get(&uri, &selectors) => r?,
    };
    print_xml_or_json(&r.xml, args.json, xml)?;
    Ok(0)
}

/// Reports a signal that stopped `get` or `enumerate` (with how many items
/// were printed whole) and returns its exit code (130 for Ctrl+C).
fn interrupted(code: i32, items: Option<usize>) -> i32 {
    let name = Interrupt::name(code);
    match items {
        Some(n) => err_line(&format!(
            "wsman: {name}: stopped after {n} item(s); the host drops the enumeration \
             when it times out"
        )),
        None => err_line(&format!("wsman: {name}")),
    }
    code
}

/// `wsman enumerate RESOURCE [--filter WQL]`: prints each item as it is pulled.
pub async fn enumerate(
    args: &ConnectionArgs,
    resource: &str,
    filter: Option<&str>,
    xml: bool,
) -> Result<i32> {
    let info = connection_info(args, single_host(args)?)?;
    let mut client = info.wsman_client()?;
    let uri = resolve_resource_uri(resource);
    let e = Enumerate {
        optimize: true,
        max_elements: Some(20),
        filter: filter.map(|f| Filter::Wql(f.to_string())),
        ..Default::default()
    };
    // Ctrl+C while a batch is awaited: the items printed so far stay
    // (each whole), then exit 130.
    let interrupt = Interrupt::listen();
    let mut printed = 0;
    let mut batch = tokio::select! {
        biased;
        code = interrupt.wait() => return Ok(interrupted(code, Some(printed))),
        b = client.enumerate(&uri, &e, &[]) => b?,
    };
    loop {
        for item in &batch.items {
            print_xml_or_json(item, args.json, xml)?;
            if !args.json && !xml {
                // A blank line between items, as PowerShell's list view.
                out_line("");
            }
            printed += 1;
        }
        // Nobody reads the rest (`| head`): stop pulling; the host drops
        // the enumeration context after its timeout.
        if batch.is_done() || stdout_closed() {
            break;
        }
        let ctx = batch.context.clone().unwrap_or_default();
        batch = tokio::select! {
            biased;
            code = interrupt.wait() => return Ok(interrupted(code, Some(printed))),
            b = client.pull(&uri, &ctx, e.max_elements) => b?,
        };
    }
    Ok(0)
}

/// `wsman exec CMD [ARG]...`: stdin (when it is not a terminal) is
/// streamed to the command in pieces that fit the envelope, never held
/// whole; output is printed as it arrives; exits with the remote exit code.
/// Ctrl+C, SIGTERM and SIGHUP terminate the remote command and delete the
/// shell (exit 130, 143, 129).
pub async fn exec(args: &ConnectionArgs, command: &[String], no_stdin: bool) -> Result<i32> {
    let info = connection_info(args, single_host(args)?)?;
    let (cmd, cmd_args) = command.split_first().expect("clap requires a command");
    let chunk = (info.options.max_envelope_size as usize / 2).max(1024);
    let stdin = (!no_stdin && !std::io::stdin().is_terminal()).then(|| read_stdin(chunk));
    // Listening from before the shell is created (not the default handler
    // that would leave it behind); a signal during the Create is acted on
    // once the shell exists, so it can be deleted.
    let interrupt = Interrupt::listen();
    let mut shell = WinRsShell::open(&info, false).await?;
    if let Some(code) = interrupt.code() {
        err_line(&format!(
            "wsman: {}: deleting the shell",
            Interrupt::name(code)
        ));
        shell.close().await?;
        return Ok(code);
    }
    // Once stdout's reader has gone (`| head`), stop as a local command
    // would on SIGPIPE: terminate the remote command rather than receive
    // output nobody reads, perhaps forever.
    let output = |stream: OutputStream, data: &[u8]| {
        match stream {
            OutputStream::Stdout => out_bytes(data),
            OutputStream::Stderr => err_bytes(data),
        }
        if stdout_closed() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut command_id = None;
    let result = {
        let run = async {
            let id = shell.start(cmd, cmd_args).await?;
            command_id = Some(id.clone());
            if let Some(rx) = stdin {
                send_stdin(&mut shell, &id, rx).await?;
            }
            shell.wait_while(&id, output).await
        };
        tokio::select! {
            biased;
            code = interrupt.wait() => Ok(Err(code)),
            r = run => r.map(Ok),
        }
    };
    let code = match result {
        Ok(Ok(Some(code))) => code,
        Ok(Ok(None)) => {
            tracing::debug!("stdout closed: terminating the remote command");
            if let Some(id) = &command_id {
                let _ = shell.terminate(id).await;
            }
            141 // 128 + SIGPIPE, as a shell reports a writer stopped by a closed pipe
        }
        Ok(Err(code)) => {
            err_line(&format!(
                "wsman: {}: terminating the remote command",
                Interrupt::name(code)
            ));
            if let Some(id) = &command_id {
                let _ = shell.terminate(id).await;
            }
            i64::from(code)
        }
        Err(e) => {
            let _ = shell.close().await;
            return Err(e);
        }
    };
    shell.close().await?;
    Ok(i32::try_from(code).unwrap_or(1))
}

/// Reads stdin on a thread in pieces of up to `chunk` bytes (the last one
/// possibly shorter), at most two pieces ahead of the sender.
fn read_stdin(chunk: usize) -> tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut buf = Vec::with_capacity(chunk);
            match (&mut stdin).take(chunk as u64).read_to_end(&mut buf) {
                Ok(0) => return,
                Ok(_) => {
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

/// Sends each piece of stdin as it is read; the last Send carries End
/// (an empty one when stdin was empty).
async fn send_stdin(
    shell: &mut WinRsShell,
    command_id: &str,
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> Result<()> {
    let mut pending: Option<Vec<u8>> = None;
    while let Some(piece) = rx.recv().await {
        let piece = piece.map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?;
        if let Some(previous) = pending.replace(piece) {
            shell.send_stdin(command_id, &previous, false).await?;
        }
    }
    let last = pending.unwrap_or_default();
    shell.send_stdin(command_id, &last, true).await
}
