//! Authentication mechanisms and their security contexts: Basic, NTLM
//! ([MS-NLMP]), Kerberos, Negotiate (SPNEGO), client certificates.
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
