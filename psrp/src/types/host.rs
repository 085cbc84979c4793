//! The client host: HostInfo ([MS-PSRP] 2.2.3.14) and the remote host
//! methods ([MS-PSRP] 2.2.3.17).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use crate::clixml::{Content, Value};
use crate::error::{Error, Result};
use crate::obj::{as_i64, as_string, enum_value, kind, Builder, Obj};

/// HostInfo ([MS-PSRP] 2.2.3.14): what the client's host supports and its
/// default data (colours, sizes, title), sent with INIT_RUNSPACEPOOL and
/// CREATE_PIPELINE.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostInfo {
    /// `_isHostNull`: there is no host at all.
    pub is_host_null: bool,
    /// `_isHostUINull`: the host has no UI.
    pub is_host_ui_null: bool,
    /// `_isHostRawUINull`: the host's UI has no raw UI.
    pub is_host_raw_ui_null: bool,
    /// `_useRunspaceHost`: a pipeline uses its RunspacePool's host.
    pub use_runspace_host: bool,
    /// `_hostDefaultData`: key (2.2.3.14 table) to the value's .NET type
    /// name and value, in order.
    pub default_data: Option<Vec<(i32, String, Value)>>,
}

impl HostInfo {
    /// No host: every call to the host fails on the server. What a
    /// non-interactive client sends.
    pub fn none() -> Self {
        HostInfo {
            is_host_null: true,
            is_host_ui_null: true,
            is_host_raw_ui_null: true,
            use_runspace_host: true,
            default_data: None,
        }
    }

    /// A host with a UI and raw UI, optionally with default data.
    pub fn interactive(default_data: Option<Vec<(i32, String, Value)>>) -> Self {
        HostInfo {
            is_host_null: false,
            is_host_ui_null: false,
            is_host_raw_ui_null: false,
            use_runspace_host: false,
            default_data,
        }
    }

    /// Encodes the host info.
    pub fn to_value(&self) -> Value {
        let mut b = Builder::new();
        if let Some(data) = &self.default_data {
            let entries = data
                .iter()
                .map(|(k, t, v)| {
                    (
                        Value::I32(*k),
                        Builder::new()
                            .prop("T", t.as_str())
                            .prop("V", v.clone())
                            .build(),
                    )
                })
                .collect();
            let dict = Builder::new()
                .types(&["System.Collections.Hashtable", "System.Object"])
                .content(Content::Dictionary(entries))
                .build();
            b = b.prop(
                "_hostDefaultData",
                Builder::new().prop("data", dict).build(),
            );
        }
        b.prop("_isHostNull", self.is_host_null)
            .prop("_isHostUINull", self.is_host_ui_null)
            .prop("_isHostRawUINull", self.is_host_raw_ui_null)
            .prop("_useRunspaceHost", self.use_runspace_host)
            .build()
    }

    /// Decodes host info.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "HostInfo")?;
        let default_data = match o.opt("_hostDefaultData") {
            None => None,
            Some(d) => {
                let d = Obj::of(d, "HostInfo._hostDefaultData")?;
                let data = d.req("data")?;
                let entries = match data {
                    Value::Object(o) => match &o.content {
                        Content::Dictionary(e) => e,
                        _ => return Err(Error::clixml("HostInfo", "data is not a dictionary")),
                    },
                    other => {
                        return Err(Error::clixml(
                            "HostInfo",
                            format!("data should be a dictionary, found {}", kind(other)),
                        ))
                    }
                };
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = as_i64(k)
                        .and_then(|k| i32::try_from(k).ok())
                        .ok_or_else(|| {
                            Error::clixml("HostInfo", "a default data key is not an integer")
                        })?;
                    let e = Obj::of(v, "HostInfo default data entry")?;
                    out.push((k, e.string("T")?, e.value("V")));
                }
                Some(out)
            }
        };
        Ok(HostInfo {
            is_host_null: o.opt_bool("_isHostNull")?.unwrap_or(true),
            is_host_ui_null: o.opt_bool("_isHostUINull")?.unwrap_or(true),
            is_host_raw_ui_null: o.opt_bool("_isHostRawUINull")?.unwrap_or(true),
            use_runspace_host: o.opt_bool("_useRunspaceHost")?.unwrap_or(true),
            default_data,
        })
    }
}

/// The console a host describes in `_hostDefaultData` ([MS-PSRP] 2.2.3.14):
/// what the server's `$Host.UI.RawUI` reports before any host call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDefaultData {
    /// Key 0: ForegroundColor (a System.ConsoleColor value).
    pub foreground_color: i32,
    /// Key 1: BackgroundColor.
    pub background_color: i32,
    /// Key 2: CursorPosition.
    pub cursor_position: Coordinates,
    /// Key 3: WindowPosition.
    pub window_position: Coordinates,
    /// Key 4: CursorSize (percent of a cell).
    pub cursor_size: i32,
    /// Key 5: BufferSize.
    pub buffer_size: Size,
    /// Key 6: WindowSize.
    pub window_size: Size,
    /// Key 7: MaxWindowSize.
    pub max_window_size: Size,
    /// Key 8: MaxPhysicalWindowSize.
    pub max_physical_window_size: Size,
    /// Key 9: WindowTitle.
    pub window_title: String,
}

impl HostDefaultData {
    /// The entries of `_hostDefaultData`, for [`HostInfo::default_data`].
    pub fn to_entries(&self) -> Vec<(i32, String, Value)> {
        const COLOR: &str = "System.ConsoleColor";
        const COORD: &str = "System.Management.Automation.Host.Coordinates";
        const SIZE: &str = "System.Management.Automation.Host.Size";
        vec![
            (0, COLOR.into(), Value::I32(self.foreground_color)),
            (1, COLOR.into(), Value::I32(self.background_color)),
            (2, COORD.into(), self.cursor_position.to_value()),
            (3, COORD.into(), self.window_position.to_value()),
            (4, "System.Int32".into(), Value::I32(self.cursor_size)),
            (5, SIZE.into(), self.buffer_size.to_value()),
            (6, SIZE.into(), self.window_size.to_value()),
            (7, SIZE.into(), self.max_window_size.to_value()),
            (8, SIZE.into(), self.max_physical_window_size.to_value()),
            (
                9,
                "System.String".into(),
                Value::String(self.window_title.clone()),
            ),
        ]
    }

    /// Reads the entries of `_hostDefaultData`; every key 0 to 9 must be
    /// present.
    pub fn from_entries(entries: &[(i32, String, Value)]) -> Result<Self> {
        let get = |key: i32| {
            entries
                .iter()
                .find(|(k, _, _)| *k == key)
                .map(|(_, _, v)| v)
                .ok_or_else(|| Error::clixml("HostDefaultData", format!("key {key} is missing")))
        };
        let int = |key: i32| -> Result<i32> {
            as_i64(get(key)?)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| {
                    Error::clixml("HostDefaultData", format!("key {key} is not an integer"))
                })
        };
        Ok(HostDefaultData {
            foreground_color: int(0)?,
            background_color: int(1)?,
            cursor_position: Coordinates::from_value(get(2)?)?,
            window_position: Coordinates::from_value(get(3)?)?,
            cursor_size: int(4)?,
            buffer_size: Size::from_value(get(5)?)?,
            window_size: Size::from_value(get(6)?)?,
            max_window_size: Size::from_value(get(7)?)?,
            max_physical_window_size: Size::from_value(get(8)?)?,
            window_title: as_string(get(9)?).unwrap_or_default().to_string(),
        })
    }
}

macro_rules! host_methods {
    ($($var:ident = $val:literal, [$($param:literal),*], $ret:literal;)*) => {
        /// The remote host methods ([MS-PSRP] 2.2.3.17), with their wire
        /// values. The server calls them with RUNSPACEPOOL_HOST_CALL or
        /// PIPELINE_HOST_CALL; the client answers those that return a value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum HostMethodIdentifier {
            $($var = $val,)*
        }

        impl HostMethodIdentifier {
            /// The .NET type name.
            pub const DOTNET_TYPE: &'static str = "System.Management.Automation.Remoting.RemoteHostMethodId";

            /// Every method, by wire value.
            pub const ALL: &'static [HostMethodIdentifier] = &[$(HostMethodIdentifier::$var,)*];

            /// The method with this wire value.
            pub fn from_i32(v: i32) -> Option<Self> {
                match v {
                    $($val => Some(HostMethodIdentifier::$var),)*
                    _ => None,
                }
            }

            /// The spec's name of the method.
            pub fn name(self) -> &'static str {
                match self {
                    $(HostMethodIdentifier::$var => stringify!($var),)*
                }
            }

            /// The names of the method's arguments in the `mp` list, in
            /// order ([MS-PSRP] 2.2.3.17).
            pub fn parameters(self) -> &'static [&'static str] {
                match self {
                    $(HostMethodIdentifier::$var => &[$($param),*],)*
                }
            }

            /// Whether the method returns a value, so the server waits for a
            /// host response.
            pub fn returns_value(self) -> bool {
                match self {
                    $(HostMethodIdentifier::$var => $ret,)*
                }
            }
        }
    };
}

host_methods! {
    GetName = 1, [], true;
    GetVersion = 2, [], true;
    GetInstanceId = 3, [], true;
    GetCurrentCulture = 4, [], true;
    GetCurrentUICulture = 5, [], true;
    SetShouldExit = 6, ["exitCode"], false;
    EnterNestedPrompt = 7, [], false;
    ExitNestedPrompt = 8, [], false;
    NotifyBeginApplication = 9, [], false;
    NotifyEndApplication = 10, [], false;
    ReadLine = 11, [], true;
    ReadLineAsSecureString = 12, [], true;
    Write1 = 13, ["value"], false;
    Write2 = 14, ["foregroundColor", "backgroundColor", "value"], false;
    WriteLine1 = 15, [], false;
    WriteLine2 = 16, ["value"], false;
    WriteLine3 = 17, ["foregroundColor", "backgroundColor", "value"], false;
    WriteErrorLine = 18, ["value"], false;
    WriteDebugLine = 19, ["message"], false;
    WriteProgress = 20, ["sourceId", "record"], false;
    WriteVerboseLine = 21, ["message"], false;
    WriteWarningLine = 22, ["message"], false;
    Prompt = 23, ["caption", "message", "descriptions"], true;
    PromptForCredential1 = 24, ["caption", "message", "userName", "targetName"], true;
    PromptForCredential2 = 25, ["caption", "message", "userName", "targetName", "allowedCredentialTypes", "options"], true;
    PromptForChoice = 26, ["caption", "message", "choices", "defaultChoice"], true;
    GetForegroundColor = 27, [], true;
    SetForegroundColor = 28, ["foregroundColor"], false;
    GetBackgroundColor = 29, [], true;
    SetBackgroundColor = 30, ["backgroundColor"], false;
    GetCursorPosition = 31, [], true;
    SetCursorPosition = 32, ["cursorPosition"], false;
    GetWindowPosition = 33, [], true;
    SetWindowPosition = 34, ["windowPosition"], false;
    GetCursorSize = 35, [], true;
    SetCursorSize = 36, ["cursorSize"], false;
    GetBufferSize = 37, [], true;
    SetBufferSize = 38, ["bufferSize"], false;
    GetWindowSize = 39, [], true;
    SetWindowSize = 40, ["windowSize"], false;
    GetWindowTitle = 41, [], true;
    SetWindowTitle = 42, ["windowTitle"], false;
    GetMaxWindowSize = 43, [], true;
    GetMaxPhysicalWindowSize = 44, [], true;
    GetKeyAvailable = 45, [], true;
    ReadKey = 46, ["options"], true;
    FlushInputBuffer = 47, [], false;
    SetBufferContents1 = 48, ["rectangle", "fill"], false;
    SetBufferContents2 = 49, ["origin", "contents"], false;
    GetBufferContents = 50, ["rectangle"], true;
    ScrollBufferContents = 51, ["source", "destination", "clip", "fill"], false;
    PushRunspace = 52, ["runspace"], false;
    PopRunspace = 53, [], false;
    GetIsRunspacePushed = 54, [], true;
    GetRunspace = 55, [], true;
    PromptForChoiceMultipleSelection = 56, ["caption", "message", "choices", "defaultChoices"], true;
}

impl HostMethodIdentifier {
    /// The method as a CLIXML enum object (`mi`).
    pub fn to_value(self) -> Value {
        enum_value(Self::DOTNET_TYPE, self.name().to_string(), self as i32)
    }

    /// Reads `mi`.
    pub fn from_value(v: &Value) -> Result<Self> {
        let n = as_i64(v).ok_or_else(|| {
            Error::clixml(
                "HostMethodIdentifier",
                format!("expected an enum, found {}", kind(v)),
            )
        })?;
        i32::try_from(n)
            .ok()
            .and_then(Self::from_i32)
            .ok_or_else(|| Error::clixml("HostMethodIdentifier", format!("unknown method {n}")))
    }
}

/// Coordinates ([MS-PSRP] 2.2.3.1): a cursor or window position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coordinates {
    /// Column.
    pub x: i32,
    /// Row.
    pub y: i32,
}

impl Coordinates {
    /// Encodes as `<Obj><MS><I32 N="x"/><I32 N="y"/></MS></Obj>`.
    pub fn to_value(self) -> Value {
        Builder::new().prop("x", self.x).prop("y", self.y).build()
    }

    /// Decodes.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "Coordinates")?;
        Ok(Coordinates {
            x: o.i32("x")?,
            y: o.i32("y")?,
        })
    }
}

/// Size ([MS-PSRP] 2.2.3.2): a buffer or window size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    /// Columns.
    pub width: i32,
    /// Rows.
    pub height: i32,
}

impl Size {
    /// Encodes as `<Obj><MS><I32 N="width"/><I32 N="height"/></MS></Obj>`.
    pub fn to_value(self) -> Value {
        Builder::new()
            .prop("width", self.width)
            .prop("height", self.height)
            .build()
    }

    /// Decodes.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "Size")?;
        Ok(Size {
            width: o.i32("width")?,
            height: o.i32("height")?,
        })
    }
}

/// KeyInfo ([MS-PSRP] 2.2.3.3): the answer to ReadKey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyInfo {
    /// The virtual key code.
    pub virtual_key_code: i32,
    /// The character, as a UTF-16 code unit.
    pub character: u16,
    /// ControlKeyStates flags.
    pub control_key_state: i32,
    /// Key down (true) or up.
    pub key_down: bool,
}

impl KeyInfo {
    /// Encodes.
    pub fn to_value(self) -> Value {
        Builder::new()
            .prop("virtualKeyCode", self.virtual_key_code)
            .prop("character", Value::Char(self.character))
            .prop("controlKeyState", self.control_key_state)
            .prop("keyDown", self.key_down)
            .build()
    }

    /// Decodes.
    pub fn from_value(v: &Value) -> Result<Self> {
        let o = Obj::of(v, "KeyInfo")?;
        let character = match o.req("character")? {
            Value::Char(c) => *c,
            other => as_i64(other)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| Error::clixml("KeyInfo", "character is not a char"))?,
        };
        Ok(KeyInfo {
            virtual_key_code: o.i32("virtualKeyCode")?,
            character,
            control_key_state: o.i32("controlKeyState")?,
            key_down: o.bool("keyDown")?,
        })
    }
}

/// A string argument of a host call (e.g. the text of WriteLine2), if the
/// argument at `index` is one.
pub fn string_argument(args: &[Value], index: usize) -> Option<&str> {
    args.get(index).and_then(as_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_its_wire_value() {
        assert_eq!(HostMethodIdentifier::ALL.len(), 56);
        for (i, m) in HostMethodIdentifier::ALL.iter().enumerate() {
            assert_eq!(*m as i32, i as i32 + 1);
        }
        assert_eq!(HostMethodIdentifier::ReadKey as i32, 46);
        assert!(!HostMethodIdentifier::SetShouldExit.returns_value());
        assert_eq!(HostMethodIdentifier::Write2.parameters().len(), 3);
    }

    #[test]
    fn default_data_matches_a_recorded_init_runspacepool() {
        // HostInfo of pypsrp's test_psrp_pshost_raw_ui_mocked_methods.yml,
        // which Windows accepted.
        let recorded = crate::clixml::from_str(concat!(
            r#"<Obj N="HostInfo" RefId="3"><MS><Obj N="_hostDefaultData" RefId="4"><MS><Obj N="data" RefId="5"><TN RefId="2"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT>"#,
            r#"<En><I32 N="Key">0</I32><Obj N="Value" RefId="6"><MS><S N="T">System.ConsoleColor</S><I32 N="V">15</I32></MS></Obj></En>"#,
            r#"<En><I32 N="Key">1</I32><Obj N="Value" RefId="7"><MS><S N="T">System.ConsoleColor</S><I32 N="V">9</I32></MS></Obj></En>"#,
            r#"<En><I32 N="Key">2</I32><Obj N="Value" RefId="8"><MS><S N="T">System.Management.Automation.Host.Coordinates</S><Obj N="V" RefId="9"><MS><I32 N="x">1</I32><I32 N="y">2</I32></MS></Obj></MS></Obj></En>"#,
            r#"<En><I32 N="Key">3</I32><Obj N="Value" RefId="10"><MS><S N="T">System.Management.Automation.Host.Coordinates</S><Obj N="V" RefId="11"><MS><I32 N="x">3</I32><I32 N="y">4</I32></MS></Obj></MS></Obj></En>"#,
            r#"<En><I32 N="Key">4</I32><Obj N="Value" RefId="12"><MS><S N="T">System.Int32</S><I32 N="V">50</I32></MS></Obj></En>"#,
            r#"<En><I32 N="Key">5</I32><Obj N="Value" RefId="13"><MS><S N="T">System.Management.Automation.Host.Size</S><Obj N="V" RefId="14"><MS><I32 N="height">80</I32><I32 N="width">80</I32></MS></Obj></MS></Obj></En>"#,
            r#"<En><I32 N="Key">6</I32><Obj N="Value" RefId="15"><MS><S N="T">System.Management.Automation.Host.Size</S><Obj N="V" RefId="16"><MS><I32 N="height">80</I32><I32 N="width">80</I32></MS></Obj></MS></Obj></En>"#,
            r#"<En><I32 N="Key">7</I32><Obj N="Value" RefId="17"><MS><S N="T">System.Management.Automation.Host.Size</S><Obj N="V" RefId="18"><MS><I32 N="height">80</I32><I32 N="width">80</I32></MS></Obj></MS></Obj></En>"#,
            r#"<En><I32 N="Key">8</I32><Obj N="Value" RefId="19"><MS><S N="T">System.Management.Automation.Host.Size</S><Obj N="V" RefId="20"><MS><I32 N="height">80</I32><I32 N="width">80</I32></MS></Obj></MS></Obj></En>"#,
            r#"<En><I32 N="Key">9</I32><Obj N="Value" RefId="21"><MS><S N="T">System.String</S><S N="V">pypsrp window</S></MS></Obj></En>"#,
            r#"</DCT></Obj></MS></Obj><B N="_isHostNull">false</B><B N="_isHostUINull">false</B><B N="_isHostRawUINull">false</B><B N="_useRunspaceHost">false</B></MS></Obj>"#,
        ))
        .unwrap();
        let size = Size {
            width: 80,
            height: 80,
        };
        let data = HostDefaultData {
            foreground_color: 15,
            background_color: 9,
            cursor_position: Coordinates { x: 1, y: 2 },
            window_position: Coordinates { x: 3, y: 4 },
            cursor_size: 50,
            buffer_size: size,
            window_size: size,
            max_window_size: size,
            max_physical_window_size: size,
            window_title: "pypsrp window".into(),
        };
        let recorded = HostInfo::from_value(&recorded).unwrap();
        let entries = recorded.default_data.as_deref().unwrap();
        assert_eq!(HostDefaultData::from_entries(entries).unwrap(), data);
        // Same keys and .NET types in the same order as pypsrp sent.
        let ours = HostInfo::interactive(Some(data.to_entries()));
        let keys = |h: &HostInfo| -> Vec<(i32, String)> {
            h.default_data
                .as_ref()
                .unwrap()
                .iter()
                .map(|(k, t, _)| (*k, t.clone()))
                .collect()
        };
        assert_eq!(keys(&ours), keys(&recorded));
        assert_eq!(
            HostDefaultData::from_entries(ours.default_data.as_deref().unwrap()).unwrap(),
            data
        );
        assert!(HostDefaultData::from_entries(&entries[1..]).is_err());
    }

    #[test]
    fn host_info_round_trips() {
        let h = HostInfo::interactive(Some(vec![(
            9,
            "System.String".into(),
            Value::String("t".into()),
        )]));
        assert_eq!(HostInfo::from_value(&h.to_value()).unwrap(), h);
        let n = HostInfo::none();
        assert_eq!(HostInfo::from_value(&n.to_value()).unwrap(), n);
    }
}
