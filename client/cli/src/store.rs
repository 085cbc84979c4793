//! Local records of PSSessions made by `wsman session new` / `connect`, so
//! that later `wsman` runs can find them by Id, name or InstanceId.
//!
//! Records live in `$WSMAN_STATE_DIR`, else `$XDG_STATE_HOME/wsman`, else
//! `~/.local/state/wsman`, as `sessions.json`. They never hold a password.
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// One locally recorded PSSession.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Local Id, as `Get-PSSession` numbers sessions.
    pub id: u32,
    /// The session's name (`rsp:Name` on the host).
    pub name: String,
    /// The host's endpoint URL.
    pub computer_name: String,
    /// The RunspacePool id, which is also the WS-Man ShellId.
    pub instance_id: Uuid,
    /// The session configuration (endpoint) name.
    pub configuration: String,
    /// The user name it was made with (no secret).
    #[serde(default)]
    pub user: Option<String>,
    /// Ids (PSRP PIDs = WS-Man CommandIds) of pipelines started while
    /// disconnected whose output has not been received yet.
    #[serde(default)]
    pub pending_commands: Vec<Uuid>,
}

/// The folder that holds the records.
pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WSMAN_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(d).join("wsman");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".local/state/wsman")
}

/// The set of local records, loaded from and saved to one folder.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    records: Vec<SessionRecord>,
}

impl Store {
    /// Loads the records of `dir` (none when the file does not exist yet).
    pub fn load(dir: &Path) -> std::io::Result<Store> {
        let path = dir.join("sessions.json");
        let records = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a valid session list: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Store { path, records })
    }

    /// Writes the records back (atomically: a temporary file, then rename).
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let data = serde_json::to_vec_pretty(&self.records).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, &self.path)
    }

    /// All records, by Id.
    pub fn records(&self) -> &[SessionRecord] {
        &self.records
    }

    /// Finds a record by local Id, name or InstanceId.
    pub fn find(&self, key: &str) -> Option<&SessionRecord> {
        if let Ok(guid) = key.parse::<Uuid>() {
            return self.records.iter().find(|r| r.instance_id == guid);
        }
        if let Ok(id) = key.parse::<u32>() {
            if let Some(r) = self.records.iter().find(|r| r.id == id) {
                return Some(r);
            }
        }
        self.records
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(key))
    }

    /// Mutable access to a record by its InstanceId.
    pub fn get_mut(&mut self, instance_id: Uuid) -> Option<&mut SessionRecord> {
        self.records
            .iter_mut()
            .find(|r| r.instance_id == instance_id)
    }

    /// The next free local Id.
    pub fn next_id(&self) -> u32 {
        self.records.iter().map(|r| r.id).max().unwrap_or(0) + 1
    }

    /// Adds or replaces (same InstanceId) a record.
    pub fn upsert(&mut self, record: SessionRecord) {
        match self.get_mut(record.instance_id) {
            Some(r) => *r = record,
            None => self.records.push(record),
        }
    }

    /// Removes the record with this InstanceId; true if there was one.
    pub fn remove(&mut self, instance_id: Uuid) -> bool {
        let before = self.records.len();
        self.records.retain(|r| r.instance_id != instance_id);
        before != self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u32, name: &str) -> SessionRecord {
        SessionRecord {
            id,
            name: name.into(),
            computer_name: "http://h:5985/wsman".into(),
            instance_id: Uuid::new_v4(),
            configuration: "Microsoft.PowerShell".into(),
            user: Some("alice".into()),
            pending_commands: vec![],
        }
    }

    #[test]
    fn records_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::load(dir.path()).unwrap();
        assert!(store.records().is_empty());
        let r1 = record(store.next_id(), "s1");
        store.upsert(r1.clone());
        let r2 = record(store.next_id(), "s2");
        store.upsert(r2.clone());
        store.save().unwrap();

        let store = Store::load(dir.path()).unwrap();
        assert_eq!(store.records(), &[r1.clone(), r2.clone()]);
        assert_eq!(
            store.find("S1").unwrap().id,
            1,
            "names match case-insensitively"
        );
        assert_eq!(store.find("2").unwrap().name, "s2");
        assert_eq!(store.find(&r1.instance_id.to_string()).unwrap().name, "s1");
        assert!(store.find("s3").is_none());
    }

    #[test]
    fn removing_frees_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::load(dir.path()).unwrap();
        let r = record(1, "s1");
        store.upsert(r.clone());
        assert!(store.remove(r.instance_id));
        assert!(!store.remove(r.instance_id));
        assert!(store.records().is_empty());
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sessions.json"), b"{not json").unwrap();
        let err = Store::load(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("not a valid session list"),
            "{err}"
        );
    }
}
