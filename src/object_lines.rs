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
    /// Opens `key`; a key ending in `.gz` is inflated as it is read.
    pub async fn open(store: &dyn ObjectStore, key: &str, chunk: usize) -> PortResult<ObjectLines> {
        Ok(ObjectLines {
            reader: store.reader(key).await?,
            key: key.to_string(),
            chunk: chunk.max(1),
            gunzip: key
                .ends_with(".gz")
                .then(|| flate2::write::MultiGzDecoder::new(Vec::new())),
            buf: Vec::new(),
            start: 0,
            raw: Vec::new(),
            eof: false,
        })
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
        let Some(gunzip) = self.gunzip.as_mut() else {
            let n = self.reader.read_into(&mut self.buf, self.chunk).await?;
            self.eof = n < self.chunk;
            return Ok(());
        };
        self.raw.clear();
        // Compressed parts are smaller: an eighth of a chunk inflates to about a chunk.
        let want = (self.chunk / 8).max(1);
        let n = self.reader.read_into(&mut self.raw, want).await?;
        self.eof = n < want;
        let inflate =
            |e: std::io::Error| PortError::permanent(format!("inflating object {}", self.key), e);
        gunzip.write_all(&self.raw).map_err(inflate)?;
        if self.eof {
            gunzip.try_finish().map_err(inflate)?;
        }
        self.buf.append(gunzip.get_mut());
        Ok(())
    }
}
