//! Staging rows (one JSON object per line, as Firehose delivers them) turned into rows of
//! PostgreSQL's COPY text format, so the stand-in fills a typed stage with one COPY instead of
//! parsing every row as jsonb on the server.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Why a line is not a staging row.
#[derive(Debug, thiserror::Error)]
#[error("line {line} is not a staging row (a JSON object of column values): {source}")]
pub struct NotAStagingRow {
    /// 1-based, within its object.
    pub line: usize,
    #[source]
    pub source: serde_json::Error,
}

/// Appends one COPY text row per line of `text` to `out`: the named columns in order,
/// tab-separated, `\N` where a key is absent or null. Strings are unescaped from JSON and
/// escaped for COPY; numbers and objects keep their JSON text.
pub fn append_copy_rows(
    text: &[u8],
    columns: &[&str],
    out: &mut Vec<u8>,
) -> Result<usize, NotAStagingRow> {
    let mut fields = Vec::with_capacity(32);
    let mut rows = 0;
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        fields.clear();
        let mut de = serde_json::Deserializer::from_slice(line);
        let parsed = Fields(&mut fields)
            .deserialize(&mut de)
            .and_then(|()| de.end())
            .and_then(|()| append_row(&fields, columns, out));
        parsed.map_err(|source| NotAStagingRow {
            line: i + 1,
            source,
        })?;
        rows += 1;
    }
    Ok(rows)
}

fn append_row(
    fields: &[(&str, &RawValue)],
    columns: &[&str],
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        // Rows are small (about twenty keys): a scan beats hashing.
        let Some((_, value)) = fields.iter().find(|(k, _)| k == column) else {
            out.extend_from_slice(b"\\N");
            continue;
        };
        let json = value.get();
        match json.as_bytes().first() {
            Some(b'"') => {
                let text: Cow<str> = match json.contains('\\') {
                    false => Cow::Borrowed(&json[1..json.len() - 1]),
                    true => Cow::Owned(serde_json::from_str::<String>(json)?),
                };
                escape(text.as_bytes(), out);
            }
            Some(b'n') => out.extend_from_slice(b"\\N"),
            _ => escape(json.as_bytes(), out),
        }
    }
    out.push(b'\n');
    Ok(())
}

/// COPY text treats backslash, tab, newline and carriage return specially.
fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    let special = |b: &u8| matches!(b, b'\\' | b'\t' | b'\n' | b'\r');
    if !bytes.iter().any(special) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
}

/// Collects an object's keys and raw values into a reused vector. Keys are borrowed: staging rows
/// are written by pushfeed with plain column names, so an escaped key is an error.
struct Fields<'a, 'v>(&'v mut Vec<(&'a str, &'a RawValue)>);

impl<'de> DeserializeSeed<'de> for Fields<'de, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'de, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of column values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            let value = map.next_value::<&'de RawValue>()?;
            self.0.push((key, value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(text: &str, columns: &[&str]) -> String {
        let mut out = Vec::new();
        append_copy_rows(text.as_bytes(), columns, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_in_order_with_nulls_for_missing() {
        let line = r#"{"event_id":"e1","window":"2026-11-26T10:01Z","variant_id":3,"channel_id":null,"raw":{"a":[1,2]},"batch_id":"b"}"#;
        assert_eq!(
            copy(
                line,
                &[
                    "event_id",
                    "channel_id",
                    "push_id",
                    "variant_id",
                    "raw",
                    "batch_id"
                ]
            ),
            "e1\t\\N\t\\N\t3\t{\"a\":[1,2]}\tb\n"
        );
    }

    #[test]
    fn json_escapes_become_copy_escapes() {
        let line = r#"{"event_id":"a\"b\\c\td\ne\u00e9","raw":{"k":"x\\y\tz"}}"#;
        assert_eq!(
            copy(&format!("{line}\n\n{line}\n"), &["event_id", "raw"]),
            // JSON's escaped backslashes come out doubled again for COPY.
            ("a\"b\\\\c\\td\\neé\t".to_string() + r#"{"k":"x\\\\y\\tz"}"# + "\n").repeat(2)
        );
    }

    #[test]
    fn raw_whitespace_is_escaped() {
        // The raw event is the vendor's text, which may hold tabs between tokens.
        let line = "{\"raw\":{\"a\":\t1}}";
        assert_eq!(copy(line, &["raw"]), "{\"a\":\\t1}\n");
    }

    #[test]
    fn a_line_that_is_not_a_row_names_its_line() {
        let mut out = Vec::new();
        for (text, line) in [
            ("{\"a\":1}\n[1]", 2),
            ("{\"a\":1}\n{\"a\":1}\n{\"a\"", 3),
            ("{\"a\":1} x", 1),
        ] {
            let err = append_copy_rows(text.as_bytes(), &["a"], &mut out).unwrap_err();
            assert_eq!(err.line, line, "{text}");
            assert!(err
                .to_string()
                .starts_with(&format!("line {line} is not a staging row")));
        }
    }
}
