//! HTTP proxies: every connection (HTTP or HTTPS to the host) goes through
//! an HTTP `CONNECT` tunnel ([RFC 9110] 9.3.6), so the TCP connection the
//! security context is bound to runs end to end.
//!
//! [RFC 9110]: https://www.rfc-editor.org/rfc/rfc9110
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::endpoint::{Endpoint, Scheme};
use crate::{Error, Result};

/// Which proxy to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// From the environment: `https_proxy`/`HTTPS_PROXY` for HTTPS
    /// endpoints, `http_proxy`/`HTTP_PROXY` for HTTP ones, unless the host
    /// matches `no_proxy`/`NO_PROXY` (lower case wins when both are set)
    /// or is a loopback address or `localhost`, which is never proxied.
    #[default]
    FromEnv,
    /// Connect directly, whatever the environment says.
    None,
    /// This proxy: `http://[user:password@]host[:port]` (port 8080 when
    /// absent; percent-encoded user and password become Basic credentials).
    Url(String),
}

/// A resolved proxy.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub host: String,
    pub port: u16,
    /// `Basic <base64>` for `Proxy-Authorization`.
    authorization: Option<String>,
    /// The user, for messages.
    user: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .finish()
    }
}

impl Proxy {
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Resolves `setting` for `endpoint`, reading variables through `env`.
pub(crate) fn resolve(
    setting: &ProxySetting,
    endpoint: &Endpoint,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>> {
    let var = |name: &str| {
        env(&name.to_ascii_lowercase())
            .or_else(|| env(&name.to_ascii_uppercase()))
            .filter(|v| !v.trim().is_empty())
    };
    match setting {
        ProxySetting::None => Ok(None),
        ProxySetting::Url(u) => parse_proxy_url(u).map(Some),
        ProxySetting::FromEnv => {
            if is_loopback(&endpoint.host) {
                return Ok(None);
            }
            let name = match endpoint.scheme {
                Scheme::Https => "https_proxy",
                Scheme::Http => "http_proxy",
            };
            let Some(url) = var(name) else {
                return Ok(None);
            };
            if let Some(no) = var("no_proxy") {
                if no_proxy_matches(&no, &endpoint.host, endpoint.port) {
                    return Ok(None);
                }
            }
            parse_proxy_url(&url).map(Some).map_err(|e| Error::Config {
                message: format!("{name}: {e}"),
            })
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `NO_PROXY`: comma- or space-separated host names, domain suffixes
/// (`.example.com` or `example.com`, matching subdomains too), IP literals,
/// optional `:port`, or `*` for everything.
fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, eport) = split_entry_port(&entry);
            if let Some(p) = eport {
                if p != port {
                    return false;
                }
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            let name = name.trim_start_matches('[').trim_end_matches(']');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

fn split_entry_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h, p.parse().ok());
        }
        return (entry, None);
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (entry, None),
    }
}

fn percent_decode(s: &str) -> std::result::Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "bad percent-encoding in the proxy credentials".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "proxy credentials are not UTF-8".to_string())
}

fn parse_proxy_url(url: &str) -> Result<Proxy> {
    let bad = |why: String| Error::Config {
        message: format!("invalid proxy URL: {why}"),
    };
    let url = url.trim();
    let rest = match url.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => rest,
        Some((s, _)) => {
            return Err(bad(format!(
            "scheme {s:?} is not supported; use an http:// proxy (it tunnels HTTPS with CONNECT)"
        )))
        }
        None => url,
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (authorization, user) = match userinfo {
        None => (None, None),
        Some(u) => {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            let user = percent_decode(user).map_err(bad)?;
            let pass = zeroize::Zeroizing::new(percent_decode(pass).map_err(bad)?);
            let raw = zeroize::Zeroizing::new(format!("{user}:{}", pass.as_str()));
            let b64 = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
            (Some(format!("Basic {b64}")), Some(user))
        }
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or_else(|| bad("missing ']'".into()))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad(format!("unexpected {after:?}"))),
        };
        (h.to_string(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host".into()));
    }
    let port = match port {
        None => 8080,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad(format!("port {p:?} is not a number from 1 to 65535")))?,
    };
    Ok(Proxy {
        host,
        port,
        authorization,
        user,
    })
}

/// Largest `CONNECT` response header accepted.
const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// Opens a tunnel to `target` (`host:port`) through the proxy on `stream`.
pub(crate) async fn connect_tunnel(
    stream: &mut TcpStream,
    proxy: &Proxy,
    target: &str,
) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::Transport {
        message: format!("proxy {}: {what}", proxy.authority()),
        source: Some(Box::new(e)),
    };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(a) = &proxy.authorization {
        req.push_str("Proxy-Authorization: ");
        req.push_str(a);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    let req = zeroize::Zeroizing::new(req);
    tracing::debug!(proxy = %proxy.authority(), %target, "CONNECT");
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| io("sending CONNECT", e))?;
    // Read byte by byte up to the blank line: nothing of the tunnel may be
    // consumed here (the proxy sends nothing more until the host does).
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_CONNECT_RESPONSE {
            return Err(Error::Protocol {
                message: format!(
                    "proxy {} sent a CONNECT answer longer than 16 KiB",
                    proxy.authority()
                ),
            });
        }
        let n = stream
            .read(&mut byte)
            .await
            .map_err(|e| io("reading the CONNECT answer", e))?;
        if n == 0 {
            return Err(Error::Transport {
                message: format!(
                    "proxy {} closed the connection instead of answering CONNECT {target}",
                    proxy.authority()
                ),
                source: None,
            });
        }
        head.push(byte[0]);
    }
    let status_line = head
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    tracing::debug!(proxy = %proxy.authority(), status = %status_line, "CONNECT answered");
    match code {
        Some(200..=299) if version.starts_with("HTTP/1.") => Ok(()),
        Some(407) => Err(Error::Authentication {
            message: match &proxy.user {
                Some(u) => format!(
                    "proxy {} refused the credentials of {u:?} ({status_line})",
                    proxy.authority()
                ),
                None => format!(
                    "proxy {} needs credentials: put them in the proxy URL, http://user:password@{}",
                    proxy.authority(),
                    proxy.authority()
                ),
            },
        }),
        Some(_) => Err(Error::Transport {
            message: format!(
                "proxy {} refused CONNECT {target}: {status_line}",
                proxy.authority()
            ),
            source: None,
        }),
        None => Err(Error::Protocol {
            message: format!(
                "proxy {} answered CONNECT with {status_line:?}, not HTTP",
                proxy.authority()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn ep(s: &str) -> Endpoint {
        Endpoint::parse(s, false).unwrap()
    }

    #[test]
    fn explicit_url_with_credentials() {
        let p = resolve(
            &ProxySetting::Url("http://al%40ice:p%3Ass@proxy.corp:3128".into()),
            &ep("host"),
            env(&[]),
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(p.user.as_deref(), Some("al@ice"));
        let b64 = base64::engine::general_purpose::STANDARD.encode("al@ice:p:ss");
        assert_eq!(p.authorization, Some(format!("Basic {b64}")));
        assert!(
            !format!("{p:?}").contains(&b64),
            "credentials leak in Debug"
        );
        let p = parse_proxy_url("[::1]").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 8080));
    }

    #[test]
    fn env_by_scheme_and_case() {
        let e = env(&[("HTTPS_PROXY", "http://s:1"), ("http_proxy", "http://p:2")]);
        let p = resolve(&ProxySetting::FromEnv, &ep("https://h"), &e).unwrap();
        assert_eq!(p.map(|p| p.port), Some(1));
        let p = resolve(&ProxySetting::FromEnv, &ep("http://h"), &e).unwrap();
        assert_eq!(p.map(|p| p.port), Some(2));
        let e = env(&[
            ("HTTP_PROXY", "http://upper:1"),
            ("http_proxy", "http://lower:2"),
        ]);
        let p = resolve(&ProxySetting::FromEnv, &ep("h"), &e)
            .unwrap()
            .unwrap();
        assert_eq!(p.host, "lower");
        assert_eq!(resolve(&ProxySetting::None, &ep("h"), &e).unwrap(), None);
        assert_eq!(
            resolve(&ProxySetting::FromEnv, &ep("h"), env(&[])).unwrap(),
            None
        );
    }

    #[test]
    fn no_proxy_rules() {
        assert!(no_proxy_matches("*", "anything", 1));
        assert!(no_proxy_matches(
            "a.com, .corp.example",
            "host.corp.example",
            1
        ));
        assert!(no_proxy_matches("corp.example", "host.CORP.example", 1));
        assert!(no_proxy_matches("corp.example", "corp.example", 1));
        assert!(!no_proxy_matches("corp.example", "notcorp.example", 1));
        assert!(no_proxy_matches("127.0.0.1:5985", "127.0.0.1", 5985));
        assert!(!no_proxy_matches("127.0.0.1:5985", "127.0.0.1", 5986));
        assert!(no_proxy_matches("[::1]", "::1", 5985));
        assert!(no_proxy_matches("::1", "::1", 5985));
        let e = env(&[
            ("https_proxy", "http://p:1"),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ]);
        assert_eq!(
            resolve(&ProxySetting::FromEnv, &ep("https://127.0.0.1"), &e).unwrap(),
            None
        );
        assert!(resolve(&ProxySetting::FromEnv, &ep("https://h"), &e)
            .unwrap()
            .is_some());
    }

    #[test]
    fn loopback_is_never_proxied_from_the_environment() {
        let e = env(&[("https_proxy", "http://p:1"), ("http_proxy", "http://p:1")]);
        for host in [
            "https://127.0.0.1",
            "http://127.9.9.9",
            "https://[::1]",
            "http://LocalHost",
        ] {
            assert_eq!(
                resolve(&ProxySetting::FromEnv, &ep(host), &e).unwrap(),
                None,
                "{host}"
            );
        }
        // an explicit proxy is used even for loopback
        let p = resolve(
            &ProxySetting::Url("http://p:1".into()),
            &ep("http://127.0.0.1"),
            &e,
        );
        assert!(p.unwrap().is_some());
    }

    #[test]
    fn bad_proxy_urls() {
        for (u, needle) in [
            ("socks5://p:1", "not supported"),
            ("http://:1", "no host"),
            ("http://p:0", "port"),
            ("http://p:x", "port"),
            ("http://u%zz@p", "percent"),
        ] {
            let e = parse_proxy_url(u).unwrap_err().to_string();
            assert!(e.contains(needle), "{u}: {e}");
        }
    }
}
