//! The second parsing step: command-line syntax resolved into connection
//! settings (password from `-p`, `WSMAN_PASSWORD` or a prompt; endpoint
//! URLs; TLS and proxy options).
use std::io::IsTerminal;
use std::time::Duration;

use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{ClientCertificate, Endpoint, ProxySetting, TransportConfig};
use zeroize::Zeroizing;

use super::args::{AuthArg, ConnectionArgs};
use crate::{ConnectionInfo, Error, Result};

impl From<AuthArg> for Mechanism {
    fn from(a: AuthArg) -> Mechanism {
        match a {
            AuthArg::Negotiate => Mechanism::Negotiate,
            AuthArg::Ntlm => Mechanism::Ntlm,
            AuthArg::Kerberos => Mechanism::Kerberos,
            AuthArg::Basic => Mechanism::Basic,
            AuthArg::Certificate => Mechanism::Certificate,
            AuthArg::Credssp => Mechanism::CredSsp,
        }
    }
}

/// The secret for `args`: `-p`, else `WSMAN_PASSWORD`, else a prompt on a
/// terminal; Kerberos and Negotiate may go without one (a `kinit` cache),
/// certificate authentication needs none.
fn secret(args: &ConnectionArgs, user: &str, host: &str) -> Result<Secret> {
    if let Some(h) = &args.nt_hash {
        if args.password.is_some() {
            return Err(Error::Usage(
                "pass either a password (-p) or --nt-hash, not both".into(),
            ));
        }
        if !matches!(args.auth, AuthArg::Ntlm | AuthArg::Negotiate) {
            return Err(Error::Usage(
                "--nt-hash authenticates with NTLM only: use -a ntlm or -a negotiate".into(),
            ));
        }
        return parse_nt_hash(h).map(Secret::NtHash);
    }
    if let Some(p) = &args.password {
        return Ok(Secret::password(p.clone()));
    }
    if let Ok(p) = std::env::var("WSMAN_PASSWORD") {
        return Ok(Secret::password(p));
    }
    match args.auth {
        AuthArg::Certificate => return Ok(Secret::None),
        AuthArg::Kerberos => return Ok(Secret::None),
        _ => {}
    }
    if user.is_empty() && args.auth == AuthArg::Negotiate {
        return Ok(Secret::None);
    }
    if std::io::stdin().is_terminal() {
        return prompted_password(user, host).map(Secret::password);
    }
    Err(Error::Usage(format!(
        "no password for {user}: pass -p, set WSMAN_PASSWORD, or run on a terminal to be asked"
    )))
}

/// Passwords asked at the terminal in this process, by user: a command
/// on many hosts or sessions asks once per user, not once per host.
/// Zeroed when dropped.
static PROMPTED: std::sync::Mutex<Vec<(String, Zeroizing<String>)>> =
    std::sync::Mutex::new(Vec::new());

/// The password of `user`, asked at the terminal the first time only.
fn prompted_password(user: &str, host: &str) -> Result<String> {
    let mut asked = PROMPTED
        .lock()
        .map_err(|_| Error::Usage("cannot read the password: a prompt failed".into()))?;
    if let Some((_, p)) = asked.iter().find(|(u, _)| u == user) {
        return Ok(p.to_string());
    }
    let p = Zeroizing::new(
        rpassword::prompt_password(format!("Password for {user}@{host}: "))
            .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?,
    );
    asked.push((user.to_string(), p.clone()));
    Ok(p.to_string())
}

/// The 16 bytes of an NT hash given as 32 hex digits, or as `LM:NT` (the
/// form secretsdump and pwdump write; the LM half is ignored). The value
/// is a secret: errors never repeat it.
fn parse_nt_hash(text: &str) -> Result<Zeroizing<[u8; 16]>> {
    let hex = text
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim()
        .as_bytes();
    let bad = || {
        Error::Usage(format!(
            "--nt-hash takes 32 hexadecimal digits (the NT hash, MD4 of the UTF-16LE password); \
             got {} characters",
            hex.len()
        ))
    };
    if hex.len() != 32 {
        return Err(bad());
    }
    let mut out = Zeroizing::new([0u8; 16]);
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16).ok_or_else(bad);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Resolves the connection options for one host (`host` is one entry of
/// `-H`).
pub fn connection_info(args: &ConnectionArgs, host: &str) -> Result<ConnectionInfo> {
    let endpoint = Endpoint::parse(host, args.https)?;
    let user = args.user.clone().unwrap_or_default();
    if user.is_empty()
        && !matches!(
            args.auth,
            AuthArg::Certificate | AuthArg::Kerberos | AuthArg::Negotiate
        )
    {
        return Err(Error::Usage(
            "no user: pass -u USER or set WSMAN_USER".to_string(),
        ));
    }
    if args.auth == AuthArg::Basic && !endpoint.is_https() && !args.no_encryption {
        // A usage mistake (exit 2), caught before any password is asked.
        return Err(Error::Usage(format!(
            "refusing Basic authentication over plain HTTP to {endpoint}: the password and every \
             message would cross the network in clear. Use HTTPS (--https), a mechanism that \
             encrypts (negotiate, ntlm, kerberos), or --no-encryption if you accept that and the \
             host allows it (AllowUnencrypted=true)"
        )));
    }
    check_delegate(args)?;
    let secret = secret(args, &user, &endpoint.host)?;
    let credentials = Credentials::parse(&user, secret);
    let mut auth = AuthOptions::new(args.auth.into(), credentials);
    auth.delegate = args.delegate;
    auth.spn_service = args.spn_service.clone();
    auth.spn_host = args.spn_host.clone();
    let mut transport = transport_config(args, endpoint, auth);
    transport.allow_unencrypted = args.no_encryption;
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        transport.tls.client_certificate = Some(ClientCertificate {
            cert_file: cert.clone(),
            key_file: key.clone(),
        });
    } else if args.auth == AuthArg::Certificate {
        return Err(Error::Usage(
            "-a certificate needs --cert PEM and --key PEM".into(),
        ));
    }
    Ok(finish(args, transport))
}

/// `--delegate` needs Kerberos (`-a kerberos` or `-a negotiate`, not with
/// an NT hash); CredSSP delegates by itself. A usage error (exit 2) before
/// any password is asked.
fn check_delegate(args: &ConnectionArgs) -> Result<()> {
    if !args.delegate {
        return Ok(());
    }
    let name = match args.auth {
        AuthArg::Kerberos | AuthArg::Credssp => return Ok(()),
        AuthArg::Negotiate if args.nt_hash.is_none() => return Ok(()),
        AuthArg::Negotiate => "an NT hash (--nt-hash, NTLM only)",
        AuthArg::Ntlm => "-a ntlm",
        AuthArg::Basic => "-a basic",
        AuthArg::Certificate => "-a certificate",
    };
    Err(Error::Usage(format!(
        "--delegate forwards a Kerberos ticket and cannot work with {name}: use -a kerberos or \
         -a negotiate (or -a credssp, which delegates the password)"
    )))
}

/// The transport settings every connection shares: timeouts, TLS, proxy.
fn transport_config(
    args: &ConnectionArgs,
    endpoint: Endpoint,
    auth: AuthOptions,
) -> TransportConfig {
    let mut transport = TransportConfig::new(endpoint, auth);
    transport.connect_timeout = Duration::from_secs(u64::from(args.connect_timeout.max(1)));
    transport.tls.ca_file = args.ca_file.clone();
    transport.tls.insecure = args.insecure;
    if let Some(p) = &args.proxy {
        transport.proxy = ProxySetting::Url(p.clone());
    }
    transport
}

fn finish(args: &ConnectionArgs, transport: TransportConfig) -> ConnectionInfo {
    let mut info = ConnectionInfo::new(transport);
    info.options.operation_timeout = Duration::from_secs(u64::from(args.operation_timeout.max(1)));
    info.configuration = args.configuration.clone();
    info
}

/// Settings for an unauthenticated request to `host` (`identify` without
/// `-a`, as Test-WSMan's default `-Authentication None`): no credentials
/// asked for or sent, nothing to seal (an Identify carries no secret).
pub fn anonymous_info(args: &ConnectionArgs, host: &str) -> Result<ConnectionInfo> {
    let endpoint = Endpoint::parse(host, args.https)?;
    let auth = AuthOptions::new(Mechanism::Negotiate, Credentials::parse("", Secret::None));
    let mut transport = transport_config(args, endpoint, auth);
    transport.anonymous = true;
    transport.allow_unencrypted = true;
    Ok(finish(args, transport))
}

/// The single host of a command that takes one.
pub fn single_host(args: &ConnectionArgs) -> Result<&str> {
    match args.hosts.as_slice() {
        [h] => Ok(h),
        [] => Err(Error::Usage(
            "no host: pass -H HOST (or set WSMAN_HOST)".into(),
        )),
        _ => Err(Error::Usage(
            "this command takes one host; only `invoke`, `session new`, `session list --remote` \
             and sessions named by `session` commands run on several"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(list: &[&str]) -> ConnectionArgs {
        let mut all = vec!["wsman"];
        all.extend_from_slice(list);
        all.extend_from_slice(&["invoke", "1"]);
        crate::args::Cli::try_parse_from(all).unwrap().connection
    }

    #[test]
    fn delegate_needs_kerberos() {
        for ok in [
            &["-a", "kerberos", "--delegate"][..],
            &["--delegate"],
            &["-a", "credssp", "--delegate"],
            &["-a", "ntlm"],
        ] {
            assert!(check_delegate(&args(ok)).is_ok(), "{ok:?}");
        }
        for (bad, why) in [
            (&["-a", "ntlm", "--delegate"][..], "-a ntlm"),
            (&["-a", "basic", "--delegate"], "-a basic"),
            (&["--nt-hash", "00", "--delegate"], "NT hash"),
        ] {
            let e = check_delegate(&args(bad)).unwrap_err();
            assert!(
                matches!(&e, Error::Usage(m) if m.contains(why)),
                "{bad:?}: {e}"
            );
        }
        let info = connection_info(
            &args(&["-a", "kerberos", "--delegate", "-p", "pw", "-u", "u"]),
            "h",
        )
        .unwrap();
        assert!(info.transport.auth.delegate);
    }

    #[test]
    fn nt_hash_is_hex_or_lm_colon_nt() {
        let h = parse_nt_hash("8846F7EAEE8FB117AD06BDD830B7586C").unwrap();
        assert_eq!(h[0], 0x88);
        assert_eq!(h[15], 0x6c);
        let lm_nt = "aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c";
        assert_eq!(*parse_nt_hash(lm_nt).unwrap(), *h);
        for bad in ["", "8846f7", "zz46f7eaee8fb117ad06bdd830b7586c"] {
            let e = parse_nt_hash(bad).unwrap_err().to_string();
            assert!(e.contains("32 hexadecimal digits"), "{e}");
            assert!(
                bad.is_empty() || !e.contains(bad),
                "the value is not repeated: {e}"
            );
        }
    }
}
