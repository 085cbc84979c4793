//! The SOAP codec, free of I/O: WS-Management request envelopes built into a
//! buffer and responses parsed into typed views ([DSP0226], [MS-WSMV] 2.2).
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
