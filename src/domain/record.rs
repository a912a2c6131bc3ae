//! A Kinesis record's bytes into event lines: gzip detection and newline splitting.
//!
//! The vendor writes one JSON event per record, but its HTTP API streams newline-delimited JSON
//! and a record may be gzip-compressed, so both are handled here.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::event::Limits;
use super::rejection::Rejection;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The record's payload, inflated when it was gzip-compressed.
pub fn inflate<'a>(data: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>, Rejection> {
    if !data.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(data));
    }
    let mut out = Vec::with_capacity(data.len() * 4);
    // Read one byte past the limit so "exactly at the limit" and "over it" can be told apart.
    let cap = limits.max_inflated_bytes as u64 + 1;
    MultiGzDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| Rejection::BadGzip)?;
    if out.len() as u64 >= cap {
        return Err(Rejection::TooLarge);
    }
    Ok(Cow::Owned(out))
}

/// The non-blank lines of a payload, numbered from 1, with `\r` line ends tolerated.
pub fn lines(payload: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    // `split` on a closure tests byte by byte; `memchr` finds the (usually single) line end fast.
    let mut rest = Some(payload);
    std::iter::from_fn(move || {
        let text = rest?;
        match memchr::memchr(b'\n', text) {
            Some(end) => {
                rest = Some(&text[end + 1..]);
                Some(&text[..end])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
    .enumerate()
    .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
    .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
}

/// Whether a payload holds no event at all (empty or only white space).
pub fn is_blank(payload: &[u8]) -> bool {
    payload.iter().all(u8::is_ascii_whitespace)
}

/// Whether a payload is binary rather than text events: not UTF-8 and not even starting like a
/// JSON object. Such a record is refused whole, not cut into "lines" at stray newline bytes.
pub fn is_binary(payload: &[u8]) -> bool {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    first != Some(&b'{') && std::str::from_utf8(payload).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_records_are_borrowed() {
        let data = b"{\"a\":1}";
        assert!(matches!(
            inflate(data, &Limits::default()).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn gzip_records_are_inflated() {
        let data = gzip(b"{\"a\":1}\n{\"b\":2}\n");
        let payload = inflate(&data, &Limits::default()).unwrap();
        let got: Vec<_> = lines(&payload).collect();
        assert_eq!(got, vec![(1, &b"{\"a\":1}"[..]), (2, &b"{\"b\":2}"[..])]);
    }

    #[test]
    fn gzip_bomb_is_too_large_and_corrupt_gzip_is_named() {
        let limits = Limits {
            max_inflated_bytes: 1000,
            ..Limits::default()
        };
        let bomb = gzip(&vec![b' '; 100_000]);
        assert_eq!(inflate(&bomb, &limits).unwrap_err(), Rejection::TooLarge);
        let exact = gzip(&[b'x'; 1000]);
        assert_eq!(inflate(&exact, &limits).unwrap().len(), 1000);
        let mut corrupt = gzip(b"{\"a\":1}");
        corrupt.truncate(8);
        assert_eq!(inflate(&corrupt, &limits).unwrap_err(), Rejection::BadGzip);
    }

    #[test]
    fn lines_skip_blanks_and_strip_crlf() {
        let got: Vec<_> = lines(b"a\r\n\n  \nb").collect();
        assert_eq!(got, vec![(1, &b"a"[..]), (4, &b"b"[..])]);
        assert!(is_blank(b" \n\t"));
        assert!(!is_blank(b" x"));
        assert!(is_binary(b"\xff\xfe{\x00\n\x01"));
        assert!(!is_binary(b"{\"a\":\"\xe9\"}\n{}"));
        assert!(!is_binary(b"[1]"));
    }
}

/// One item of a record: a valid event, or a rejected part with its reason and its bytes.
#[derive(Debug)]
// Each item is made and consumed at once; boxing the event would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Item<'a> {
    Event(super::event::Event<'a>),
    /// `line` counts from 1 within the record; 0 means the whole record.
    Rejected {
        line: usize,
        reason: Rejection,
        bytes: &'a [u8],
    },
}

/// Splits a Kinesis record into its events and hands each, valid or not, to `f`. Every byte of
/// the record reaches `f` as an event or a rejection, except blank lines between events.
pub fn for_each_item(data: &[u8], arrival_ms: i64, limits: &Limits, mut f: impl FnMut(Item<'_>)) {
    let payload = match inflate(data, limits) {
        Ok(p) => p,
        Err(reason) => {
            return f(Item::Rejected {
                line: 0,
                reason,
                bytes: data,
            })
        }
    };
    if is_blank(&payload) {
        return f(Item::Rejected {
            line: 0,
            reason: Rejection::Empty,
            bytes: data,
        });
    }
    if is_binary(&payload) {
        return f(Item::Rejected {
            line: 0,
            reason: Rejection::NotUtf8,
            bytes: data,
        });
    }
    for (line, bytes) in lines(&payload) {
        let item = match std::str::from_utf8(bytes) {
            Err(_) => Item::Rejected {
                line,
                reason: Rejection::NotUtf8,
                bytes,
            },
            Ok(text) => match super::event::parse_event(text, arrival_ms, limits) {
                Ok(event) => Item::Event(event),
                Err(reason) => Item::Rejected {
                    line,
                    reason,
                    bytes,
                },
            },
        };
        f(item);
    }
}
