//! The S3 key layout of one bucket, and its parse-back: every key pushfeed writes can be read back
//! into what it is, so a table is found from a key by pattern, never from free text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::routes::is_event_type;
use super::window::Window;

/// One read of a window. Two executions of the same window get different batches; each record
/// delivered to Firehose carries its batch so a load can count and pick exactly its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BatchId(String);

impl BatchId {
    /// A new batch id: the time of the read and some entropy, so ids sort by time and never collide.
    pub fn generate(now_ms: i64) -> BatchId {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now_ms);
        h.write_u32(std::process::id());
        BatchId(format!("{:013x}-{:08x}", now_ms.max(0), h.finish() as u32))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BatchId {
    type Error = KeyError;
    fn try_from(s: String) -> Result<BatchId, KeyError> {
        if (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Ok(BatchId(s))
        } else {
            Err(KeyError::BadBatch { text: s })
        }
    }
}

impl From<BatchId> for String {
    fn from(b: BatchId) -> String {
        b.0
    }
}

impl FromStr for BatchId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<BatchId, KeyError> {
        BatchId::try_from(s.to_string())
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every kind of object in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKey {
    /// What was read, byte for byte.
    Raw { window: Window, batch: BatchId },
    /// Normalized rows of one type: the input of Deliver.
    Staging {
        window: Window,
        event_type: String,
        batch: BatchId,
    },
    /// Invalid records, each with its reason.
    Rejected { window: Window, batch: BatchId },
    /// Valid events whose type has no route.
    Unrouted { window: Window, batch: BatchId },
    /// The per-shard sequence ranges of the first read of a window.
    Checkpoint { window: Window },
    /// A Firehose output object under the type's window partition.
    Delivered {
        event_type: String,
        window: Window,
        name: String,
    },
    /// A COPY manifest naming exactly one batch's delivered objects.
    Manifest {
        window: Window,
        event_type: String,
        batch: BatchId,
    },
    /// The jsonpaths file that maps staging rows to a table's columns.
    Jsonpaths { table: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("batch id `{text}` must be 1-64 characters of a-z, 0-9 and -")]
    BadBatch { text: String },
    #[error("object key `{key}` is not in pushfeed's layout: {why}")]
    NotOurs { key: String, why: String },
}

impl ObjectKey {
    pub fn raw(window: Window, batch: &BatchId) -> ObjectKey {
        ObjectKey::Raw {
            window,
            batch: batch.clone(),
        }
    }

    pub fn staging(window: Window, event_type: &str, batch: &BatchId) -> ObjectKey {
        ObjectKey::Staging {
            window,
            event_type: event_type.to_string(),
            batch: batch.clone(),
        }
    }

    pub fn manifest(window: Window, event_type: &str, batch: &BatchId) -> ObjectKey {
        ObjectKey::Manifest {
            window,
            event_type: event_type.to_string(),
            batch: batch.clone(),
        }
    }

    /// The prefix under which Firehose writes one type's objects for one window.
    pub fn delivered_prefix(event_type: &str, window: Window) -> String {
        format!("events/{event_type}/window={window}/")
    }

    pub fn parse(key: &str) -> Result<ObjectKey, KeyError> {
        let bad = |why: &str| KeyError::NotOurs {
            key: key.to_string(),
            why: why.to_string(),
        };
        let parts: Vec<&str> = key.split('/').collect();
        let window = |part: &str| -> Result<Window, KeyError> {
            part.strip_prefix("window=")
                .ok_or_else(|| bad("expected window=YYYY-MM-DDTHH:MMZ"))?
                .parse()
                .map_err(|_| bad("the window is not a UTC minute like 2026-11-26T10:01Z"))
        };
        let batch = |part: &str, ext: &str| -> Result<BatchId, KeyError> {
            let b = part
                .strip_prefix("batch=")
                .and_then(|p| p.strip_suffix(ext))
                .ok_or_else(|| bad(&format!("expected batch=<id>{ext}")))?;
            b.parse()
                .map_err(|_| bad("the batch id must be a-z, 0-9 and -"))
        };
        let event_type = |part: &str| -> Result<String, KeyError> {
            let t = part.strip_prefix("type=").unwrap_or(part);
            if is_event_type(t) {
                Ok(t.to_string())
            } else {
                Err(bad(
                    "the event type must be upper-case letters, digits and _",
                ))
            }
        };
        match parts.as_slice() {
            ["raw", w, b] => Ok(ObjectKey::Raw {
                window: window(w)?,
                batch: batch(b, ".ndjson.gz")?,
            }),
            ["staging", w, t, b] if t.starts_with("type=") => Ok(ObjectKey::Staging {
                window: window(w)?,
                event_type: event_type(t)?,
                batch: batch(b, ".ndjson")?,
            }),
            ["rejected", w, b] => Ok(ObjectKey::Rejected {
                window: window(w)?,
                batch: batch(b, ".ndjson")?,
            }),
            ["unrouted", w, b] => Ok(ObjectKey::Unrouted {
                window: window(w)?,
                batch: batch(b, ".ndjson")?,
            }),
            ["checkpoints", f] => {
                let w = f
                    .strip_suffix(".json")
                    .ok_or_else(|| bad("expected window=W.json"))?;
                Ok(ObjectKey::Checkpoint { window: window(w)? })
            }
            ["events", t, w, name] if !name.is_empty() => Ok(ObjectKey::Delivered {
                event_type: event_type(t)?,
                window: window(w)?,
                name: name.to_string(),
            }),
            ["manifests", w, t, b] if t.starts_with("type=") => Ok(ObjectKey::Manifest {
                window: window(w)?,
                event_type: event_type(t)?,
                batch: batch(b, ".json")?,
            }),
            ["jsonpaths", f] => {
                let table = f
                    .strip_suffix(".json")
                    .ok_or_else(|| bad("expected <table>.json"))?;
                Ok(ObjectKey::Jsonpaths {
                    table: table.to_string(),
                })
            }
            _ => Err(bad("unknown prefix or depth")),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectKey::Raw { window, batch } => {
                write!(f, "raw/window={window}/batch={batch}.ndjson.gz")
            }
            ObjectKey::Staging {
                window,
                event_type,
                batch,
            } => {
                write!(
                    f,
                    "staging/window={window}/type={event_type}/batch={batch}.ndjson"
                )
            }
            ObjectKey::Rejected { window, batch } => {
                write!(f, "rejected/window={window}/batch={batch}.ndjson")
            }
            ObjectKey::Unrouted { window, batch } => {
                write!(f, "unrouted/window={window}/batch={batch}.ndjson")
            }
            ObjectKey::Checkpoint { window } => write!(f, "checkpoints/window={window}.json"),
            ObjectKey::Delivered {
                event_type,
                window,
                name,
            } => {
                write!(
                    f,
                    "{}{name}",
                    ObjectKey::delivered_prefix(event_type, *window)
                )
            }
            ObjectKey::Manifest {
                window,
                event_type,
                batch,
            } => {
                write!(
                    f,
                    "manifests/window={window}/type={event_type}/batch={batch}.json"
                )
            }
            ObjectKey::Jsonpaths { table } => write!(f, "jsonpaths/{table}.json"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> Window {
        "2026-11-26T10:01Z".parse().unwrap()
    }

    #[test]
    fn every_key_kind_round_trips() {
        let b: BatchId = "0193a1b2c3d4e-1a2b3c4d".parse().unwrap();
        let keys = [
            (ObjectKey::raw(w(), &b), "raw/window=2026-11-26T10:01Z/batch=0193a1b2c3d4e-1a2b3c4d.ndjson.gz"),
            (
                ObjectKey::staging(w(), "SEND", &b),
                "staging/window=2026-11-26T10:01Z/type=SEND/batch=0193a1b2c3d4e-1a2b3c4d.ndjson",
            ),
            (ObjectKey::Rejected { window: w(), batch: b.clone() }, "rejected/window=2026-11-26T10:01Z/batch=0193a1b2c3d4e-1a2b3c4d.ndjson"),
            (ObjectKey::Unrouted { window: w(), batch: b.clone() }, "unrouted/window=2026-11-26T10:01Z/batch=0193a1b2c3d4e-1a2b3c4d.ndjson"),
            (ObjectKey::Checkpoint { window: w() }, "checkpoints/window=2026-11-26T10:01Z.json"),
            (
                ObjectKey::Delivered { event_type: "OPEN".into(), window: w(), name: "pushfeed-push-opens-1-x.ndjson.gz".into() },
                "events/OPEN/window=2026-11-26T10:01Z/pushfeed-push-opens-1-x.ndjson.gz",
            ),
            (
                ObjectKey::manifest(w(), "SEND_REJECTED", &b),
                "manifests/window=2026-11-26T10:01Z/type=SEND_REJECTED/batch=0193a1b2c3d4e-1a2b3c4d.json",
            ),
            (ObjectKey::Jsonpaths { table: "push_sends".into() }, "jsonpaths/push_sends.json"),
        ];
        for (key, text) in keys {
            assert_eq!(key.to_string(), text);
            assert_eq!(ObjectKey::parse(text).unwrap(), key, "{text}");
        }
    }

    #[test]
    fn foreign_keys_are_refused_with_the_reason() {
        for (key, why) in [
            (
                "raw/window=2026-11-26T10:01/batch=b.ndjson.gz",
                "not a UTC minute",
            ),
            (
                "raw/window=2026-11-26T10:01Z/batch=B!.ndjson.gz",
                "batch id",
            ),
            (
                "raw/window=2026-11-26T10:01Z/batch=b.json",
                "expected batch=",
            ),
            (
                "staging/window=2026-11-26T10:01Z/type=send/batch=b.ndjson",
                "event type",
            ),
            ("events/SEND/window=2026-11-26T10:01Z/", "unknown prefix"),
            ("events/../window=2026-11-26T10:01Z/x", "event type"),
            ("elsewhere/x", "unknown prefix"),
            ("", "unknown prefix"),
        ] {
            let err = ObjectKey::parse(key).unwrap_err().to_string();
            assert!(err.contains(why), "{key}: {err}");
        }
    }

    #[test]
    fn batch_ids_are_safe_and_unique() {
        let a = BatchId::generate(1_764_151_260_000);
        let b = BatchId::generate(1_764_151_260_000);
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("0019abf9bf360-"), "{a}");
        assert!("".parse::<BatchId>().is_err());
        assert!("x'; drop".parse::<BatchId>().is_err());
        assert!(serde_json::from_str::<BatchId>("\"UPPER\"").is_err());
    }

    #[test]
    fn delivered_prefix_matches_firehose_partitioning() {
        assert_eq!(
            ObjectKey::delivered_prefix("SEND", w()),
            "events/SEND/window=2026-11-26T10:01Z/"
        );
    }
}
