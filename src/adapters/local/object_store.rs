//! The local stand-in for S3: a directory with the same key layout. Writes are atomic (temp file,
//! then rename), so a reader never sees half an object, just as with S3.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::io::AsyncReadExt;

use crate::ports::{
    ErrorKind, ObjectMeta, ObjectReader, ObjectStore, ObjectWriter, PortError, PortResult,
};

pub struct LocalObjectStore {
    root: PathBuf,
    bucket: String,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalObjectStore {
    /// A store rooted at `root`; `bucket` only names it in `s3://` URLs of manifests.
    pub fn new(root: impl Into<PathBuf>, bucket: impl Into<String>) -> LocalObjectStore {
        LocalObjectStore {
            root: root.into(),
            bucket: bucket.into(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file behind a key. Keys that could escape the root are refused.
    pub fn path_of(&self, key: &str) -> PortResult<PathBuf> {
        let valid = !key.is_empty()
            && !key.starts_with('/')
            && key.split('/').all(|seg| {
                !seg.is_empty() && seg != "." && seg != ".." && !seg.starts_with(".tmp")
            });
        if !valid {
            return Err(PortError::permanent(
                format!("using object key `{key}`"),
                "keys must be relative, with no empty, `.` or `..` segments",
            ));
        }
        Ok(self.root.join(key))
    }

    fn temp_path(&self) -> PathBuf {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        self.root
            .join(".tmp")
            .join(format!("{}-{n}", std::process::id()))
    }

    async fn write_temp(&self, bytes: &[u8]) -> PortResult<PathBuf> {
        let temp = self.temp_path();
        let dir = temp.parent().expect("temp path has a parent");
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| PortError::io(format!("creating {}", dir.display()), e))?;
        tokio::fs::write(&temp, bytes)
            .await
            .map_err(|e| PortError::io(format!("writing {}", temp.display()), e))?;
        Ok(temp)
    }
}

async fn ensure_parent(path: &Path) -> PortResult<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| PortError::io(format!("creating {}", dir.display()), e))?;
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
        let path = self.path_of(key)?;
        let temp = self.write_temp(&bytes).await?;
        ensure_parent(&path).await?;
        tokio::fs::rename(&temp, &path)
            .await
            .map_err(|e| PortError::io(format!("storing object {key}"), e))
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
        let path = self.path_of(key)?;
        let temp = self.write_temp(&bytes).await?;
        ensure_parent(&path).await?;
        // A hard link fails if the target exists, so exactly one concurrent writer wins.
        let linked = tokio::fs::hard_link(&temp, &path).await;
        let _ = tokio::fs::remove_file(&temp).await;
        linked.map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => PortError::new(
                ErrorKind::AlreadyExists,
                format!("creating object {key}"),
                "it already exists",
            ),
            _ => PortError::io(format!("creating object {key}"), e),
        })
    }

    async fn get(&self, key: &str) -> PortResult<Vec<u8>> {
        let path = self.path_of(key)?;
        tokio::fs::read(&path)
            .await
            .map_err(|e| PortError::io(format!("reading object {key}"), e))
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>> {
        // Walk only the deepest directory the prefix names fully.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path_of(dir_part)?
        };
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || -> PortResult<Vec<ObjectMeta>> {
            let mut out = Vec::new();
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(PortError::io(format!("listing {}", dir.display()), e)),
                };
                for entry in entries {
                    let entry = entry
                        .map_err(|e| PortError::io(format!("listing {}", dir.display()), e))?;
                    let path = entry.path();
                    let Ok(rel) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let key = rel.to_string_lossy().to_string();
                    if key.starts_with(".tmp") {
                        continue;
                    }
                    let meta = entry
                        .metadata()
                        .map_err(|e| PortError::io(format!("listing {key}"), e))?;
                    if meta.is_dir() {
                        if prefix.starts_with(&format!("{key}/"))
                            || key.starts_with(&prefix)
                            || prefix.is_empty()
                        {
                            stack.push(path);
                        }
                    } else if key.starts_with(&prefix) {
                        out.push(ObjectMeta {
                            key,
                            size: meta.len(),
                        });
                    }
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
        .map_err(|e| PortError::permanent("listing objects", e))?
    }

    async fn writer(&self, key: &str) -> PortResult<Box<dyn ObjectWriter>> {
        let path = self.path_of(key)?;
        let temp = self.temp_path();
        ensure_parent(&temp).await?;
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| PortError::io(format!("creating {}", temp.display()), e))?;
        Ok(Box::new(LocalWriter {
            key: key.to_string(),
            path,
            temp,
            file: Some(file.into_std().await),
            size: 0,
        }))
    }

    async fn reader(&self, key: &str) -> PortResult<Box<dyn ObjectReader>> {
        let path = self.path_of(key)?;
        // Objects are renamed into place whole and never rewritten in place, so the open file
        // is one consistent version even if the key is replaced meanwhile.
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| PortError::io(format!("reading object {key}"), e))?;
        Ok(Box::new(LocalReader {
            key: key.to_string(),
            file,
        }))
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// Writes each part straight to the file on a blocking thread. No buffer is kept per open object
/// (a `tokio::fs::File` keeps a copy of up to 2 MiB, a `BufWriter` more): callers already write
/// in parts, and ReadWindow keeps up to ten objects open for a whole window.
struct LocalWriter {
    key: String,
    path: PathBuf,
    temp: PathBuf,
    /// None only after a write's thread was lost.
    file: Option<std::fs::File>,
    size: u64,
}

#[async_trait]
impl ObjectWriter for LocalWriter {
    async fn write(&mut self, bytes: &[u8]) -> PortResult<()> {
        use std::io::Write as _;
        let op = || format!("writing object {}", self.key);
        let mut file = self
            .file
            .take()
            .ok_or_else(|| PortError::permanent(op(), "an earlier write was interrupted"))?;
        let part = bytes.to_vec();
        let (file, written) = tokio::task::spawn_blocking(move || {
            let written = file.write_all(&part);
            (file, written)
        })
        .await
        .map_err(|e| PortError::permanent(op(), e))?;
        self.file = Some(file);
        written.map_err(|e| PortError::io(op(), e))?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> PortResult<ObjectMeta> {
        if self.file.take().is_none() {
            return Err(PortError::permanent(
                format!("writing object {}", self.key),
                "an earlier write was interrupted",
            ));
        }
        ensure_parent(&self.path).await?;
        tokio::fs::rename(&self.temp, &self.path)
            .await
            .map_err(|e| PortError::io(format!("storing object {}", self.key), e))?;
        Ok(ObjectMeta {
            key: self.key.clone(),
            size: self.size,
        })
    }
}

struct LocalReader {
    key: String,
    file: tokio::fs::File,
}

#[async_trait]
impl ObjectReader for LocalReader {
    async fn read_into(&mut self, out: &mut Vec<u8>, max: usize) -> PortResult<usize> {
        out.reserve(max.min(16 << 20));
        (&mut self.file)
            .take(max as u64)
            .read_to_end(out)
            .await
            .map_err(|e| PortError::io(format!("reading object {}", self.key), e))
    }
}
