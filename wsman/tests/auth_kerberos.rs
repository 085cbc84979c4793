//! Kerberos and SPNEGO against a throwaway MIT realm on loopback: our client
//! (MIT GSSAPI through the `gssapi` feature) authenticates to pyspnego's
//! Kerberos/Negotiate acceptor (reading a keytab through `KRB5_KTNAME`), with
//! a password and with a `kinit` cache, then seals both ways. The KDC listens
//! on a port picked at run time, everything lives in a temporary folder, and
//! the KDC is stopped by its pid at the end, pass or fail. Skips with a
//! message when the venv or the MIT KDC programs are missing.
#![cfg(feature = "gssapi")]
#[path = "auth_peers/common.rs"]
mod auth_common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use auth_common::{hex, Peer, TempDir};
use wsman::auth::{new_context, AuthOptions, Credentials, Mechanism, Secret};
use wsman::Error;

const REALM: &str = "WSMAN.TEST";
const USER: &str = "alice";
const PASSWORD: &str = "krb-Pa55word";

/// A KDC for `REALM` in a temporary folder; stopped by pid on drop.
struct Realm {
    dir: TempDir,
    kdc_pid: Option<String>,
    krb5_conf: String,
    /// The krb5.conf in use (client and acceptor alike).
    conf: std::cell::Cell<&'static str>,
}

impl Realm {
    fn run(&self, prog: &str, args: &[&str]) {
        let out = Command::new(prog)
            .args(args)
            .envs(self.env())
            .output()
            .unwrap_or_else(|e| panic!("{prog}: {e}"));
        assert!(
            out.status.success(),
            "{prog} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KRB5_CONFIG".into(), self.dir.path(self.conf.get())),
            ("KRB5_KDC_PROFILE".into(), self.dir.path("kdc.conf")),
            ("KRB5_KTNAME".into(), self.dir.path("http.keytab")),
        ]
    }

    fn start() -> Realm {
        let dir = TempDir::new("realm");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.0.display().to_string();
        let krb5_conf = format!(
            "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n \
             rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1\n \
             allow_weak_crypto = true\n allow_rc4 = true\n\
             [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n\
             [domain_realm]\n localhost = {REALM}\n .localhost = {REALM}\n"
        );
        dir.write("krb5.conf", &krb5_conf);
        dir.write(
            "kdc.conf",
            &format!(
                "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\
                 [realms]\n {REALM} = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n  \
                 acl_file = {d}/kadm5.acl\n  \
                 supported_enctypes = aes256-cts:normal aes128-cts:normal arcfour-hmac:normal\n  kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n }}\n\
                 [logging]\n kdc = FILE:{d}/kdc.log\n"
            ),
        );
        dir.write("kadm5.acl", "");
        let mut realm = Realm {
            dir,
            kdc_pid: None,
            krb5_conf,
            conf: std::cell::Cell::new("krb5.conf"),
        };
        realm.run(
            "kdb5_util",
            &["create", "-s", "-r", REALM, "-P", "master-pw"],
        );
        let q = |realm: &Realm, cmd: &str| realm.run("kadmin.local", &["-r", REALM, "-q", cmd]);
        q(&realm, &format!("addprinc -pw {PASSWORD} {USER}"));
        for svc in ["HTTP", "WSMAN", "host"] {
            q(&realm, &format!("addprinc -randkey {svc}/localhost"));
        }
        // A service with only an RC4-HMAC key (older Windows accounts): the
        // session key, and so WinRM's wrap tokens, are RC4 then.
        q(
            &realm,
            "addprinc -randkey -e arcfour-hmac:normal RC4/localhost",
        );
        let kt = realm.dir.path("http.keytab");
        q(
            &realm,
            &format!("ktadd -k {kt} HTTP/localhost WSMAN/localhost host/localhost"),
        );
        q(
            &realm,
            &format!("ktadd -k {kt} -e arcfour-hmac:normal RC4/localhost"),
        );
        let ckt = realm.dir.path("client.keytab");
        q(&realm, &format!("ktadd -k {ckt} -norandkey {USER}"));
        let pidfile = realm.dir.path("kdc.pid");
        realm.run("krb5kdc", &["-P", &pidfile]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(pid) = std::fs::read_to_string(&pidfile) {
                if !pid.trim().is_empty() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    realm.kdc_pid = Some(pid.trim().to_string());
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(realm.kdc_pid.is_some(), "the KDC did not start");
        realm
    }
}

impl Realm {
    /// Limits both sides to RC4-HMAC (`true`) or restores the defaults, by
    /// pointing `KRB5_CONFIG` at another file (MIT caches a profile file
    /// until its mtime changes, which a rewrite within a second does not do).
    fn rc4_only(&self, on: bool) {
        let name = if on { "krb5-rc4.conf" } else { "krb5.conf" };
        if on {
            let conf = self.krb5_conf.replace(
                "[libdefaults]\n",
                "[libdefaults]\n permitted_enctypes = arcfour-hmac\n \
                 default_tgs_enctypes = arcfour-hmac\n default_tkt_enctypes = arcfour-hmac\n",
            );
            self.dir.write(name, &conf);
        }
        self.conf.set(name);
        std::env::set_var("KRB5_CONFIG", self.dir.path(name));
    }

    /// Makes initial tickets forwardable (`forwardable = true`, as `kinit
    /// -f`) or not (MIT's default), through another file as `rc4_only` does.
    fn forwardable(&self, on: bool) {
        let name = if on { "krb5-fwd.conf" } else { "krb5.conf" };
        if on {
            let conf = self
                .krb5_conf
                .replace("[libdefaults]\n", "[libdefaults]\n forwardable = true\n");
            self.dir.write(name, &conf);
        }
        self.conf.set(name);
        std::env::set_var("KRB5_CONFIG", self.dir.path(name));
    }

    /// Stops the KDC (by its pid), keeping the configuration.
    fn stop_kdc(&mut self) {
        if let Some(pid) = self.kdc_pid.take() {
            let _ = Command::new("kill").arg(&pid).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Path::new("/proc").join(&pid).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        self.stop_kdc();
    }
}

fn tools_present() -> bool {
    ["krb5kdc", "kdb5_util", "kadmin.local", "kinit"]
        .iter()
        .all(|p| {
            ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .any(|d| Path::new(d).join(p).exists())
        })
}

fn opts(mech: Mechanism, secret: Secret, service: &str, cb: Option<&[u8]>) -> AuthOptions {
    let mut o = AuthOptions::new(mech, Credentials::parse(&format!("{USER}@{REALM}"), secret));
    o.spn_service = service.to_string();
    o.channel_bindings = cb.map(<[u8]>::to_vec);
    o
}

fn acceptor(realm: &Realm, protocol: &str, service: &str, cb: Option<&[u8]>) -> Peer {
    let mut env = realm.env();
    // pyspnego's Negotiate acceptor also sets up NTLM, which wants a user file.
    env.push((
        "NTLM_USER_FILE".into(),
        realm.dir.write("ntlm_users", "OTHER:bob:pw\n"),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cbhex = cb.map(hex);
    let mut args = vec![
        "--protocol",
        protocol,
        "--service",
        service,
        "--hostname",
        "localhost",
    ];
    if let Some(h) = &cbhex {
        args.extend(["--cb", h]);
    }
    Peer::start(&args, &env)
}

/// Returns the header of one more wrap, to tell the token format.
fn authenticate_and_seal(
    realm: &Realm,
    o: &AuthOptions,
    protocol: &str,
    scheme: &str,
    enc: &str,
) -> Vec<u8> {
    let mut peer = acceptor(
        realm,
        protocol,
        &o.spn_service,
        o.channel_bindings.as_deref(),
    );
    let mut ctx = new_context(o, "localhost").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ctx.http_scheme(), scheme);
    assert_eq!(ctx.encryption_protocol(), Some(enc));
    auth_common::run_handshake(&mut peer, ctx.as_mut()).unwrap();
    assert_eq!(peer.user(), format!("{USER}@{REALM}"));
    auth_common::exchange_sealed(&mut peer, ctx.as_mut());
    let (header, _) = ctx.wrap_winrm(b"which token format").unwrap();
    header
}

/// One test function: the process environment (KRB5_CONFIG, KRB5CCNAME)
/// that MIT GSSAPI reads is global, so the scenarios run in sequence.
#[test]
fn kerberos_and_negotiate_against_mit_realm() {
    if !tools_present() {
        eprintln!("SKIP kerberos: MIT KDC programs missing (apt-get install krb5-kdc krb5-admin-server krb5-user)");
        return;
    }
    if !auth_common::python_ready("kerberos") {
        return;
    }
    let realm = Realm::start();
    for (k, v) in realm.env() {
        if k != "KRB5_KTNAME" {
            std::env::set_var(k, v);
        }
    }
    const KRB: &str = "application/HTTP-Kerberos-session-encrypted";
    const SPNEGO: &str = "application/HTTP-SPNEGO-session-encrypted";

    // Password, no credential cache at all.
    std::env::set_var(
        "KRB5CCNAME",
        format!("FILE:{}", realm.dir.path("no-such-cache")),
    );
    let pw = || Secret::password(PASSWORD);
    let header = authenticate_and_seal(
        &realm,
        &opts(Mechanism::Kerberos, pw(), "HTTP", None),
        "kerberos",
        "Kerberos",
        KRB,
    );
    // RFC 4121 4.2.6.2 Wrap token (AES): TOK_ID 05 04, Flags "Sealed".
    assert_eq!(&header[..2], &[0x05, 0x04]);
    assert_ne!(header[2] & 0x02, 0);
    authenticate_and_seal(
        &realm,
        &opts(Mechanism::Kerberos, pw(), "WSMAN", None),
        "kerberos",
        "Kerberos",
        KRB,
    );
    authenticate_and_seal(
        &realm,
        &opts(Mechanism::Kerberos, pw(), "host", None),
        "kerberos",
        "Kerberos",
        KRB,
    );
    authenticate_and_seal(
        &realm,
        &opts(Mechanism::Negotiate, pw(), "HTTP", None),
        "negotiate",
        "Negotiate",
        SPNEGO,
    );

    // Delegation (GSS_C_DELEG_FLAG): the acceptor gets the TGT only when
    // asked for, and only a forwardable TGT can be delegated; without one
    // the client says so instead of going on undelegated.
    for (mech, protocol) in [
        (Mechanism::Kerberos, "kerberos"),
        (Mechanism::Negotiate, "negotiate"),
    ] {
        let mut o = opts(mech, pw(), "HTTP", None);
        o.delegate = true;
        let mut peer = acceptor(&realm, protocol, "HTTP", None);
        let mut ctx = new_context(&o, "localhost").unwrap();
        let err = auth_common::run_handshake(&mut peer, ctx.as_mut()).unwrap_err();
        assert!(err.contains("not forwardable"), "{protocol}: {err}");
        realm.forwardable(true);
        for delegate in [false, true] {
            o.delegate = delegate;
            let mut peer = acceptor(&realm, protocol, "HTTP", None);
            let mut ctx = new_context(&o, "localhost").unwrap();
            auth_common::run_handshake(&mut peer, ctx.as_mut()).unwrap();
            let got = peer.call("delegated").unwrap();
            assert_eq!(got[1], if delegate { "1" } else { "0" }, "{protocol}");
            auth_common::exchange_sealed(&mut peer, ctx.as_mut());
        }
        realm.forwardable(false);
    }

    realm.rc4_only(true);
    let header = authenticate_and_seal(
        &realm,
        &opts(Mechanism::Kerberos, pw(), "RC4", None),
        "kerberos",
        "Kerberos",
        KRB,
    );
    // RFC 4757 7.3: an RFC 1964 framed token, TOK_ID 02 01, SGN_ALG 11 00 (HMAC).
    assert_eq!(header[0], 0x60);
    assert!(
        header.windows(4).any(|w| w == [0x02, 0x01, 0x11, 0x00]),
        "{header:02x?}"
    );
    realm.rc4_only(false);

    // Channel bindings: matching ones pass, another connection's are refused.
    let app = b"tls-server-end-point:0123456789abcdef0123456789abcdef";
    authenticate_and_seal(
        &realm,
        &opts(Mechanism::Kerberos, pw(), "HTTP", Some(app)),
        "kerberos",
        "Kerberos",
        KRB,
    );
    let mut peer = acceptor(&realm, "kerberos", "HTTP", Some(app));
    let other = b"tls-server-end-point:ffffffffffffffffffffffffffffffff";
    let mut ctx = new_context(
        &opts(Mechanism::Kerberos, pw(), "HTTP", Some(other)),
        "localhost",
    )
    .unwrap();
    // (The same handshake with the matching bindings passed just above; MIT
    // refuses these, and pyspnego reports it as a failed step.)
    let err = auth_common::run_handshake(&mut peer, ctx.as_mut());
    assert!(err.is_err(), "mismatched channel bindings accepted");

    // Wrong password: an authentication error, without the password in it.
    let err = new_context(
        &opts(
            Mechanism::Kerberos,
            Secret::password("wrong-pw"),
            "HTTP",
            None,
        ),
        "localhost",
    )
    .err()
    .expect("wrong password accepted");
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong-pw"));
    assert!(
        err.to_string().contains("HTTP@localhost"),
        "names the host: {err}"
    );

    // An SPN the KDC does not know.
    let err = new_context(
        &opts(Mechanism::Kerberos, pw(), "HTTP", None),
        "unknown.host",
    )
    .err()
    .expect("unknown SPN accepted");
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");

    // Negotiate to a host without an SPN falls back to raw NTLM.
    let mut ctx = new_context(
        &opts(Mechanism::Negotiate, pw(), "HTTP", None),
        "unknown.host",
    )
    .unwrap();
    assert!(ctx.step(None).unwrap().unwrap().starts_with(b"NTLMSSP\0"));

    // A kinit cache and no secret.
    let cache = format!("FILE:{}", realm.dir.path("ccache"));
    std::env::set_var("KRB5CCNAME", &cache);
    realm.run(
        "kinit",
        &[
            "-c",
            &cache,
            "-k",
            "-t",
            &realm.dir.path("client.keytab"),
            &format!("{USER}@{REALM}"),
        ],
    );
    authenticate_and_seal(
        &realm,
        &opts(Mechanism::Kerberos, Secret::None, "HTTP", None),
        "kerberos",
        "Kerberos",
        KRB,
    );
    authenticate_and_seal(
        &realm,
        &opts(Mechanism::Negotiate, Secret::None, "HTTP", None),
        "negotiate",
        "Negotiate",
        SPNEGO,
    );

    // Without a reachable KDC, Negotiate with a password falls back to NTLM
    // tokens under the Negotiate scheme; with a cache only it fails.
    let mut realm = realm;
    realm.stop_kdc();
    std::env::set_var(
        "KRB5CCNAME",
        format!(
            "FILE:{}",
            std::env::temp_dir().join("wsman-no-such-ccache").display()
        ),
    );
    let mut ctx =
        new_context(&opts(Mechanism::Negotiate, pw(), "HTTP", None), "localhost").unwrap();
    assert_eq!(ctx.http_scheme(), "Negotiate");
    assert!(ctx.step(None).unwrap().unwrap().starts_with(b"NTLMSSP\0"));
    assert!(new_context(
        &opts(Mechanism::Negotiate, Secret::None, "HTTP", None),
        "localhost"
    )
    .is_err());
}
