//! Where the WS-Management service listens: scheme, host, port and path
//! ([MS-WSMV] 2.2.1: `http://host:5985/wsman`, `https://host:5986/wsman`).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::{Error, Result};

/// Default WinRM port over HTTP ([MS-WSMV] 2.2.1).
pub const DEFAULT_HTTP_PORT: u16 = 5985;
/// Default WinRM port over HTTPS ([MS-WSMV] 2.2.1).
pub const DEFAULT_HTTPS_PORT: u16 = 5986;
/// Default URL path of the WS-Management listener.
pub const DEFAULT_PATH: &str = "/wsman";

/// HTTP or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP: bodies must be sealed by the security context unless
    /// unencrypted traffic is explicitly allowed.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// 5985 or 5986.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => DEFAULT_HTTP_PORT,
            Scheme::Https => DEFAULT_HTTPS_PORT,
        }
    }
}

/// A parsed WS-Management endpoint URL.
///
/// Accepts what a person types: `server01`, `server01:5986`,
/// `http://127.0.0.1:5985/wsman`, `https://[2001:db8::1]/wsman`, a bare
/// IPv6 literal (`::1`, no port then). Without a scheme, `https` selects
/// HTTPS (port 5986); the path defaults to `/wsman`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP or HTTPS.
    pub scheme: Scheme,
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path (and query) of the listener, starting with `/`.
    pub path: String,
}

impl Endpoint {
    /// Parses `input`; `https` is the `--https` flag, used when the input
    /// has no scheme (an explicit `http://` together with it is an error).
    pub fn parse(input: &str, https: bool) -> Result<Endpoint> {
        let input = input.trim();
        // Whatever is wrong, the message never repeats a user:password.
        let shown = without_userinfo(input);
        let bad = |why: &str| Error::Config {
            message: format!("invalid endpoint {shown:?}: {why}"),
        };
        if input.is_empty() {
            return Err(bad("empty host"));
        }
        let (scheme, rest) = match input.find("://") {
            Some(i) => {
                let s = &input[..i];
                let scheme = if s.eq_ignore_ascii_case("http") {
                    Scheme::Http
                } else if s.eq_ignore_ascii_case("https") {
                    Scheme::Https
                } else {
                    return Err(bad("the scheme must be http or https"));
                };
                if https && scheme == Scheme::Http {
                    return Err(bad("HTTPS was asked for, but the URL says http://"));
                }
                (scheme, &input[i + 3..])
            }
            None if https => (Scheme::Https, input),
            None => (Scheme::Http, input),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad(
                "user names and passwords do not belong in the URL; pass them separately",
            ));
        }
        let (host, port) = split_authority(authority).map_err(|w| bad(&w))?;
        validate_host(&host).map_err(|w| bad(&w))?;
        let path = if path.is_empty() || path == "/" {
            DEFAULT_PATH.to_string()
        } else if path.starts_with('?') {
            format!("{DEFAULT_PATH}{path}")
        } else {
            path.to_string()
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("the path contains spaces or control characters"));
        }
        Ok(Endpoint {
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
            path,
        })
    }

    /// Whether TLS is used.
    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// `host:port` with brackets around an IPv6 literal: the `Host` header
    /// and the target of a proxy `CONNECT`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host as an IP address, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.path
        )
    }
}

impl std::str::FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Endpoint> {
        Endpoint::parse(s, false)
    }
}

fn parse_port(s: &str) -> std::result::Result<u16, String> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port {s:?} is not a number from 1 to 65535")),
        Ok(p) => Ok(p),
    }
}

fn split_authority(a: &str) -> std::result::Result<(String, Option<u16>), String> {
    if let Some(rest) = a.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| "missing ']' after the IPv6 address".to_string())?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':').ok_or_else(|| {
                format!("unexpected {p:?} after the IPv6 address")
            })?)?),
        };
        host.parse::<Ipv6Addr>()
            .map_err(|_| format!("{host:?} is not an IPv6 address"))?;
        return Ok((host.to_string(), port));
    }
    match a.matches(':').count() {
        0 => Ok((a.to_string(), None)),
        1 => {
            let (h, p) = a.split_once(':').expect("one colon");
            Ok((h.to_string(), Some(parse_port(p)?)))
        }
        // A bare IPv6 literal: no port can follow without brackets.
        _ => {
            a.parse::<Ipv6Addr>().map_err(|_| {
                format!("{a:?} is not an IPv6 address (write [address]:port for a port)")
            })?;
            Ok((a.to_string(), None))
        }
    }
}

fn validate_host(h: &str) -> std::result::Result<(), String> {
    if h.is_empty() {
        return Err("empty host".into());
    }
    if h.contains(':') {
        return Ok(()); // checked as IPv6 already
    }
    if h.len() > 253 {
        return Err("host name longer than 253 characters".into());
    }
    if let Some(c) = h
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!("the host contains {c:?}"));
    }
    Ok(())
}

/// `input` with the user information of its authority (`user:password@`)
/// replaced by `***@`, for messages.
fn without_userinfo(input: &str) -> String {
    let start = input.find("://").map_or(0, |i| i + 3);
    let end = input[start..]
        .find(['/', '?', '#'])
        .map_or(input.len(), |i| start + i);
    match input[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &input[..start], &input[start + at..]),
        None => input.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, https: bool) -> Endpoint {
        Endpoint::parse(s, https).unwrap()
    }

    #[test]
    fn bare_host_defaults() {
        let e = p("server01", false);
        assert_eq!(e.to_string(), "http://server01:5985/wsman");
        let e = p("server01", true);
        assert_eq!(e.to_string(), "https://server01:5986/wsman");
        assert!(e.is_https());
    }

    #[test]
    fn host_and_port() {
        let e = p("server01:5986", false);
        assert_eq!((e.scheme, e.port), (Scheme::Http, 5986));
        let e = p("server01:8443", true);
        assert_eq!(e.to_string(), "https://server01:8443/wsman");
    }

    #[test]
    fn full_urls() {
        let e = p("http://127.0.0.1:5985/wsman", false);
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 5985, "/wsman")
        );
        let e = p("HTTPS://host.example.com/custom/path", false);
        assert_eq!(e.to_string(), "https://host.example.com:5986/custom/path");
        let e = p("https://host/", false);
        assert_eq!(e.path, "/wsman");
        let e = p("https://host?PSVersion=5.1", false);
        assert_eq!(e.path, "/wsman?PSVersion=5.1");
        let e = p("https://host", true);
        assert_eq!(e.port, 5986);
    }

    #[test]
    fn ipv6_literals() {
        let e = p("[::1]:5985", false);
        assert_eq!((e.host.as_str(), e.port), ("::1", 5985));
        assert_eq!(e.authority(), "[::1]:5985");
        let e = p("https://[2001:db8::1]/wsman", false);
        assert_eq!(e.to_string(), "https://[2001:db8::1]:5986/wsman");
        let e = p("fe80::1", true);
        assert_eq!((e.host.as_str(), e.port), ("fe80::1", 5986));
        assert!(e.ip().is_some());
    }

    #[test]
    fn errors_are_clear() {
        for (input, https, needle) in [
            ("", false, "empty"),
            ("ftp://host", false, "scheme"),
            ("http://host", true, "HTTPS was asked for"),
            ("host:0", false, "port"),
            ("host:99999", false, "port"),
            ("host:abc", false, "port"),
            ("[::1", false, "]"),
            ("[nothost]:80", false, "IPv6"),
            ("1:2:zz", false, "IPv6"),
            ("user@host", false, "user"),
            ("ho st", false, "host"),
            ("http://", false, "empty host"),
        ] {
            let err = Endpoint::parse(input, https).unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_repeating_it() {
        for input in [
            "http://bob:secretpw@host/wsman",
            "bob:secretpw@host",
            "https://bob:secretpw@host:5986",
            "http://bob:secretpw@bad host/wsman",
        ] {
            let e = Endpoint::parse(input, false).unwrap_err().to_string();
            assert!(!e.contains("secretpw"), "{e}");
            assert!(!e.contains("bob"), "{e}");
            assert!(e.contains("***@"), "{e}");
        }
        let e = Endpoint::parse("http://bob:secretpw@host/wsman", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("passwords do not belong in the URL"), "{e}");
    }
}
