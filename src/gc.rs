//! `pushfeed gc`: removes from the local bucket what no longer serves a replay nor records the
//! newest run of a window, and the partial files that a crash or a full disk left in `s3/.tmp`.
//!
//! What a replay needs is the checkpoint and the raw archive it names (the first run's copy of
//! the records). Every re-run writes a fresh batch: a second raw copy of the same records, and its
//! own staging, rejected, unrouted, manifest and Firehose objects. The newest batch's objects are
//! kept (they are what the tables were last loaded from, and the rejected records with their
//! reasons); older batches' are superseded and go. Objects younger than the minimum age are never
//! touched, so a run in progress keeps everything it is writing or reading.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::domain::keys::ObjectKey;
use crate::domain::window::Window;

/// What `gc` removed and kept.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct GcReport {
    pub removed_objects: u64,
    pub removed_bytes: u64,
    pub kept_objects: u64,
    pub kept_bytes: u64,
    /// Partial files under `.tmp` whose writing process is gone.
    pub temp_files_removed: u64,
    pub temp_bytes_removed: u64,
    /// Windows that had superseded objects.
    pub windows: u64,
    pub dry_run: bool,
}

struct Object {
    key: String,
    path: PathBuf,
    size: u64,
    modified: SystemTime,
}

#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", path.display())]
pub struct GcError {
    what: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> GcError + 'p {
    move |source| GcError {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Whether the process that named a temp file (`<pid>-<n>`) is still running.
fn writer_alive(name: &str) -> bool {
    let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    if pid == std::process::id() as i32 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes the temp files under `bucket/.tmp` whose writer is gone: a crash or a full disk
/// between writing and renaming leaves them, and nothing else would ever read them. Returns the
/// files and bytes removed.
pub fn sweep_temp(bucket: &Path, dry_run: bool) -> Result<(u64, u64), GcError> {
    let dir = bucket.join(".tmp");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(io("listing", &dir)(e)),
    };
    let (mut files, mut bytes) = (0, 0);
    for entry in entries {
        let entry = entry.map_err(io("listing", &dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if writer_alive(&name) {
            continue;
        }
        let path = entry.path();
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if !dry_run {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("removing the partial file", &path)(e)),
            }
        }
        files += 1;
        bytes += size;
    }
    Ok((files, bytes))
}

fn walk(root: &Path) -> Result<Vec<Object>, GcError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("listing", &dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io("listing", &dir))?;
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("under the root");
            let key = rel.to_string_lossy().into_owned();
            if key.starts_with(".tmp") {
                continue;
            }
            let meta = entry.metadata().map_err(io("reading", &path))?;
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push(Object {
                    key,
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::now()),
                    path,
                });
            }
        }
    }
    Ok(out)
}

/// The batch a per-batch key belongs to, and its window.
fn batch_of(key: &ObjectKey) -> Option<(Window, String)> {
    match key {
        ObjectKey::Raw { window, batch }
        | ObjectKey::Rejected { window, batch }
        | ObjectKey::Unrouted { window, batch }
        | ObjectKey::Staging { window, batch, .. }
        | ObjectKey::Manifest { window, batch, .. } => Some((*window, batch.to_string())),
        _ => None,
    }
}

/// Removes superseded objects from the local bucket at `bucket` (see the module comment).
pub fn gc(bucket: &Path, min_age: Duration, dry_run: bool) -> Result<GcReport, GcError> {
    let mut report = GcReport {
        dry_run,
        ..GcReport::default()
    };
    let (files, bytes) = sweep_temp(bucket, dry_run)?;
    report.temp_files_removed = files;
    report.temp_bytes_removed = bytes;

    let objects = walk(bucket)?;
    let parsed: Vec<Option<ObjectKey>> = objects
        .iter()
        .map(|o| ObjectKey::parse(&o.key).ok())
        .collect();
    // The raw key each checkpoint names, and the newest batch of each window.
    let mut named_raw: BTreeMap<Window, String> = BTreeMap::new();
    let mut newest: BTreeMap<Window, String> = BTreeMap::new();
    for (o, k) in objects.iter().zip(&parsed) {
        match k {
            Some(ObjectKey::Checkpoint { window }) => {
                #[derive(serde::Deserialize)]
                struct Named {
                    raw_key: String,
                }
                // An unreadable checkpoint protects its window: nothing of it is removed.
                let raw = std::fs::read(&o.path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Named>(&b).ok())
                    .map_or_else(String::new, |n| n.raw_key);
                named_raw.insert(*window, raw);
            }
            Some(k) => {
                if let Some((w, b)) = batch_of(k) {
                    let e = newest.entry(w).or_default();
                    if b > *e {
                        *e = b;
                    }
                }
            }
            None => {}
        }
    }
    // The events objects each window's newest manifests name, per event type.
    let mut manifested: BTreeMap<(Window, String), BTreeSet<String>> = BTreeMap::new();
    for (o, k) in objects.iter().zip(&parsed) {
        if let Some(ObjectKey::Manifest {
            window,
            event_type,
            batch,
        }) = k
        {
            if newest.get(window).map(String::as_str) != Some(batch.as_str()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&o.path) else {
                continue;
            };
            let Ok(m) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let keys = m["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["url"].as_str())
                .filter_map(|u| u.strip_prefix("s3://"))
                .filter_map(|u| u.split_once('/').map(|(_, k)| k.to_string()))
                .collect();
            manifested.insert((*window, event_type.clone()), keys);
        }
    }

    let now = SystemTime::now();
    let mut windows = BTreeSet::new();
    for (o, k) in objects.iter().zip(&parsed) {
        let young = now.duration_since(o.modified).unwrap_or_default() < min_age;
        let superseded = match k {
            _ if young => false,
            Some(ObjectKey::Raw { window, .. }) => named_raw
                .get(window)
                .is_some_and(|raw| !raw.is_empty() && raw != &o.key),
            Some(
                k @ (ObjectKey::Staging { window, .. }
                | ObjectKey::Rejected { window, .. }
                | ObjectKey::Unrouted { window, .. }
                | ObjectKey::Manifest { window, .. }),
            ) => {
                named_raw.get(window).is_some_and(|raw| !raw.is_empty())
                    && batch_of(k).map(|(_, b)| b) != newest.get(window).cloned()
            }
            Some(ObjectKey::Delivered {
                event_type, window, ..
            }) => manifested
                .get(&(*window, event_type.clone()))
                .is_some_and(|named| !named.contains(&o.key)),
            _ => false,
        };
        if superseded {
            if !dry_run {
                match std::fs::remove_file(&o.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io("removing", &o.path)(e)),
                }
                remove_empty_parents(bucket, &o.path);
            }
            report.removed_objects += 1;
            report.removed_bytes += o.size;
            if let Some(w) = k.as_ref().and_then(window_of) {
                windows.insert(w);
            }
        } else {
            report.kept_objects += 1;
            report.kept_bytes += o.size;
        }
    }
    report.windows = windows.len() as u64;
    Ok(report)
}

fn window_of(k: &ObjectKey) -> Option<Window> {
    match k {
        ObjectKey::Delivered { window, .. } => Some(*window),
        k => batch_of(k).map(|(w, _)| w),
    }
}

/// Removes the directories left empty between a removed file and the bucket's root.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, key: &str, body: &str) {
        let p = root.join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[test]
    fn a_rerun_leaves_the_checkpoint_its_raw_copy_and_the_newest_run() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let w = "window=2026-11-26T10:01Z";
        let (first, second, third) = (
            "0019ac0000000-aaaaaaaa",
            "0019ac0000001-bbbbbbbb",
            "0019ac0000002-cccccccc",
        );
        put(
            root,
            &format!("checkpoints/{w}.json"),
            &format!(r#"{{"raw_key": "raw/{w}/batch={first}.ndjson.gz"}}"#),
        );
        for b in [first, second, third] {
            put(root, &format!("raw/{w}/batch={b}.ndjson.gz"), "raw");
            put(
                root,
                &format!("staging/{w}/type=SEND/batch={b}.ndjson"),
                "rows",
            );
            put(root, &format!("rejected/{w}/batch={b}.ndjson"), "bad");
            put(
                root,
                &format!("events/SEND/{w}/{b}-object.json"),
                "delivered",
            );
        }
        put(
            root,
            &format!("manifests/{w}/type=SEND/batch={third}.json"),
            &format!(
                r#"{{"entries":[{{"url":"s3://pushfeed-local/events/SEND/{w}/{third}-object.json","mandatory":true}}]}}"#
            ),
        );
        put(root, "firehose-errors/s/error.json", "kept");
        // A window without a checkpoint (a first run that never finished) is left alone.
        put(
            root,
            "raw/window=2026-11-26T10:02Z/batch=0019ac0000000-dddddddd.ndjson.gz",
            "raw",
        );
        put(
            root,
            "raw/window=2026-11-26T10:02Z/batch=0019ac0000001-eeeeeeee.ndjson.gz",
            "raw",
        );
        // A partial file of a writer that is gone, and one of this process.
        put(root, ".tmp/999999999-3", "partial");
        put(root, &format!(".tmp/{}-1", std::process::id()), "in use");

        let dry = gc(root, Duration::ZERO, true).unwrap();
        assert_eq!(dry.removed_objects, 8);
        assert!(root
            .join(format!("raw/{w}/batch={second}.ndjson.gz"))
            .exists());

        let r = gc(root, Duration::ZERO, false).unwrap();
        assert_eq!(
            (r.removed_objects, r.windows, r.temp_files_removed),
            (8, 1, 1),
            "{r:?}"
        );
        let exists = |k: &str| root.join(k).exists();
        assert!(
            exists(&format!("raw/{w}/batch={first}.ndjson.gz")),
            "the replay source"
        );
        assert!(!exists(&format!("raw/{w}/batch={second}.ndjson.gz")));
        assert!(!exists(&format!("raw/{w}/batch={third}.ndjson.gz")));
        for b in [first, second] {
            assert!(!exists(&format!("staging/{w}/type=SEND/batch={b}.ndjson")));
            assert!(!exists(&format!("rejected/{w}/batch={b}.ndjson")));
            assert!(!exists(&format!("events/SEND/{w}/{b}-object.json")));
        }
        assert!(exists(&format!(
            "staging/{w}/type=SEND/batch={third}.ndjson"
        )));
        assert!(exists(&format!("rejected/{w}/batch={third}.ndjson")));
        assert!(exists(&format!("events/SEND/{w}/{third}-object.json")));
        assert!(exists(&format!("checkpoints/{w}.json")));
        assert!(exists("firehose-errors/s/error.json"));
        assert!(exists(
            "raw/window=2026-11-26T10:02Z/batch=0019ac0000000-dddddddd.ndjson.gz"
        ));
        assert!(!exists(".tmp/999999999-3"));
        assert!(exists(&format!(".tmp/{}-1", std::process::id())));

        // A second gc finds nothing more, and young objects are never touched.
        assert_eq!(gc(root, Duration::ZERO, false).unwrap().removed_objects, 0);
        put(
            root,
            &format!("raw/{w}/batch=0019ac0000003-ffffffff.ndjson.gz"),
            "young",
        );
        assert_eq!(
            gc(root, Duration::from_secs(600), false)
                .unwrap()
                .removed_objects,
            0
        );
    }
}
