//! A PSSession's life, as New-PSSession / Invoke-Command -Session /
//! Disconnect-PSSession / Connect-PSSession / Remove-PSSession do it:
//!
//! ```sh
//! cargo run -p pssession --example lifecycle -- http://server01:5985/wsman 'CORP\alice'
//! ```
//!
//! The password comes from `WSMAN_PASSWORD`; the mechanism from
//! `WSMAN_AUTH` (`negotiate`, the default, `ntlm`, `kerberos`, `basic`).
use pssession::host::NullHost;
use pssession::session::PipelineEvent;
use pssession::{format, ConnectionInfo, PsSession, SessionOptions};
use wsman::auth::Mechanism;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(host), Some(user)) = (args.next(), args.next()) else {
        return Err("usage: lifecycle HOST_OR_URL USER (password in WSMAN_PASSWORD)".into());
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

    let options = SessionOptions {
        name: Some("example".into()),
        ..Default::default()
    };
    let mut session = PsSession::open(&info, options, Box::new(NullHost)).await?;
    println!("opened {}", session.instance_id());
    session.run("$x = 42").await?;

    // Output streams as the host produces it.
    let mut pipeline = session.invoke("$x; 1..3").await?;
    while let Some(event) = pipeline.next().await? {
        match event {
            PipelineEvent::Output(v) => println!("output: {}", format::to_text(&v)),
            PipelineEvent::Error(e) => eprintln!("error: {}", e.message()),
            PipelineEvent::Finished { state, .. } => println!("finished: {state:?}"),
            _ => {}
        }
    }

    // A command that goes on while nobody is connected.
    let pid = session.start("'while away'; Start-Sleep 1; 'done'").await?;
    session.disconnect(None, None).await?;
    let id = session.instance_id();
    println!("disconnected; the host keeps {id}");

    // Connect again (this could be another process or machine).
    let mut session = PsSession::connect(&info, id, Box::new(NullHost)).await?;
    let result = session.receive_pipeline(pid).await?.collect().await?;
    for v in &result.output {
        println!("received: {}", format::to_text(v));
    }
    let result = session.run("$x").await?;
    println!("$x is still {}", format::to_text(&result.output[0]));
    session.close().await?;
    println!("removed");
    Ok(())
}
