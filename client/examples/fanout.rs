//! Invoke-Command -ComputerName a,b,c -ThrottleLimit 2: one script on many
//! hosts, each in a temporary session, one host's failure not stopping the
//! others.
//!
//! ```sh
//! WSMAN_PASSWORD=... cargo run -p pssession --example fanout -- 'CORP\alice' 'hostname' web1 web2 web3
//! ```
use pssession::fanout::invoke_on_hosts;
use pssession::{format, ConnectionInfo};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(user), Some(script)) = (args.next(), args.next()) else {
        return Err("usage: fanout USER SCRIPT HOST... (password in WSMAN_PASSWORD)".into());
    };
    let password = std::env::var("WSMAN_PASSWORD").unwrap_or_default();
    let mut infos = Vec::new();
    for host in args {
        infos.push(
            ConnectionInfo::builder(host)
                .user(user.clone())
                .password(password.clone())
                .build()?,
        );
    }
    let mut failed = false;
    for host in invoke_on_hosts(infos, &script, 2).await {
        match host.result {
            Ok(r) => {
                for v in &r.output {
                    println!("[{}] {}", host.computer_name, format::to_text(v));
                }
                failed |= r.had_errors();
            }
            Err(e) => {
                eprintln!("[{}] failed: {e}", host.computer_name);
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
