//! The ObjectStore port over one S3 bucket: put, conditional put (If-None-Match: *), streamed
//! get, paginated list, and a writer that switches to a multipart upload once an object outgrows
//! one part, so raw and staging objects of any size never sit whole in memory.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use super::error::classify;
use crate::ports::{
    ErrorKind, ObjectMeta, ObjectReader, ObjectStore, ObjectWriter, PortError, PortResult,
};

/// S3's smallest part (but the last); parts of this size keep a writer's memory at about 8 MiB.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    part_size: usize,
}

impl S3ObjectStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> S3ObjectStore {
        S3ObjectStore {
            client,
            bucket: bucket.into(),
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// Sets the multipart part size (at least S3's 5 MiB).
    pub fn with_part_size(mut self, bytes: usize) -> S3ObjectStore {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn get_body(&self, key: &str) -> PortResult<ByteStream> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(format!("reading object {key} of bucket {}", self.bucket), e))?;
        Ok(out.body)
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| classify(format!("writing object {key} of bucket {}", self.bucket), e))?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
        let op = || format!("creating object {key} of bucket {}", self.bucket);
        match self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = classify(op(), e);
                Err(match err.kind {
                    // 412: an object is there already. (409 ConditionalRequestConflict, a
                    // concurrent conditional write, is transient and retried by the caller.)
                    ErrorKind::AlreadyExists => PortError::new(
                        ErrorKind::AlreadyExists,
                        op(),
                        "an object is already stored under this key",
                    ),
                    _ => err,
                })
            }
        }
    }

    async fn get(&self, key: &str) -> PortResult<Vec<u8>> {
        let body = self.get_body(key).await?;
        let bytes = body.collect().await.map_err(|e| {
            PortError::transient(format!("reading object {key} of bucket {}", self.bucket), e)
        })?;
        Ok(bytes.to_vec())
    }

    /// Absence is decided by a ListObjectsV2 whose prefix is the key itself, then the object is
    /// read. A GetObject alone cannot tell: AWS's GetObject reference says "If the object you
    /// request doesn't exist, the error that Amazon S3 returns depends on whether you also have
    /// the s3:ListBucket permission. If you have the s3:ListBucket permission on the bucket,
    /// Amazon S3 returns an HTTP status code 404 Not Found error. If you don't have the
    /// s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied error."
    /// The task roles hold s3:ListBucket only with an `s3:prefix` condition, which a GetObject
    /// carries no value for, so a missing key reads as 403 there; a listing whose prefix is the
    /// key lies inside the granted prefixes, so it is allowed and answers truthfully.
    async fn get_if_exists(&self, key: &str) -> PortResult<Option<Vec<u8>>> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(key)
            // The key itself sorts first among the keys it prefixes.
            .max_keys(1)
            .send()
            .await
            .map_err(|e| {
                classify(
                    format!("looking up object {key} in bucket {}", self.bucket),
                    e,
                )
            })?;
        let listed = page
            .contents
            .unwrap_or_default()
            .into_iter()
            .any(|o| o.key.as_deref() == Some(key));
        if !listed {
            return Ok(None);
        }
        self.get(key).await.map(Some)
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>> {
        let op = || format!("listing {prefix} in bucket {}", self.bucket);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| classify(op(), e))?;
            for o in page.contents.unwrap_or_default() {
                if let Some(key) = o.key {
                    out.push(ObjectMeta {
                        key,
                        size: o.size.unwrap_or(0).max(0) as u64,
                    });
                }
            }
            match page.next_continuation_token {
                Some(t) if page.is_truncated == Some(true) => token = Some(t),
                _ => break,
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the port's promise regardless.
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn writer(&self, key: &str) -> PortResult<Box<dyn ObjectWriter>> {
        Ok(Box::new(S3Writer {
            store: self.clone(),
            key: key.to_string(),
            buf: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            size: 0,
        }))
    }

    async fn reader(&self, key: &str) -> PortResult<Box<dyn ObjectReader>> {
        Ok(Box::new(S3Reader {
            body: self.get_body(key).await?,
            pending: bytes::Bytes::new(),
            key: key.to_string(),
            bucket: self.bucket.clone(),
        }))
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// A streamed write: a plain PutObject if the object stays under one part, else a multipart
/// upload whose parts go out as they fill. Nothing is visible under the key before `finish`.
/// A writer dropped unfinished leaves an incomplete upload behind: the bucket's lifecycle rule
/// (AbortIncompleteMultipartUpload, in the CDK app) removes it.
struct S3Writer {
    store: S3ObjectStore,
    key: String,
    buf: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    size: u64,
}

impl S3Writer {
    fn op(&self) -> String {
        format!(
            "uploading object {} of bucket {}",
            self.key, self.store.bucket
        )
    }

    async fn upload_part(&mut self) -> PortResult<()> {
        let client = &self.store.client;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = client
                    .create_multipart_upload()
                    .bucket(&self.store.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| classify(self.op(), e))?;
                let id = out.upload_id.ok_or_else(|| {
                    PortError::permanent(self.op(), "CreateMultipartUpload returned no upload id")
                })?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::take(&mut self.buf);
        let out = client
            .upload_part()
            .bucket(&self.store.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| classify(format!("{} (part {number})", self.op()), e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build(),
        );
        Ok(())
    }

    async fn abort(&self) {
        if let Some(id) = &self.upload_id {
            // Best effort: the lifecycle rule cleans up if this fails too.
            let _ = self
                .store
                .client
                .abort_multipart_upload()
                .bucket(&self.store.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
        }
    }
}

#[async_trait]
impl ObjectWriter for S3Writer {
    async fn write(&mut self, mut bytes: &[u8]) -> PortResult<()> {
        self.size += bytes.len() as u64;
        let part = self.store.part_size;
        while !bytes.is_empty() {
            // Exactly one part's room, so the buffer never doubles past a part (ReadWindow keeps
            // up to ten objects open); pages a small object never touches cost no memory.
            if self.buf.capacity() < part {
                self.buf.reserve_exact(part - self.buf.len());
            }
            let take = (part - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == part {
                if let Err(e) = self.upload_part().await {
                    self.abort().await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> PortResult<ObjectMeta> {
        if self.upload_id.is_none() {
            let bytes = std::mem::take(&mut self.buf);
            self.store.put(&self.key, bytes).await?;
        } else {
            let result = async {
                if !self.buf.is_empty() {
                    self.upload_part().await?;
                }
                self.store
                    .client
                    .complete_multipart_upload()
                    .bucket(&self.store.bucket)
                    .key(&self.key)
                    .upload_id(self.upload_id.clone().expect("checked"))
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(self.parts.clone()))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| classify(self.op(), e))?;
                Ok::<(), PortError>(())
            }
            .await;
            if let Err(e) = result {
                self.abort().await;
                return Err(e);
            }
        }
        Ok(ObjectMeta {
            key: self.key.clone(),
            size: self.size,
        })
    }
}

/// A streamed read: the GetObject body consumed as it arrives.
struct S3Reader {
    body: ByteStream,
    /// Bytes of the last chunk not handed out yet.
    pending: bytes::Bytes,
    key: String,
    bucket: String,
}

#[async_trait]
impl ObjectReader for S3Reader {
    async fn read_into(&mut self, out: &mut Vec<u8>, max: usize) -> PortResult<usize> {
        let mut n = 0;
        while n < max {
            if self.pending.is_empty() {
                match self.body.next().await {
                    Some(Ok(chunk)) => self.pending = chunk,
                    Some(Err(e)) => {
                        return Err(PortError::transient(
                            format!("reading object {} of bucket {}", self.key, self.bucket),
                            e,
                        ))
                    }
                    None => break,
                }
            }
            let take = self.pending.len().min(max - n);
            out.extend_from_slice(&self.pending.split_to(take));
            n += take;
        }
        Ok(n)
    }
}
