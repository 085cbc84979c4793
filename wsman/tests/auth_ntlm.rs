//! NTLM against independent acceptors: pyspnego's pure-Python NTLM and
//! gss-ntlmssp (C, through MIT GSSAPI and python-gssapi). Each test runs the
//! whole handshake with our tokens, lets the peer unseal our `wrap_winrm`
//! output and unseals the peer's own. Skips (with a message) when the
//! project's Python venv (scripts/setup.sh) or gss-ntlmssp is missing.
#[path = "auth_peers/common.rs"]
mod auth_common;

use auth_common::{hex, Peer, TempDir};
use wsman::auth::{new_context, AuthOptions, Credentials, Mechanism, Secret};
use wsman::Error;

const DOMAIN: &str = "WSMANTEST";
const USER: &str = "alice";
const PASSWORD: &str = "Pa$$w0rd-ünï";

fn user_file(dir: &TempDir) -> String {
    dir.write("ntlm_users", &format!("{DOMAIN}:{USER}:{PASSWORD}\n"))
}

fn opts(secret: Secret, cb: Option<&[u8]>) -> AuthOptions {
    let mut o = AuthOptions::new(
        Mechanism::Ntlm,
        Credentials::parse(&format!("{DOMAIN}\\{USER}"), secret),
    );
    o.channel_bindings = cb.map(<[u8]>::to_vec);
    o
}

/// Handshake, then sealed messages both ways (several, so the RC4 streams
/// and sequence numbers must stay in step), including a large body.
fn handshake_and_seal(peer: &mut Peer, o: &AuthOptions) {
    let mut ctx = new_context(o, "localhost").unwrap();
    assert_eq!(ctx.http_scheme(), "Negotiate");
    assert_eq!(
        ctx.encryption_protocol(),
        Some("application/HTTP-SPNEGO-session-encrypted")
    );
    auth_common::run_handshake(peer, ctx.as_mut()).unwrap();
    assert!(peer.user().to_lowercase().contains(USER));
    auth_common::exchange_sealed(peer, ctx.as_mut());
}

fn ntlm_hash(password: &str) -> [u8; 16] {
    *wsman::auth::ntlm::crypto::nt_hash(password)
}

#[test]
fn pyspnego_password() {
    let Some(dir) = TempDir::for_python("pyspnego_password") else {
        return;
    };
    let mut peer = Peer::start(
        &["--backend", "pyspnego", "--protocol", "ntlm"],
        &[("NTLM_USER_FILE", &user_file(&dir))],
    );
    handshake_and_seal(&mut peer, &opts(Secret::password(PASSWORD), None));
}

#[test]
fn pyspnego_nt_hash() {
    let Some(dir) = TempDir::for_python("pyspnego_nt_hash") else {
        return;
    };
    let mut peer = Peer::start(
        &["--backend", "pyspnego", "--protocol", "ntlm"],
        &[("NTLM_USER_FILE", &user_file(&dir))],
    );
    let h = Secret::NtHash(zeroize::Zeroizing::new(ntlm_hash(PASSWORD)));
    handshake_and_seal(&mut peer, &opts(h, None));
}

#[test]
fn pyspnego_channel_bindings() {
    let Some(dir) = TempDir::for_python("pyspnego_cb") else {
        return;
    };
    let app = b"tls-server-end-point:0123456789abcdef0123456789abcdef";
    let users = user_file(&dir);
    let mut peer = Peer::start(
        &[
            "--backend",
            "pyspnego",
            "--protocol",
            "ntlm",
            "--cb",
            &hex(app),
        ],
        &[("NTLM_USER_FILE", &users)],
    );
    handshake_and_seal(&mut peer, &opts(Secret::password(PASSWORD), Some(app)));

    // Bindings of another TLS connection are refused by the acceptor.
    let mut peer = Peer::start(
        &[
            "--backend",
            "pyspnego",
            "--protocol",
            "ntlm",
            "--cb",
            &hex(app),
        ],
        &[("NTLM_USER_FILE", &users)],
    );
    let other = b"tls-server-end-point:ffffffffffffffffffffffffffffffff";
    let mut ctx = new_context(&opts(Secret::password(PASSWORD), Some(other)), "localhost").unwrap();
    let err = auth_common::run_handshake(&mut peer, ctx.as_mut()).unwrap_err();
    assert!(
        err.contains("ind"),
        "acceptor should reject the bindings: {err}"
    );
}

#[test]
fn pyspnego_wrong_password_is_refused() {
    let Some(dir) = TempDir::for_python("pyspnego_wrong") else {
        return;
    };
    let mut peer = Peer::start(
        &["--backend", "pyspnego", "--protocol", "ntlm"],
        &[("NTLM_USER_FILE", &user_file(&dir))],
    );
    let mut ctx = new_context(
        &opts(Secret::password("not-the-password"), None),
        "localhost",
    )
    .unwrap();
    let err = auth_common::run_handshake(&mut peer, ctx.as_mut()).unwrap_err();
    assert!(err.contains("Invalid NTLM response"), "{err}");
    // What the transport sees next: the host answers 401 with no token.
    let mut ctx = new_context(&opts(Secret::password("x"), None), "localhost").unwrap();
    ctx.step(None).unwrap();
    assert!(matches!(ctx.step(None), Err(Error::Authentication { .. })));
}

#[test]
fn gss_ntlmssp_password_and_bindings() {
    let Some(dir) = TempDir::for_python("gssntlmssp") else {
        return;
    };
    if !auth_common::gss_ntlmssp_installed() {
        eprintln!("SKIP gss_ntlmssp_password_and_bindings: gss-ntlmssp is not installed (apt-get install gss-ntlmssp)");
        return;
    }
    let users = user_file(&dir);
    let mut peer = Peer::start(&["--backend", "gssntlmssp"], &[("NTLM_USER_FILE", &users)]);
    handshake_and_seal(&mut peer, &opts(Secret::password(PASSWORD), None));

    let h = Secret::NtHash(zeroize::Zeroizing::new(ntlm_hash(PASSWORD)));
    let mut peer = Peer::start(&["--backend", "gssntlmssp"], &[("NTLM_USER_FILE", &users)]);
    handshake_and_seal(&mut peer, &opts(h, None));

    let app = b"tls-server-end-point:abcdefabcdefabcdefabcdefabcdefab";
    let mut peer = Peer::start(
        &["--backend", "gssntlmssp", "--cb", &hex(app)],
        &[("NTLM_USER_FILE", &users)],
    );
    handshake_and_seal(&mut peer, &opts(Secret::password(PASSWORD), Some(app)));

    // Bindings of another TLS connection are refused.
    let mut peer = Peer::start(
        &["--backend", "gssntlmssp", "--cb", &hex(app)],
        &[("NTLM_USER_FILE", &users)],
    );
    let other = b"tls-server-end-point:ffffffffffffffffffffffffffffffff";
    let mut ctx = new_context(&opts(Secret::password(PASSWORD), Some(other)), "localhost").unwrap();
    assert!(auth_common::run_handshake(&mut peer, ctx.as_mut()).is_err());

    let mut peer = Peer::start(&["--backend", "gssntlmssp"], &[("NTLM_USER_FILE", &users)]);
    let mut ctx = new_context(&opts(Secret::password("wrong"), None), "localhost").unwrap();
    assert!(auth_common::run_handshake(&mut peer, ctx.as_mut()).is_err());
}

/// `user@dns.domain` is sent as a UPN (UserName `user@dns.domain`, empty
/// DomainName), which the acceptor looks up as such.
#[test]
fn pyspnego_upn() {
    let Some(dir) = TempDir::for_python("pyspnego_upn") else {
        return;
    };
    let users = dir.write("ntlm_users", &format!(":{USER}@wsman.example:{PASSWORD}\n"));
    let mut peer = Peer::start(
        &["--backend", "pyspnego", "--protocol", "ntlm"],
        &[("NTLM_USER_FILE", &users)],
    );
    let o = AuthOptions::new(
        Mechanism::Ntlm,
        Credentials::parse(&format!("{USER}@wsman.example"), Secret::password(PASSWORD)),
    );
    let mut ctx = new_context(&o, "localhost").unwrap();
    auth_common::run_handshake(&mut peer, ctx.as_mut()).unwrap();
    auth_common::exchange_sealed(&mut peer, ctx.as_mut());
}

/// Real Windows-era tokens from pyspnego's test data parse.
#[test]
fn recorded_tokens_parse() {
    use wsman::auth::ntlm::messages::{
        av, from_utf16le, parse_challenge, parse_negotiate, Authenticate,
    };
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recordings/pyspnego/tests/data");
    let read = |n: &str| std::fs::read(data.join(n)).unwrap();
    let neg = parse_negotiate(&read("ntlm_negotiate")).unwrap();
    assert_ne!(neg.flags & 0x1, 0, "UNICODE");
    let chal = parse_challenge(&read("ntlm_challenge")).unwrap();
    assert_eq!(from_utf16le(&chal.target_name), "DOMAIN");
    assert_eq!(
        from_utf16le(chal.target_info.get(av::NB_COMPUTER_NAME).unwrap()),
        "DC01"
    );
    assert_eq!(
        from_utf16le(chal.target_info.get(av::DNS_DOMAIN_NAME).unwrap()),
        "domain.local"
    );
    assert!(chal.target_info.get(av::TIMESTAMP).is_some());
    for name in ["ntlm_authenticate", "ntlm_authenticate_no_sign_seal"] {
        let auth = Authenticate::parse(&read(name)).unwrap();
        assert!(!from_utf16le(&auth.user).is_empty(), "{name}");
        assert!(auth.nt_response.len() > 24, "{name}: NTLMv2 response");
    }
}
