//! Namespaces, actions, resource URIs, signal codes and command states of
//! WS-Management ([DSP0226] 5, annex A) and its Windows extensions
//! ([MS-WSMV] 2.2.1, 2.2.4).
//!
//! [DSP0226]: https://www.dmtf.org/standards/published_documents/DSP0226_1.2.0.pdf
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/

/// SOAP 1.2 envelope namespace (prefix `s`).
pub const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope namespace, seen in some faults from older stacks.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// WS-Addressing (2004/08) namespace (prefix `wsa`).
pub const ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// DMTF WS-Management namespace (prefix `wsman`).
pub const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft WS-Management extensions namespace (prefix `wsmv`), [MS-WSMV] 2.2.1.
pub const WSMV: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
/// Windows remote shell namespace (prefix `rsp`), [MS-WSMV] 2.2.4.
pub const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// WS-Transfer namespace (prefix `wst`/`x`).
pub const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// WS-Enumeration namespace (prefix `wsen`/`n`).
pub const ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
/// WS-Management Identify namespace (prefix `wsmid`), DSP0226 11.
pub const IDENTITY: &str = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
/// `WSManFault` detail namespace (prefix `f`), [MS-WSMV] 2.2.4.43.
pub const WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
/// PowerShell namespace of `creationXml`, `connectXml` and `connectResponseXml`
/// ([MS-PSRP] 3.1.5.3).
pub const POWERSHELL: &str = "http://schemas.microsoft.com/powershell";
/// XML Schema instance namespace (`xsi:nil`, `xsi:type`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The `xml:` prefix namespace (`xml:lang`).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// The anonymous WS-Addressing reply endpoint (`wsa:ReplyTo/wsa:Address`).
pub const ADDRESS_ANONYMOUS: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// `wsa:Action` URIs of requests and responses (DSP0226 annex A, [MS-WSMV] 3.1.4).
pub mod action {
    /// WS-Transfer Get.
    pub const GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
    /// WS-Transfer GetResponse.
    pub const GET_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
    /// WS-Transfer Put.
    pub const PUT: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put";
    /// WS-Transfer PutResponse.
    pub const PUT_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/PutResponse";
    /// WS-Transfer Create (also creates a shell, [MS-WSMV] 3.1.4.5).
    pub const CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
    /// WS-Transfer CreateResponse.
    pub const CREATE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse";
    /// WS-Transfer Delete (also deletes a shell, [MS-WSMV] 3.1.4.6).
    pub const DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
    /// WS-Transfer DeleteResponse.
    pub const DELETE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
    /// WS-Enumeration Enumerate.
    pub const ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
    /// WS-Enumeration EnumerateResponse.
    pub const ENUMERATE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
    /// WS-Enumeration Pull.
    pub const PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
    /// WS-Enumeration PullResponse.
    pub const PULL_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse";
    /// WS-Enumeration Release.
    pub const RELEASE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";
    /// WS-Enumeration ReleaseResponse.
    pub const RELEASE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/ReleaseResponse";
    /// Shell Command ([MS-WSMV] 3.1.4.11).
    pub const COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
    /// Shell CommandResponse.
    pub const COMMAND_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse";
    /// Shell Send ([MS-WSMV] 3.1.4.13).
    pub const SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
    /// Shell SendResponse.
    pub const SEND_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse";
    /// Shell Receive ([MS-WSMV] 3.1.4.14).
    pub const RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
    /// Shell ReceiveResponse.
    pub const RECEIVE_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse";
    /// Shell Signal ([MS-WSMV] 3.1.4.12).
    pub const SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
    /// Shell SignalResponse.
    pub const SIGNAL_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse";
    /// Shell Disconnect ([MS-WSMV] 3.1.4.15).
    pub const DISCONNECT: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Disconnect";
    /// Shell DisconnectResponse.
    pub const DISCONNECT_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/DisconnectResponse";
    /// Shell Reconnect ([MS-WSMV] 3.1.4.16).
    pub const RECONNECT: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Reconnect";
    /// Shell ReconnectResponse.
    pub const RECONNECT_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReconnectResponse";
    /// Shell Connect ([MS-WSMV] 3.1.4.17).
    pub const CONNECT: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Connect";
    /// Shell ConnectResponse.
    pub const CONNECT_RESPONSE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ConnectResponse";
    /// The generic WS-Management fault action.
    pub const FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
    /// The WS-Addressing fault action.
    pub const ADDRESSING_FAULT: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
}

/// Resource URIs ([MS-WSMV] 3.1.4.1.x).
pub mod uri {
    /// The WinRS text-based command shell (cmd.exe).
    pub const SHELL_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
    /// All shells of the user (Enumerate lists shells, PowerShell or WinRS).
    pub const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
    /// The commands of one shell (Enumerate with a ShellId selector).
    pub const SHELL_COMMAND: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
    /// Prefix of PowerShell endpoints; append the configuration name.
    pub const POWERSHELL_PREFIX: &str = "http://schemas.microsoft.com/powershell/";
    /// The default PowerShell endpoint.
    pub const POWERSHELL_DEFAULT: &str =
        "http://schemas.microsoft.com/powershell/Microsoft.PowerShell";
    /// The WinRM service configuration (`winrm get winrm/config`).
    pub const CONFIG: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";
    /// Prefix of WMI classes in `root/cimv2`; append the class name.
    pub const WMI_CIMV2_PREFIX: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/";
    /// All classes of a namespace (used with a WQL filter).
    pub const WMI_ALL: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*";
}

/// Signal codes of `rsp:Signal/rsp:Code` ([MS-WSMV] 2.2.4.38).
pub mod signal {
    /// Terminate the command (WinRS and PowerShell).
    pub const TERMINATE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
    /// Ctrl+C to a WinRS command.
    pub const CTRL_C: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c";
    /// Ctrl+Break to a WinRS command.
    pub const CTRL_BREAK: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break";
    /// PowerShell pipeline stop: a relative URI, misspelt `crtl_c`, as
    /// [MS-PSRP] 3.1.5.3.9 requires and PowerShell sends.
    pub const PS_CTRL_C: &str = "powershell/signal/crtl_c";
    /// PowerShell pipeline stop as [MS-WSMV] 2.2.5.6 and pypsrp spell it;
    /// Windows accepts it too (test_psrp_nested_command).
    pub const PS_CTRL_C_ALT: &str = "powershell/signal/ctrl_c";
}

/// `rsp:CommandState/@State` URIs ([MS-WSMV] 2.2.4.7).
pub mod state {
    /// The command has finished; an exit code may follow.
    pub const DONE: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
    /// The command is running.
    pub const RUNNING: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";
    /// The command is waiting for input.
    pub const PENDING: &str =
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending";
}

/// Enumeration filter dialects (DSP0226 8.2.1, [MS-WSMV] 3.1.4.8).
pub mod dialect {
    /// WMI Query Language.
    pub const WQL: &str = "http://schemas.microsoft.com/wbem/wsman/1/WQL";
    /// Selector filter: instances whose keys match a selector set.
    pub const SELECTOR: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter";
    /// CIM association filter.
    pub const ASSOCIATION: &str =
        "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter";
}

/// Option names Windows understands in `wsman:OptionSet` ([MS-WSMV] 3.1.4.5, 3.1.4.11).
pub mod option {
    /// Do not load the user profile for the shell (`TRUE`/`FALSE`).
    pub const WINRS_NOPROFILE: &str = "WINRS_NOPROFILE";
    /// Output code page of a WinRS shell (437 default, 65001 for UTF-8).
    pub const WINRS_CODEPAGE: &str = "WINRS_CODEPAGE";
    /// Console mode for stdin of a command (`TRUE`/`FALSE`).
    pub const WINRS_CONSOLEMODE_STDIN: &str = "WINRS_CONSOLEMODE_STDIN";
    /// Run the command directly, not through `cmd.exe /c`.
    pub const WINRS_SKIP_CMD_SHELL: &str = "WINRS_SKIP_CMD_SHELL";
    /// Keep the shell alive while a Receive is pending.
    pub const KEEPALIVE: &str = "WSMAN_CMDSHELL_OPTION_KEEPALIVE";
    /// PSRP protocol version on a PowerShell Create/Connect ([MS-PSRP] 3.1.5.3.3).
    pub const PROTOCOL_VERSION: &str = "protocolversion";
}
