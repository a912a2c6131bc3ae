//! An object of the ObjectStore port read as blocks of whole lines, in parts and inflated as they
//! arrive: how the steps and the local PostgreSQL stand-in read staging and delivered objects
//! without holding one whole.

use std::io::Write;

use crate::ports::{ObjectReader, ObjectStore, PortError, PortResult};

/// An object's lines, read in parts: each call hands out a block of whole lines, so memory holds
/// one part of the object (and one line split across two parts), never the whole object.
pub struct ObjectLines {
    reader: Box<dyn ObjectReader>,
    key: String,
    chunk: usize,
    /// Inflates a gzip object as its parts arrive; the inflated bytes collect in its inner Vec.
    gunzip: Option<flate2::write::MultiGzDecoder<Vec<u8>>>,
    /// Bytes read but not handed out yet, from `start` on.
    buf: Vec<u8>,
    start: usize,
    raw: Vec<u8>,
    eof: bool,
}

impl ObjectLines {
    /// Opens `key`. An object that starts with gzip's magic bytes is inflated as it is read,
    /// whatever its key: a key's suffix is a name someone chose (Firehose's file extension is a
    /// setting), the magic bytes are what the object is.
    pub async fn open(store: &dyn ObjectStore, key: &str, chunk: usize) -> PortResult<ObjectLines> {
        let mut lines = ObjectLines {
            reader: store.reader(key).await?,
            key: key.to_string(),
            chunk: chunk.max(1),
            gunzip: None,
            buf: Vec::new(),
            start: 0,
            raw: Vec::new(),
            eof: false,
        };
        // The first part decides; a compressed part is smaller, so it is an eighth of a chunk
        // (at least the two magic bytes, unless the object is shorter).
        let want = (lines.chunk / 8).max(GZIP_MAGIC.len());
        let n = lines.reader.read_into(&mut lines.raw, want).await?;
        lines.eof = n < want;
        if lines.raw.starts_with(&GZIP_MAGIC) {
            lines.gunzip = Some(flate2::write::MultiGzDecoder::new(Vec::new()));
            lines.inflate_raw()?;
        } else {
            lines.buf.append(&mut lines.raw);
        }
        Ok(lines)
    }

    /// Whether the object is gzip-compressed (by its magic bytes).
    pub fn is_gzip(&self) -> bool {
        self.gunzip.is_some()
    }

    /// The next block of whole lines, each with its newline (the object's last line may lack
    /// one); None at the end of the object.
    pub async fn next_block(&mut self) -> PortResult<Option<&[u8]>> {
        // Keep only the unfinished line of the last block.
        self.buf.drain(..self.start);
        self.start = 0;
        loop {
            if let Some(pos) = self.buf.iter().rposition(|&b| b == b'\n') {
                self.start = pos + 1;
                return Ok(Some(&self.buf[..self.start]));
            }
            if self.eof {
                self.start = self.buf.len();
                return Ok((!self.buf.is_empty()).then_some(&self.buf[..]));
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> PortResult<()> {
        if self.gunzip.is_none() {
            let n = self.reader.read_into(&mut self.buf, self.chunk).await?;
            self.eof = n < self.chunk;
            return Ok(());
        }
        self.raw.clear();
        // Compressed parts are smaller: an eighth of a chunk inflates to about a chunk.
        let want = (self.chunk / 8).max(1);
        let n = self.reader.read_into(&mut self.raw, want).await?;
        self.eof = n < want;
        self.inflate_raw()
    }

    /// Inflates the compressed bytes in `raw` onto `buf`, finishing the stream at the end.
    fn inflate_raw(&mut self) -> PortResult<()> {
        let gunzip = self.gunzip.as_mut().expect("only called for gzip objects");
        let inflate = |e: std::io::Error| {
            PortError::permanent(format!("inflating object {}", self.key), NotGzip(e))
        };
        gunzip.write_all(&self.raw).map_err(inflate)?;
        if self.eof {
            gunzip.try_finish().map_err(inflate)?;
        }
        self.buf.append(gunzip.get_mut());
        Ok(())
    }
}

/// An object that starts like gzip but does not inflate: the cause of its [`PortError`], so a
/// step can tell a corrupt object from a failed read.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct NotGzip(pub std::io::Error);

/// RFC 1952: "ID1 = 31 (0x1f), ID2 = 139 (0x8b)".
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::object_store::LocalObjectStore;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    async fn all_lines(store: &dyn ObjectStore, key: &str, chunk: usize) -> (bool, Vec<u8>) {
        let mut lines = ObjectLines::open(store, key, chunk).await.unwrap();
        let mut out = Vec::new();
        while let Some(block) = lines.next_block().await.unwrap() {
            out.extend_from_slice(block);
        }
        (lines.is_gzip(), out)
    }

    #[tokio::test]
    async fn gzip_is_known_by_its_magic_bytes_not_by_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalObjectStore::new(dir.path(), "b");
        let text: Vec<u8> = (0..500)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        for (key, bytes, gzip) in [
            ("plain.ndjson", text.clone(), false),
            ("plain-named.ndjson.gz", text.clone(), false),
            ("compressed.ndjson", gz(&text), true),
            ("compressed.ndjson.gz", gz(&text), true),
        ] {
            store.put(key, bytes).await.unwrap();
            for chunk in [1, 7, 64, 1 << 20] {
                assert_eq!(
                    all_lines(&store, key, chunk).await,
                    (gzip, text.clone()),
                    "{key}, chunk {chunk}"
                );
            }
        }
        // Shorter than the magic: plain, whole.
        store.put("one", b"x".to_vec()).await.unwrap();
        assert_eq!(all_lines(&store, "one", 64).await, (false, b"x".to_vec()));
        store.put("empty", Vec::new()).await.unwrap();
        assert_eq!(all_lines(&store, "empty", 64).await, (false, Vec::new()));
    }

    #[tokio::test]
    async fn a_torn_gzip_object_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalObjectStore::new(dir.path(), "b");
        let mut bytes = gz(b"{\"n\":1}\n{\"n\":2}\n");
        bytes.truncate(bytes.len() - 6);
        store.put("torn", bytes).await.unwrap();
        let mut lines = ObjectLines::open(&store, "torn", 64).await.unwrap();
        let e = loop {
            match lines.next_block().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("a torn object read to its end"),
                Err(e) => break e,
            }
        };
        assert!(e.to_string().contains("inflating object torn"), "{e}");
    }
}
