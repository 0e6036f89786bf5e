//! A [`ControlTarget`] that records what it is asked and answers from a script: the control
//! socket's tests use it in place of a running cluster.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ControlTarget, QueryReply, QuerySpec, TargetError};

/// Records requests; `publish` refuses the name `refused`, a reliable `send` to `gone`
/// fails, and a query yields [`Double::answers`], one every [`Double::pace`].
#[derive(Debug, Clone, Default)]
pub struct Double {
    /// What was asked, one line per request.
    pub asked: Arc<Mutex<Vec<String>>>,
    /// What each query brings back.
    pub answers: Vec<QueryReply>,
    /// The time between two answers.
    pub pace: Duration,
}

impl Double {
    /// What was asked so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn record(&self, line: String) {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
    }
}

impl ControlTarget for Double {
    async fn publish(
        &self,
        name: &str,
        payload: Vec<u8>,
        coalesce: bool,
    ) -> Result<(), TargetError> {
        if name == "refused" {
            return Err(TargetError::usage("event name refused"));
        }
        let payload = String::from_utf8_lossy(&payload);
        self.record(format!("event {name} {payload:?} coalesce={coalesce}"));
        Ok(())
    }

    async fn send(
        &self,
        member: &str,
        payload: Vec<u8>,
        reliable: bool,
    ) -> Result<(), TargetError> {
        let payload = String::from_utf8_lossy(&payload);
        self.record(format!("send {member} {payload:?} reliable={reliable}"));
        if reliable && member == "gone" {
            return Err(TargetError::failure("gone did not acknowledge"));
        }
        Ok(())
    }

    async fn query(&self, query: QuerySpec) -> Result<mpsc::Receiver<QueryReply>, TargetError> {
        self.record(format!("query {query:?}"));
        let (tx, rx) = mpsc::channel(16);
        let (answers, pace) = (self.answers.clone(), self.pace);
        tokio::spawn(async move {
            for answer in answers {
                tokio::time::sleep(pace).await;
                if tx.send(answer).await.is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }
}
