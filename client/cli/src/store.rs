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
    /// The connection settings it was made with, so later commands need no
    /// flags but credentials (records made before these were kept have
    /// none: the command line's then apply).
    #[serde(default)]
    pub connection: SavedConnection,
}

/// The connection settings of a [`SessionRecord`] besides its endpoint URL
/// (which holds scheme and port): never a secret (no password, hash or
/// proxy URL, which may carry credentials), only names and file paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConnection {
    /// The authentication mechanism, as `-a` names it (`ntlm`, `basic`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// `--ca-file`: the extra trusted CA certificate (PEM) for HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `--cert`: the client certificate file for `-a certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// `--key`: the client certificate's private key file (a path only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// `--spn-service`: the Kerberos service in the SPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spn_service: Option<String>,
    /// `--spn-host`: the host name in the SPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spn_host: Option<String>,
    /// `--no-encryption`: unencrypted SOAP bodies allowed over HTTP.
    #[serde(default)]
    pub no_encryption: bool,
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

/// The file whose lock guards every load-modify-save of the records.
const LOCK_FILE: &str = "sessions.lock";
/// The records.
const RECORDS_FILE: &str = "sessions.json";
/// The highest local Id ever given out (a high-water mark: Ids of removed
/// sessions are never given again).
const LAST_ID_FILE: &str = "last-id";

/// The set of local records, loaded from and saved to one folder.
///
/// Reading ([`Store::load`]) needs no lock: records are replaced whole by a
/// rename. Changing them goes through [`Store::update`], which holds an
/// exclusive lock on `sessions.lock` while it loads, changes and saves, so
/// two `wsman` processes never lose each other's records. The folder is
/// made 0700 and every file 0600: records name hosts, users and sessions.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    records: Vec<SessionRecord>,
    last_id: u32,
}

impl Store {
    /// Loads the records of `dir` (none when the file does not exist yet).
    pub fn load(dir: &Path) -> std::io::Result<Store> {
        let path = dir.join(RECORDS_FILE);
        let records: Vec<SessionRecord> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a valid session list: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let last_path = dir.join(LAST_ID_FILE);
        let stored_last = match std::fs::read_to_string(&last_path) {
            Ok(text) => text.trim().parse::<u32>().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} does not hold an Id: {e}", last_path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let last_id = records.iter().map(|r| r.id).fold(stored_last, u32::max);
        Ok(Store {
            dir: dir.to_path_buf(),
            records,
            last_id,
        })
    }

    /// Loads the records of `dir` under an exclusive lock, lets `change`
    /// modify them, saves them if `change` returned `Ok`, and releases the
    /// lock. Concurrent updates from other processes wait for each other.
    pub fn update<T, E>(
        dir: &Path,
        change: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> std::io::Result<Result<T, E>> {
        create_private_dir(dir)?;
        let lock = open_private(&dir.join(LOCK_FILE))?;
        lock_exclusive(&lock, true)?;
        let mut store = Store::load(dir)?;
        let before = (store.records.clone(), store.last_id);
        let result = change(&mut store);
        if result.is_ok() && before != (store.records.clone(), store.last_id) {
            store.save()?;
        }
        drop(lock);
        Ok(result)
    }

    /// Writes the records and the Id high-water mark back, each to a
    /// temporary file of a random name created exclusively (never an
    /// existing file or a planted link), then renamed over the old one.
    fn save(&self) -> std::io::Result<()> {
        let data = serde_json::to_vec_pretty(&self.records).map_err(std::io::Error::other)?;
        write_replace(&self.dir, LAST_ID_FILE, self.last_id.to_string().as_bytes())?;
        write_replace(&self.dir, RECORDS_FILE, &data)
    }

    /// All records, by Id.
    pub fn records(&self) -> &[SessionRecord] {
        &self.records
    }

    /// Every record a key selects: the one of a local Id or InstanceId, or
    /// all records of a name (case-insensitive), in Id order; none when it
    /// names nothing recorded.
    pub fn find_all(&self, key: &str) -> Vec<&SessionRecord> {
        if key.parse::<Uuid>().is_ok() {
            return self.find(key).into_iter().collect();
        }
        if let Ok(id) = key.parse::<u32>() {
            if let Some(r) = self.records.iter().find(|r| r.id == id) {
                return vec![r];
            }
        }
        self.records
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(key))
            .collect()
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

    /// Gives out the next local Id: one above every Id given out before
    /// in this folder (removed sessions' Ids are not reused). Fails once
    /// the highest Id has been given.
    pub fn allocate_id(&mut self) -> Result<u32, IdsExhausted> {
        let id = self.last_id.checked_add(1).ok_or(IdsExhausted)?;
        self.last_id = id;
        Ok(id)
    }

    /// Gives back the Ids after `keep` of a block `first..=top` taken
    /// before and never recorded (`session new` on hosts that failed), so
    /// the next one given is `keep + 1`: only while `top` is still the last
    /// Id given out and no record holds an Id above `keep`, so an Id that
    /// was ever recorded is never given again. Returns whether it did.
    pub fn give_back_ids(&mut self, first: u32, top: u32, keep: u32) -> bool {
        let fits = first >= 1 && first <= top && keep >= first - 1 && keep <= top;
        if !fits || self.last_id != top || self.records.iter().any(|r| r.id > keep) {
            return false;
        }
        self.last_id = keep;
        true
    }

    /// Adds or replaces (same InstanceId) a record.
    pub fn upsert(&mut self, record: SessionRecord) {
        self.last_id = self.last_id.max(record.id);
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

/// One process's hold on a recorded session while it works in it (an
/// exclusive lock on `session-INSTANCEID.lock` in the state folder),
/// released when dropped.
#[derive(Debug)]
pub struct SessionLock {
    file: std::fs::File,
    path: PathBuf,
}

impl SessionLock {
    /// Takes the session for this process; `None` when another process
    /// holds it (nothing waits).
    pub fn try_hold(dir: &Path, instance_id: Uuid) -> std::io::Result<Option<SessionLock>> {
        create_private_dir(dir)?;
        let path = dir.join(format!("session-{instance_id}.lock"));
        let file = open_private(&path)?;
        Ok(lock_exclusive(&file, false)?.then_some(SessionLock { file, path }))
    }

    /// For a session that no longer exists: removes its lock file, then
    /// lets go.
    pub fn release_and_remove(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Every local Id up to `u32::MAX` has been given out in this folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdsExhausted;

impl std::fmt::Display for IdsExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "every local session Id up to {} has been given out",
            u32::MAX
        )
    }
}

impl std::error::Error for IdsExhausted {}

/// Creates `dir` (and missing parents) readable by its owner only, and
/// narrows an existing `dir` to that.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700).create(dir)?;
        let meta = std::fs::metadata(dir)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Takes an exclusive `flock(2)` on `file`, waiting for it when `wait`;
/// whether it was taken (always, when waiting). Released when the file is
/// closed. Off Unix there is no lock: the call succeeds.
fn lock_exclusive(file: &std::fs::File, wait: bool) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use rustix::fs::{flock, FlockOperation};
        let op = if wait {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::NonBlockingLockExclusive
        };
        match flock(file, op) {
            Ok(()) => Ok(true),
            Err(e) if !wait && e == rustix::io::Errno::WOULDBLOCK => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, wait);
        Ok(true)
    }
}

/// Options for a new file readable by its owner only (0600).
fn private_file() -> std::fs::OpenOptions {
    let mut opts = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts
}

/// Opens (creating, 0600) a file for the lock.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    private_file()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Replaces `dir/name` with `data`: written to a new 0600 file of a random
/// name (`O_CREAT | O_EXCL`: never an existing file or a planted link),
/// synced, renamed over `name`.
fn write_replace(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!(".{name}.{}.tmp", Uuid::new_v4().simple()));
    let mut f = private_file().write(true).create_new(true).open(&tmp)?;
    let written = f
        .write_all(data)
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, dir.join(name)));
    if written.is_err() {
        // Ours (created above): nothing else can be at this name.
        let _ = std::fs::remove_file(&tmp);
    }
    written
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
            connection: SavedConnection::default(),
        }
    }

    #[test]
    fn ids_taken_and_never_recorded_are_given_back_only_when_safe() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::load(dir.path()).unwrap();
        let old = record(store.allocate_id().unwrap(), "old");
        store.upsert(old);
        let block: Vec<u32> = (0..3).map(|_| store.allocate_id().unwrap()).collect();
        assert_eq!(block, [2, 3, 4]);
        // Another Id given out since: nothing is given back.
        let mut other = Store::load(dir.path()).unwrap();
        other.last_id = 5;
        assert!(!other.give_back_ids(2, 4, 2));
        assert_eq!(other.allocate_id().unwrap(), 6);
        // A recorded Id is never given again.
        assert!(!store.give_back_ids(2, 4, 0));
        // Only the first of the block was used: 3 and 4 come again.
        assert!(store.give_back_ids(2, 4, 2));
        assert_eq!(store.allocate_id().unwrap(), 3);
        // None used: the whole block.
        let top = store.allocate_id().unwrap();
        assert!(store.give_back_ids(3, top, 2));
        assert_eq!(store.allocate_id().unwrap(), 3);
    }

    #[test]
    fn records_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Store::load(dir.path()).unwrap().records().is_empty());
        let (r1, r2) = Store::update(dir.path(), |store| {
            let r1 = record(store.allocate_id()?, "s1");
            store.upsert(r1.clone());
            let r2 = record(store.allocate_id()?, "s2");
            store.upsert(r2.clone());
            Ok::<_, IdsExhausted>((r1, r2))
        })
        .unwrap()
        .unwrap();

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
    fn a_shared_name_selects_every_record_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::load(dir.path()).unwrap();
        let (a, b, c) = (record(1, "web"), record(2, "db"), record(3, "WEB"));
        for r in [&a, &b, &c] {
            store.upsert(r.clone());
        }
        let ids = |key: &str| store.find_all(key).iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids("web"), [1, 3]);
        assert_eq!(ids("2"), [2]);
        assert_eq!(ids(&c.instance_id.to_string()), [3]);
        assert!(ids("nothing").is_empty());
        assert!(ids(&Uuid::new_v4().to_string()).is_empty());
    }

    #[test]
    fn connection_settings_survive_and_old_records_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = record(1, "s");
        r.connection = SavedConnection {
            auth: Some("ntlm".into()),
            ca_file: Some("/etc/ca.pem".into()),
            spn_service: Some("WSMAN".into()),
            ..Default::default()
        };
        Store::update(dir.path(), |s| {
            s.upsert(r.clone());
            Ok::<_, IdsExhausted>(())
        })
        .unwrap()
        .unwrap();
        assert_eq!(Store::load(dir.path()).unwrap().records(), &[r]);
        // A record written before connection settings were kept.
        let old = r#"[{"id":4,"name":"o","computer_name":"http://h:5985/wsman",
            "instance_id":"6f1b2c1e-8a8e-4c55-9a55-1d2a3b4c5d6e",
            "configuration":"Microsoft.PowerShell"}]"#;
        std::fs::write(dir.path().join("sessions.json"), old).unwrap();
        let store = Store::load(dir.path()).unwrap();
        assert_eq!(store.records()[0].connection, SavedConnection::default());
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

    #[test]
    fn ids_are_never_reused_and_never_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::update(dir.path(), |s| {
            let id = s.allocate_id()?;
            s.upsert(record(id, "a"));
            Ok::<_, IdsExhausted>(id)
        })
        .unwrap()
        .unwrap();
        assert_eq!(a, 1);
        let removed = Store::update(dir.path(), |s| {
            let iid = s.records()[0].instance_id;
            Ok::<_, IdsExhausted>(s.remove(iid))
        });
        assert!(removed.unwrap().unwrap());
        let b = Store::update(dir.path(), |s| s.allocate_id())
            .unwrap()
            .unwrap();
        assert_eq!(b, 2, "Id 1 was given out before: not again");

        // A record at the top of the range: the next is refused, no wrap.
        Store::update(dir.path(), |s| {
            s.upsert(record(u32::MAX, "top"));
            Ok::<_, IdsExhausted>(())
        })
        .unwrap()
        .unwrap();
        let err = Store::update(dir.path(), |s| s.allocate_id())
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("has been given out"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn folder_and_files_are_private_and_temporary_files_fresh() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        // A link planted where the old code put its temporary file.
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("sessions.json.tmp")).unwrap();
        Store::update(&dir, |s| {
            s.upsert(record(1, "a"));
            Ok::<_, IdsExhausted>(())
        })
        .unwrap()
        .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in [RECORDS_FILE, LAST_ID_FILE, LOCK_FILE] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        // No temporary file left behind.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with('.')), "{names:?}");
    }

    #[test]
    fn a_held_session_is_refused_to_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        let first = SessionLock::try_hold(dir.path(), id)
            .unwrap()
            .expect("free");
        assert!(SessionLock::try_hold(dir.path(), id).unwrap().is_none());
        assert!(SessionLock::try_hold(dir.path(), Uuid::new_v4())
            .unwrap()
            .is_some());
        drop(first);
        assert!(SessionLock::try_hold(dir.path(), id).unwrap().is_some());
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    Store::update(&dir, |s| {
                        let id = s.allocate_id()?;
                        // Widen the window a lost update would need.
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        s.upsert(record(id, &format!("t{i}")));
                        Ok::<_, IdsExhausted>(id)
                    })
                    .unwrap()
                    .unwrap()
                })
            })
            .collect();
        let mut ids: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        ids.sort();
        assert_eq!(ids, (1..=8).collect::<Vec<_>>());
        assert_eq!(Store::load(dir.path()).unwrap().records().len(), 8);
    }
}
