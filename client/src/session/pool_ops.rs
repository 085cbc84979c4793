//! RunspacePool operations beyond running pipelines: the pool's size
//! ([MS-PSRP] 3.1.4.2), resetting its state (3.1.4.13), the session key
//! for SecureStrings (3.1.4.3) and what the host reported about itself.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::clixml::Value;
use psrp::crypto::ExchangeKey;
use psrp::messages::{Availability, GetCommandMetadata, SessionCapability};
use psrp::types::PrimitiveDictionary;
use wsman::soap::response::{parse_shell, ShellInfo};
use wsman::soap::{ns, Selector};

use super::{not_found_as, Pipeline, PsSession};
use crate::{Error, Result};

impl PsSession {
    /// Sends what the pool queued, then receives on the pool until the
    /// RUNSPACE_AVAILABILITY answering call `ci` arrives ([MS-PSRP] 2.2.2.8).
    async fn availability_of(&mut self, ci: i64) -> Result<Availability> {
        self.flush().await?;
        loop {
            self.drain_pool_events().await?;
            if let Some(i) = self.availability.iter().position(|(c, _)| *c == ci) {
                return Ok(self.availability.remove(i).1);
            }
            let (_, data) = self.receive_some(None).await?;
            if !data {
                return Err(Error::Broken(format!(
                    "{} did not answer RunspacePool call {ci} within the OperationTimeout",
                    self.info.computer_name()
                )));
            }
        }
    }

    async fn resize(&mut self, max: bool, value: i32) -> Result<bool> {
        let ci = if max {
            self.pool.set_max_runspaces(value)?
        } else {
            self.pool.set_min_runspaces(value)?
        };
        let Some(ci) = ci else { return Ok(true) };
        match self.availability_of(ci).await? {
            Availability::Success(ok) => Ok(ok),
            Availability::Count(n) => Ok(n != 0),
        }
    }

    /// Changes MaxRunspaces of the open pool (SET_MAX_RUNSPACES, [MS-PSRP]
    /// 3.1.4.2.1); `false` when the host refused the value.
    pub async fn set_max_runspaces(&mut self, value: i32) -> Result<bool> {
        self.resize(true, value).await
    }

    /// Changes MinRunspaces of the open pool (SET_MIN_RUNSPACES, [MS-PSRP]
    /// 3.1.4.2.2); `false` when the host refused the value.
    pub async fn set_min_runspaces(&mut self, value: i32) -> Result<bool> {
        self.resize(false, value).await
    }

    /// MinRunspaces as last agreed with the host ([MS-PSRP] 3.1.4.2).
    pub fn min_runspaces(&self) -> i32 {
        self.pool.min_runspaces()
    }

    /// MaxRunspaces as last agreed with the host ([MS-PSRP] 3.1.4.2).
    pub fn max_runspaces(&self) -> i32 {
        self.pool.max_runspaces()
    }

    /// How many runspaces of the pool are free (GET_AVAILABLE_RUNSPACES,
    /// [MS-PSRP] 3.1.4.2.3).
    pub async fn get_available_runspaces(&mut self) -> Result<i64> {
        let ci = self.pool.get_available_runspaces()?;
        match self.availability_of(ci).await? {
            Availability::Count(n) => Ok(n),
            Availability::Success(b) => Ok(i64::from(b)),
        }
    }

    /// Resets the runspace to its initial state: variables, history and
    /// the like are gone (RESET_RUNSPACE_STATE, [MS-PSRP] 3.1.4.13,
    /// protocol 2.3). `false` when the host could not.
    pub async fn reset_runspace_state(&mut self) -> Result<bool> {
        let ci = self.pool.reset_runspace_state()?;
        match self.availability_of(ci).await? {
            Availability::Success(ok) => Ok(ok),
            Availability::Count(n) => Ok(n != 0),
        }
    }

    /// Exchanges the session key that protects SecureStrings ([MS-PSRP]
    /// 3.1.4.3.1): PUBLIC_KEY, then ENCRYPTED_SESSION_KEY from the host.
    /// Does nothing when the key is already there.
    pub async fn exchange_key(&mut self) -> Result<()> {
        if self.pool.has_session_key() {
            return Ok(());
        }
        self.pool.exchange_key()?;
        self.wait_for_session_key().await
    }

    /// [`exchange_key`](Self::exchange_key) with a given RSA key pair
    /// ([MS-PSRP] 3.1.4.3.1).
    pub async fn exchange_key_with(&mut self, key: ExchangeKey) -> Result<()> {
        self.pool.exchange_key_with(key)?;
        self.wait_for_session_key().await
    }

    /// The key exchange while a pipeline waits for a host call's answer:
    /// as [`exchange_key`](Self::exchange_key), but the events the pool
    /// queues meanwhile are left for the pipeline.
    pub(crate) async fn exchange_key_in_pipeline(&mut self) -> Result<()> {
        // RSA-2048 generation takes a while: off the runtime's threads.
        let key = tokio::task::spawn_blocking(psrp::crypto::ExchangeKey::generate)
            .await
            .map_err(|e| Error::Usage(format!("the key generation stopped: {e}")))??;
        self.pool.set_exchange_key(key);
        self.pool.exchange_key()?;
        self.flush().await?;
        while !self.pool.has_session_key() {
            let (_, data) = self.receive_some(None).await?;
            if !data && !self.pool.has_session_key() {
                return Err(Error::Broken(format!(
                    "{} did not send the session key within the OperationTimeout",
                    self.info.computer_name()
                )));
            }
        }
        Ok(())
    }

    async fn wait_for_session_key(&mut self) -> Result<()> {
        self.flush().await?;
        loop {
            self.drain_pool_events().await?;
            if self.pool.has_session_key() {
                return Ok(());
            }
            let (_, data) = self.receive_some(None).await?;
            if !data {
                return Err(Error::Broken(format!(
                    "{} did not send the session key within the OperationTimeout",
                    self.info.computer_name()
                )));
            }
        }
    }

    /// Encrypts `text` with the session key for a SecureString argument or
    /// input (`<SS>`, [MS-PSRP] 2.2.5.1.24); needs
    /// [`exchange_key`](Self::exchange_key) first.
    pub fn secure_string(&self, text: &str) -> Result<Value> {
        Ok(self.pool.secure_string(text)?)
    }

    /// Decrypts a SecureString the host sent ([MS-PSRP] 2.2.5.1.24).
    pub fn decrypt_secure_string(&self, value: &Value) -> Result<zeroize::Zeroizing<String>> {
        Ok(self.pool.decrypt_secure_string(value)?)
    }

    /// The commands the session offers, as Get-Command lists them
    /// (GET_COMMAND_METADATA, [MS-PSRP] 3.1.4.14): a pipeline whose first
    /// output holds the count (`Count`), then one object per command
    /// (`Name`, `Namespace`, `CommandType`, `Parameters`, ...).
    pub async fn get_command_metadata(
        &mut self,
        request: GetCommandMetadata,
    ) -> Result<Pipeline<'_>> {
        let id = self.pool.get_command_metadata(request)?;
        self.send_command(id).await?;
        Ok(Pipeline::new(self, id))
    }

    /// The session as the host sees it now: a WS-Man Get of its shell
    /// ([MS-WSMV] 3.1.4.2 on the shell resource), whose `state` is
    /// `Connected` or `Disconnected`. [`Error::SessionNotFound`] when the
    /// host no longer has it. Also learns the session's
    /// [`idle_timeout`](PsSession::idle_timeout).
    pub async fn host_state(&mut self) -> Result<ShellInfo> {
        let selector = [Selector::new("ShellId", &self.shell_id)];
        let r = self
            .wsman
            .get(ns::uri::SHELL, &selector)
            .await
            .map_err(|e| not_found_as(e, self.pool.id(), &self.info))?;
        let shell = parse_shell(&r.xml)?;
        self.note_idle_timeout(shell.idle_timeout);
        Ok(shell)
    }

    /// The exit code a script asked for with `$host.SetShouldExit`
    /// (host method 6, [MS-PSRP] 2.2.3.17), as `exit N` in a PSSession.
    pub fn should_exit(&self) -> Option<i32> {
        self.should_exit
    }

    /// The host's SESSION_CAPABILITY ([MS-PSRP] 2.2.2.1): its protocol
    /// and PowerShell versions.
    pub fn server_capability(&self) -> Option<&SessionCapability> {
        self.pool.their_capability()
    }

    /// APPLICATION_PRIVATE_DATA ([MS-PSRP] 2.2.2.13): `PSVersionTable` and
    /// what the session configuration adds.
    pub fn application_private_data(&self) -> Option<&PrimitiveDictionary> {
        self.pool.application_private_data()
    }
}
