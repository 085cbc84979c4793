//! HTTP(S) transport: one owned TCP (and TLS) connection per security
//! context, message sealing, proxies and timeouts ([MS-WSMV] 2.2.9).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
