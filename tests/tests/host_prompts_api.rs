//! Host prompts through the PSSession API against the test host (NTLM,
//! sealed), as a program embedding the library meets them: a host that
//! cannot ask anyone never approves `-Confirm`, a slow host (a person
//! thinking) does not block the runtime, and a program's own host answers
//! a credential whose password arrives encrypted with a session key the
//! library exchanged on its own.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use integration_tests::{connection, TestHost};
use psrp::types::PSInvocationState;
use pssession::host::{Choice, Host, NullHost};
use pssession::session::{PsSession, SessionOptions};
use wsman::auth::Mechanism;
use zeroize::Zeroizing;

fn texts(r: &pssession::session::PipelineResult) -> Vec<String> {
    r.output.iter().map(pssession::format::to_text).collect()
}

/// Interactive, takes its time, then answers; notes how many ticks of
/// the runtime's other task passed while it thought.
struct SlowPerson {
    ticks: Arc<AtomicUsize>,
    ticks_while_thinking: Arc<AtomicUsize>,
}

impl Host for SlowPerson {
    fn is_interactive(&self) -> bool {
        true
    }
    fn prompt_for_choice(&mut self, _: &str, _: &str, c: &[Choice], _: i32) -> Option<i32> {
        let before = self.ticks.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(1500));
        let during = self.ticks.load(Ordering::Relaxed) - before;
        self.ticks_while_thinking.store(during, Ordering::Relaxed);
        c.iter()
            .position(|c| c.hotkey().as_deref() == Some("N"))
            .map(|i| i as i32)
    }
    fn prompt_for_credential(
        &mut self,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Option<(String, Zeroizing<String>)> {
        Some(("erin".into(), Zeroizing::new("api-s3cret".into())))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn hosts_decline_or_answer_without_blocking_the_runtime() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let info = connection(&host, Mechanism::Ntlm);

    // No one to ask: -Confirm is declined, the command does not run.
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let r = s
        .run("Set-Variable -Name x -Value 5 -Confirm; 'ran'")
        .await
        .unwrap();
    assert_eq!(r.state, Some(PSInvocationState::Failed));
    assert!(texts(&r).is_empty(), "{:?}", texts(&r));
    let why = r.error.as_ref().map(|e| e.message().to_string());
    assert!(
        why.as_deref().is_some_and(|m| m.contains("did not answer")),
        "{why:?}"
    );
    assert_eq!(texts(&s.run("\"x=$x\"").await.unwrap()), ["x="]);
    s.close().await.unwrap();

    // A slow person on a single-threaded runtime: other tasks keep running
    // while the host thinks.
    let ticks = Arc::new(AtomicUsize::new(0));
    let during = Arc::new(AtomicUsize::new(0));
    let person = SlowPerson {
        ticks: ticks.clone(),
        ticks_while_thinking: during.clone(),
    };
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(person))
        .await
        .unwrap();
    let counter = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let r = s
        .run("Set-Variable -Name x -Value 5 -Confirm; \"x=$x\"")
        .await
        .unwrap();
    ticker.abort();
    assert_eq!(texts(&r), ["x="], "No was chosen");
    // 1.5 s at one tick per 50 ms: about 30 when nothing blocks.
    let during = during.load(Ordering::Relaxed);
    assert!(
        during >= 10,
        "the runtime was blocked while the host answered ({during} ticks)"
    );

    // A credential: the session key is exchanged on demand.
    let r = s
        .run("$c = Get-Credential; $c.UserName; $c.GetNetworkCredential().Password")
        .await
        .unwrap();
    assert_eq!(texts(&r), ["erin", "api-s3cret"]);
    s.close().await.unwrap();
}
