//! A group of PSSessions on many hosts, driven together: what
//! `New-PSSession -ComputerName a,b,c` and `Invoke-Command -Session
//! $s1,$s2,$s3 -ThrottleLimit N` do. Every operation runs on each member at
//! once, up to the group's throttle (through [`throttled`]); one member's
//! failure is reported in its own result and does not stop the others.
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::fanout::{throttled, throttled_collect};
use crate::host::Host;
use crate::session::{PipelineEvent, PipelineResult, PsSession, SessionOptions};
use crate::{ConnectionInfo, Error, Result};

/// One open session of a [`SessionGroup`].
pub struct GroupMember {
    /// The host's endpoint URL (what results and events are tagged with).
    pub computer_name: String,
    /// The session.
    pub session: PsSession,
}

/// A host on which [`SessionGroup::open`] could not make a session.
#[derive(Debug)]
pub struct OpenFailure {
    /// The host's endpoint URL.
    pub computer_name: String,
    /// Why.
    pub error: Error,
}

/// One member's outcome of a group operation.
#[derive(Debug)]
pub struct MemberResult<T> {
    /// The member's host (endpoint URL).
    pub computer_name: String,
    /// The member's session (RunspacePool id = ShellId).
    pub instance_id: Uuid,
    /// What it produced there, or why it failed.
    pub result: Result<T>,
}

/// One pipeline event of one member, as [`SessionGroup::invoke_streaming`]
/// hands them on while they arrive.
#[derive(Debug, Clone)]
pub struct TaggedEvent {
    /// The member's index in [`SessionGroup::members`].
    pub member: usize,
    /// The member's host (endpoint URL).
    pub computer_name: String,
    /// The member's session.
    pub instance_id: Uuid,
    /// The event.
    pub event: PipelineEvent,
}

/// Sessions on many hosts, worked on together (at most `throttle` at once).
pub struct SessionGroup {
    members: Vec<GroupMember>,
    throttle: usize,
}

impl SessionGroup {
    /// Opens one session on each host of `infos` (New-PSSession
    /// -ComputerName), at most `throttle` at once; `host` makes each
    /// session's host. Hosts that fail are returned beside the group, which
    /// holds the others, in the order of `infos`.
    pub async fn open(
        infos: Vec<ConnectionInfo>,
        options: SessionOptions,
        throttle: usize,
        host: impl Fn() -> Box<dyn Host>,
    ) -> (SessionGroup, Vec<OpenFailure>) {
        let outcomes = throttled_collect(infos, throttle, |_, info| {
            let options = options.clone();
            let h = host();
            async move {
                let computer_name = info.computer_name();
                match PsSession::open(&info, options, h).await {
                    Ok(session) => Ok(GroupMember {
                        computer_name,
                        session,
                    }),
                    Err(error) => Err(OpenFailure {
                        computer_name,
                        error,
                    }),
                }
            }
        })
        .await;
        let mut members = Vec::new();
        let mut failures = Vec::new();
        for outcome in outcomes.into_iter().flatten() {
            match outcome {
                Ok(m) => members.push(m),
                Err(f) => failures.push(f),
            }
        }
        (SessionGroup::from_members(members, throttle), failures)
    }

    /// A group of sessions opened (or connected) elsewhere.
    pub fn from_members(members: Vec<GroupMember>, throttle: usize) -> SessionGroup {
        SessionGroup {
            members,
            throttle: throttle.max(1),
        }
    }

    /// The members, in order.
    pub fn members(&self) -> &[GroupMember] {
        &self.members
    }

    /// How many sessions the group holds.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the group holds no session.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Runs `f` on every member at once (up to the throttle); members come
    /// back in their order. A member whose task panicked is dropped (its
    /// session is closed by nobody: the host's idle timeout ends it).
    async fn each<T, F, Fut>(&mut self, f: F) -> Vec<MemberResult<T>>
    where
        F: Fn(usize, GroupMember) -> Fut,
        Fut: std::future::Future<Output = (GroupMember, Result<T>)> + Send + 'static,
        T: Send + 'static,
    {
        let members = std::mem::take(&mut self.members);
        let outcomes = throttled_collect(members, self.throttle, f).await;
        let mut results = Vec::new();
        for (m, result) in outcomes.into_iter().flatten() {
            results.push(MemberResult {
                computer_name: m.computer_name.clone(),
                instance_id: m.session.instance_id(),
                result,
            });
            self.members.push(m);
        }
        results
    }

    /// Runs `script` in every session (Invoke-Command -Session $group),
    /// collecting each one's result.
    pub async fn invoke(&mut self, script: &str) -> Vec<MemberResult<PipelineResult>> {
        let script = script.to_string();
        self.each(|_, mut m| {
            let script = script.clone();
            async move {
                let r = m.session.run(&script).await;
                (m, r)
            }
        })
        .await
    }

    /// Runs `script` in every session, sending each event to `events`,
    /// tagged with its member, as it arrives (events of different members
    /// interleave; one member's keep their order). Each member's result
    /// says whether its pipeline could be run to its end.
    pub async fn invoke_streaming(
        &mut self,
        script: &str,
        events: mpsc::UnboundedSender<TaggedEvent>,
    ) -> Vec<MemberResult<()>> {
        let script = script.to_string();
        self.each(|member, mut m| {
            let script = script.clone();
            let events = events.clone();
            async move {
                let computer_name = m.computer_name.clone();
                let instance_id = m.session.instance_id();
                let r = async {
                    let mut p = m.session.invoke(&script).await?;
                    while let Some(event) = p.next().await? {
                        // A receiver that has gone wants no more events;
                        // the pipeline still runs to its end.
                        let _ = events.send(TaggedEvent {
                            member,
                            computer_name: computer_name.clone(),
                            instance_id,
                            event,
                        });
                    }
                    Ok(())
                }
                .await;
                (m, r)
            }
        })
        .await
    }

    /// Disconnects every session (Disconnect-PSSession); they stay on their
    /// hosts and in the group.
    pub async fn disconnect(&mut self) -> Vec<MemberResult<()>> {
        self.each(|_, mut m| async move {
            let r = m.session.disconnect(None, None).await;
            (m, r)
        })
        .await
    }

    /// Removes every session from its host (Remove-PSSession), at most
    /// the throttle at once.
    pub async fn close(self) -> Vec<MemberResult<()>> {
        let mut out = Vec::new();
        throttled(
            self.members,
            self.throttle,
            |_, m| async move {
                let instance_id = m.session.instance_id();
                MemberResult {
                    computer_name: m.computer_name,
                    instance_id,
                    result: m.session.close().await,
                }
            },
            |_, r| out.push(r),
        )
        .await;
        out
    }
}
