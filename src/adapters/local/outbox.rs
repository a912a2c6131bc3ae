//! The local stand-in for SNS: an outbox directory of JSON messages, plus one line on stderr so
//! a person running the local stack sees a failure at once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::domain::window::now_ms;
use crate::ports::{Message, Notifier, PortError, PortResult};

pub struct LocalOutbox {
    dir: PathBuf,
    echo: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalOutbox {
    /// `echo` prints each message's subject on stderr.
    pub fn new(dir: impl Into<PathBuf>, echo: bool) -> LocalOutbox {
        LocalOutbox {
            dir: dir.into(),
            echo,
        }
    }

    /// Every message in the outbox, oldest first.
    pub fn messages(&self) -> PortResult<Vec<Message>> {
        let op = || format!("reading outbox {}", self.dir.display());
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(PortError::io(op(), e)),
        };
        paths.retain(|p| p.extension().is_some_and(|x| x == "json"));
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|e| PortError::io(op(), e))?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| PortError::permanent(format!("parsing {}", p.display()), e))
            })
            .collect()
    }
}

#[async_trait]
impl Notifier for LocalOutbox {
    async fn publish(&self, message: &Message) -> PortResult<String> {
        let id = format!(
            "{:013}-{}-{}",
            now_ms(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let op = || format!("writing message {id} to outbox {}", self.dir.display());
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| PortError::io(op(), e))?;
        let tmp = self.dir.join(format!(".{id}.tmp"));
        let body = serde_json::to_vec_pretty(message).expect("a message serializes");
        tokio::fs::write(&tmp, body)
            .await
            .map_err(|e| PortError::io(op(), e))?;
        tokio::fs::rename(&tmp, self.dir.join(format!("{id}.json")))
            .await
            .map_err(|e| PortError::io(op(), e))?;
        if self.echo {
            eprintln!(
                "pushfeed: notification sent to the outbox: {}",
                message.subject
            );
        }
        Ok(id)
    }
}
