//! A file to the host and back, as `Copy-Item -ToSession` and
//! `Copy-Item -FromSession` do, with the progress of each copy:
//!
//! ```sh
//! cargo run -p pssession --example copy -- http://server01:5985/wsman 'CORP\alice' \
//!     ./report.pdf 'C:\Temp\report.pdf'
//! ```
//!
//! The file comes back next to the original as `report.pdf.back`; both
//! copies are checked with SHA-256 on both sides (by the library), and the
//! example compares the digests of the file sent and the file received. The password comes from
//! `WSMAN_PASSWORD`; the mechanism from `WSMAN_AUTH` (`negotiate`, the
//! default, `ntlm`, `kerberos`, `basic`).
use std::io::Write;
use std::path::PathBuf;

use pssession::copy::{copy_from_host, copy_to_host, CopyOptions, Progress};
use pssession::host::NullHost;
use pssession::{ConnectionInfo, PsSession, SessionOptions};
use wsman::auth::Mechanism;

/// A progress callback printing `label: done of total (percent)` on one
/// line of stderr, rewritten at each whole percent.
fn progress(label: &'static str) -> impl FnMut(Progress) + Send {
    let mut last = None;
    move |p: Progress| {
        let line = match p.total {
            Some(total) if total > 0 => {
                let percent = p.done * 100 / total;
                if last == Some(percent) {
                    return;
                }
                last = Some(percent);
                format!("{label}: {} of {total} bytes ({percent}%)", p.done)
            }
            _ => format!("{label}: {} bytes", p.done),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}");
        let _ = err.flush();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("copy: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(host), Some(user), Some(local), Some(remote)) =
        (args.next(), args.next(), args.next(), args.next())
    else {
        return Err(
            "usage: copy HOST_OR_URL USER LOCAL_FILE REMOTE_PATH (password in WSMAN_PASSWORD)"
                .into(),
        );
    };
    let auth = match std::env::var("WSMAN_AUTH") {
        Ok(name) => name.parse()?,
        Err(_) => Mechanism::Negotiate,
    };
    let info = ConnectionInfo::builder(host)
        .user(user)
        .password(std::env::var("WSMAN_PASSWORD").unwrap_or_default())
        .auth(auth)
        .allow_unencrypted(auth == Mechanism::Basic)
        .build()?;
    let mut session = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost)).await?;
    let options = CopyOptions::default();
    let local = PathBuf::from(local);

    let sent = copy_to_host(
        &mut session,
        &local,
        &remote,
        &mut progress("to the host"),
        &options,
    )
    .await;
    eprintln!();
    let sent = sent?;
    println!(
        "sent {} bytes to {} (sha256 {})",
        sent.bytes, sent.path, sent.digest
    );

    let mut back = local.clone().into_os_string();
    back.push(".back");
    let back = PathBuf::from(back);
    let received = copy_from_host(
        &mut session,
        &remote,
        &back,
        &mut progress("from the host"),
        &options,
    )
    .await;
    eprintln!();
    let received = received?;
    println!(
        "received {} bytes into {} (sha256 {})",
        received.bytes, received.path, received.digest
    );
    for w in sent.warnings.iter().chain(&received.warnings) {
        eprintln!("warning: {w}");
    }
    session.close().await?;

    // Each digest was computed here, from the bytes read and written.
    if sent.digest != received.digest {
        return Err("the file that came back differs from the original".into());
    }
    println!("the round trip is exact");
    Ok(())
}
