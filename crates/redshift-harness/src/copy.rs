//! Redshift's `COPY ... FROM 's3://...' MANIFEST FORMAT AS JSON ...`, run the way Redshift
//! documents it: the manifest and its objects are read through the test's [`ObjectSource`], each
//! JSON object becomes a row through the jsonpaths file, every value is checked against the
//! rules, and the rows go to PostgreSQL as `COPY t (cols) FROM STDIN`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use futures_util::SinkExt;
use serde_json::value::RawValue;
use tokio_postgres::Transaction;

use crate::rules::{self, Breach};
use crate::translate::{CopyPlan, JsonFormat};
use crate::ObjectSource;

/// Why a COPY failed: the text DescribeStatement reports.
#[derive(Debug)]
pub(crate) struct Failed(pub String);

impl From<Breach> for Failed {
    fn from(b: Breach) -> Failed {
        Failed(b.to_string())
    }
}

fn failed(message: impl Into<String>) -> Failed {
    Failed(message.into())
}

/// The kinds of target column COPY converts to differently.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ColumnType {
    /// VARCHAR(n) or CHAR(n): n bytes.
    Chars(usize),
    Super,
    Timestamp {
        zone: bool,
    },
    Other,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    ty: ColumnType,
}

pub(crate) async fn copy(
    tx: &Transaction<'_>,
    plan: &CopyPlan,
    source: &dyn ObjectSource,
    super_string_bytes: usize,
) -> Result<u64, Failed> {
    let table_columns = columns_of(tx, &plan.table).await?;
    let columns: Vec<Column> = match &plan.columns {
        None => table_columns,
        Some(list) => {
            let mut chosen = Vec::with_capacity(list.len());
            for name in list {
                let column = table_columns
                    .iter()
                    .find(|c| &c.name == name)
                    .ok_or_else(|| {
                        failed(format!(
                            "column \"{name}\" of relation \"{}\" does not exist",
                            plan.table
                        ))
                    })?;
                if chosen.iter().any(|c: &Column| &c.name == name) {
                    return Err(failed(format!(
                        "column \"{name}\" specified more than once"
                    )));
                }
                chosen.push(column.clone());
            }
            chosen
        }
    };
    let paths = match &plan.json {
        JsonFormat::Auto => None,
        JsonFormat::Paths(url) => {
            let bytes = fetch(source, url)
                .await?
                .ok_or_else(|| failed(format!("the jsonpaths file {url} was not found")))?;
            let paths = parse_jsonpaths(&bytes)
                .map_err(|e| failed(format!("jsonpaths file {url}: {e}")))?;
            rules::jsonpaths_arity(paths.len(), columns.len(), plan.columns.is_some())?;
            Some(paths)
        }
    };
    let manifest = fetch(source, &plan.from)
        .await?
        .ok_or_else(|| failed(format!("the manifest {} was not found", plan.from)))?;
    let entries =
        parse_manifest(&manifest).map_err(|e| failed(format!("manifest {}: {e}", plan.from)))?;

    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let sink = tx
        .copy_in::<_, Bytes>(&format!("COPY {} ({list}) FROM STDIN", plan.table))
        .await
        .map_err(|e| failed(crate::exec::db_message(&e)))?;
    futures_util::pin_mut!(sink);
    let mut found = 0;
    let mut out = Vec::new();
    for entry in &entries {
        let Some(bytes) = fetch(source, &entry.url).await? else {
            if entry.mandatory {
                return Err(rules::mandatory_file_missing(&entry.url, &plan.from).into());
            }
            continue;
        };
        found += 1;
        let bytes = if plan.gzip {
            gunzip(&bytes, &entry.url)?
        } else {
            bytes
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            failed(format!(
                "{} is not UTF-8 (at byte {}): COPY loads UTF-8 data",
                entry.url,
                e.valid_up_to()
            ))
        })?;
        rows(
            text,
            &entry.url,
            &columns,
            paths.as_deref(),
            plan,
            super_string_bytes,
            &mut out,
        )?;
        if out.len() >= 1 << 20 {
            sink.send(Bytes::from(std::mem::take(&mut out)))
                .await
                .map_err(|e| failed(crate::exec::db_message(&e)))?;
        }
    }
    if found == 0 {
        return Err(rules::no_files_found(&plan.from).into());
    }
    if !out.is_empty() {
        sink.send(Bytes::from(out))
            .await
            .map_err(|e| failed(crate::exec::db_message(&e)))?;
    }
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| failed(crate::exec::db_message(&e)))
}

async fn fetch(source: &dyn ObjectSource, url: &str) -> Result<Option<Vec<u8>>, Failed> {
    source
        .get(url)
        .await
        .map_err(|e| failed(format!("reading {url}: {e}")))
}

/// The table's columns in order, with the types COPY treats apart. SUPER is the harness's
/// `super` domain; VARCHAR(n) and CHAR(n) carry n in their type modifier (n + 4).
async fn columns_of(tx: &Transaction<'_>, table: &str) -> Result<Vec<Column>, Failed> {
    let rows = tx
        .query(
            "SELECT a.attname::text, t.typname::text, a.atttypmod FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&table],
        )
        .await
        .map_err(|e| failed(crate::exec::db_message(&e)))?;
    if rows.is_empty() {
        return Err(failed(format!("relation \"{table}\" does not exist")));
    }
    Ok(rows
        .iter()
        .map(|r| {
            let (name, ty, modifier): (String, String, i32) = (r.get(0), r.get(1), r.get(2));
            let ty = match ty.as_str() {
                "varchar" | "bpchar" if modifier >= 4 => ColumnType::Chars(modifier as usize - 4),
                "super" => ColumnType::Super,
                "timestamp" => ColumnType::Timestamp { zone: false },
                "timestamptz" => ColumnType::Timestamp { zone: true },
                _ => ColumnType::Other,
            };
            Column { name, ty }
        })
        .collect())
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    url: String,
    mandatory: bool,
}

/// A manifest: `{"entries": [{"url": "s3://...", "mandatory": true}, ...]}`; `mandatory`
/// defaults to false, as the manifest page says.
fn parse_manifest(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        entries: Vec<RawEntry>,
    }
    #[derive(serde::Deserialize)]
    struct RawEntry {
        url: String,
        #[serde(default)]
        mandatory: bool,
    }
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("not a manifest ({e})"))?;
    m.entries
        .into_iter()
        .map(|e| {
            if !e.url.starts_with("s3://") {
                return Err(format!("entry {} is not an s3:// URL", e.url));
            }
            Ok(Entry {
                url: e.url,
                mandatory: e.mandatory,
            })
        })
        .collect()
}

/// One step of a JSONPath expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The jsonpaths file: "a single JSON object with the name "jsonpaths" paired with an array of
/// JSONPath expressions" ("COPY from JSON format"), each "the explicit path to a single name
/// element ... using either bracket notation or dot notation", and "You cannot mix bracket
/// notation and dot notation in the jsonpaths array."
fn parse_jsonpaths(bytes: &[u8]) -> Result<Vec<Vec<Step>>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        jsonpaths: Vec<String>,
    }
    let file: File = serde_json::from_slice(bytes).map_err(|e| {
        format!("not a single object holding a \"jsonpaths\" array of strings ({e})")
    })?;
    let mut notation = None;
    file.jsonpaths
        .iter()
        .map(|expr| {
            let (steps, used) = parse_path(expr).map_err(|e| format!("`{expr}`: {e}"))?;
            if let Some(used) = used {
                if notation.is_some_and(|n| n != used) {
                    return Err(format!(
                        "`{expr}`: bracket and dot notation are mixed in the jsonpaths array"
                    ));
                }
                notation = Some(used);
            }
            Ok(steps)
        })
        .collect()
}

/// Parses `$['a']['b'][0]` or `$.a.b[0]`; returns the steps and which notation named keys.
fn parse_path(expr: &str) -> Result<(Vec<Step>, Option<char>), String> {
    let rest = expr.strip_prefix('$').ok_or("a JSONPath starts with $")?;
    let (mut steps, mut used) = (Vec::new(), None);
    let mut note = |n: char| -> Result<(), String> {
        match used {
            Some(u) if u != n => Err("bracket and dot notation are mixed".to_string()),
            _ => {
                used = Some(n);
                Ok(())
            }
        }
    };
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'[' if matches!(b.get(i + 1), Some(b'\'' | b'"')) => {
                let q = b[i + 1] as char;
                let end = rest[i + 2..]
                    .find(q)
                    .ok_or("a bracketed name is not closed")?;
                let name = &rest[i + 2..i + 2 + end];
                if rest.as_bytes().get(i + 2 + end + 1) != Some(&b']') {
                    return Err("a bracketed name is not followed by ]".into());
                }
                note('[')?;
                steps.push(Step::Key(name.to_string()));
                i += end + 4;
            }
            b'[' => {
                let end = rest[i..].find(']').ok_or("an index is not closed")?;
                let index = rest[i + 1..i + end].parse().map_err(|_| {
                    format!(
                        "`{}` is not an array index (wildcards and filters are not supported)",
                        &rest[i + 1..i + end]
                    )
                })?;
                steps.push(Step::Index(index));
                i += end + 1;
            }
            b'.' => {
                let end = rest[i + 1..]
                    .find(['.', '['])
                    .map_or(rest.len(), |e| i + 1 + e);
                let name = &rest[i + 1..end];
                if name.is_empty() || name.contains(['\'', ']', '*']) {
                    return Err(format!("`{name}` is not a name in dot notation"));
                }
                note('.')?;
                steps.push(Step::Key(name.to_string()));
                i = end;
            }
            c => return Err(format!("unexpected `{}`", c as char)),
        }
    }
    Ok((steps, used))
}

/// A row's value at a path; None where the path leads nowhere (COPY loads NULL there).
fn lookup<'a>(
    root: &'a RawValue,
    top: &Option<HashMap<String, &'a RawValue>>,
    steps: &[Step],
) -> Option<&'a RawValue> {
    let mut current = root;
    for (n, step) in steps.iter().enumerate() {
        current = match step {
            Step::Key(k) if n == 0 => *top.as_ref()?.get(k)?,
            Step::Key(k) => *serde_json::from_str::<HashMap<String, &RawValue>>(current.get())
                .ok()?
                .get(k)?,
            Step::Index(i) => *serde_json::from_str::<Vec<&RawValue>>(current.get())
                .ok()?
                .get(*i)?,
        };
    }
    Some(current)
}

fn gunzip(bytes: &[u8], url: &str) -> Result<Vec<u8>, Failed> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(rules::not_gzip(url, "it does not start with gzip's magic bytes 1F 8B").into());
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Failed::from(rules::not_gzip(url, &e.to_string())))?;
    Ok(out)
}

/// Converts every JSON object (or array) of `text` into a COPY text row appended to `out`.
fn rows(
    text: &str,
    url: &str,
    columns: &[Column],
    paths: Option<&[Vec<Step>]>,
    plan: &CopyPlan,
    super_string_bytes: usize,
    out: &mut Vec<u8>,
) -> Result<(), Failed> {
    let auto: Vec<Vec<Step>>;
    let paths = match paths {
        Some(p) => p,
        None => {
            auto = columns
                .iter()
                .map(|c| vec![Step::Key(c.name.clone())])
                .collect();
            &auto
        }
    };
    let stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let (mut line, mut counted) = (1, 0);
    for next in stream {
        let at = |line: usize| format!("{url} line {line}");
        let raw = next.map_err(|e| failed(format!("{}: not JSON: {e}", at(e.line()))))?;
        let json = raw.get();
        // The value is a slice of `text`: its line is one more than the newlines before it.
        let start = json.as_ptr() as usize - text.as_ptr() as usize;
        line += text[counted..start].matches('\n').count();
        counted = start;
        rules::copy_row_size(json.len(), &at(line))?;
        let top = match json.as_bytes().first() {
            Some(b'{') => Some(
                serde_json::from_str::<HashMap<String, &RawValue>>(json)
                    .map_err(|e| failed(format!("{}: {e}", at(line))))?,
            ),
            Some(b'[') => None,
            _ => {
                return Err(failed(format!(
                    "{}: a JSON data file holds objects or arrays, not `{}`",
                    at(line),
                    json.chars().take(20).collect::<String>()
                )))
            }
        };
        for (i, (column, steps)) in columns.iter().zip(paths).enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match convert(
                lookup(raw, &top, steps),
                column,
                plan,
                super_string_bytes,
                &at(line),
            )? {
                None => out.extend_from_slice(b"\\N"),
                Some(value) => escape(value.as_bytes(), out),
            }
        }
        out.push(b'\n');
    }
    Ok(())
}

/// One value as its column takes it, or None for NULL.
fn convert<'v>(
    value: Option<&'v RawValue>,
    column: &Column,
    plan: &CopyPlan,
    super_string_bytes: usize,
    at: &str,
) -> Result<Option<Cow<'v, str>>, Failed> {
    let Some(value) = value else {
        return Ok(None);
    };
    let json = value.get();
    if json == "null" {
        return Ok(None);
    }
    if column.ty == ColumnType::Super {
        rules::super_value(json, super_string_bytes, &column.name, at)?;
        return Ok(Some(Cow::Borrowed(json)));
    }
    // "If the value in the name/value pair referenced by a JSONPath expression is an object or an
    // array, the entire object or array is loaded as a string, including the braces or brackets."
    let text: Cow<str> = if json.starts_with('"') {
        Cow::Owned(serde_json::from_str::<String>(json).map_err(|e| failed(format!("{at}: {e}")))?)
    } else {
        Cow::Borrowed(json)
    };
    match column.ty {
        ColumnType::Chars(n) => {
            let fitted = rules::fit_varchar(&text, n, plan.truncate_columns, &column.name, at)?;
            Ok(Some(Cow::Owned(fitted.into_owned())))
        }
        ColumnType::Timestamp { zone } => {
            time_format(&text, zone, plan.timeformat.as_deref(), &column.name, at)?;
            Ok(Some(text))
        }
        _ => Ok(Some(text)),
    }
}

/// COPY, TIMEFORMAT: "If no TIMEFORMAT is specified, the default format is `YYYY-MM-DD
/// HH:MI:SS` for TIMESTAMP columns or `YYYY-MM-DD HH:MI:SSOF` for TIMESTAMPTZ columns, where `OF`
/// is the offset from Coordinated Universal Time (UTC)." With 'auto', the harness takes the
/// formats of "Using automatic recognition with DATEFORMAT and TIMEFORMAT" that pushfeed can
/// write: ISO 8601 (`2019-02-11T05:09:12.195Z`), `YYYY-MM-DD HH:MI:SS.SSS` and
/// `YYYY-MM-DD HH:MI:SS+/-TZ`. Others (Julian, BC, compact forms) it cannot check and refuses.
fn time_format(
    value: &str,
    zone: bool,
    format: Option<&str>,
    column: &str,
    at: &str,
) -> Result<(), Failed> {
    let ok = match format {
        Some("auto") => iso_like(value, true),
        None => iso_like(value, false) && (!zone || has_offset(value)) && (zone || !has_offset(value)),
        Some(other) => {
            return Err(failed(format!(
                "TIMEFORMAT '{other}' is not modelled by the harness (it models 'auto' and the default)"
            )))
        }
    };
    if !ok {
        return Err(failed(format!(
            "{at}: `{value}` for {} column {column} does not match TIMEFORMAT {}",
            if zone { "TIMESTAMPTZ" } else { "TIMESTAMP" },
            format.map_or(
                "default (YYYY-MM-DD HH:MI:SS[OF])".to_string(),
                |f| format!("'{f}'")
            )
        )));
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MI:SS[.fraction][offset]`, and with `iso` also `T` for the space and `Z` for
/// the offset.
fn iso_like(v: &str, iso: bool) -> bool {
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 19
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !(b[10] == b' ' || iso && b[10] == b'T')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &v[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        "" => true,
        "Z" => iso,
        _ => offset(rest),
    }
}

fn offset(s: &str) -> bool {
    let Some(hm) = s.strip_prefix(['+', '-']) else {
        return false;
    };
    let b = hm.as_bytes();
    let two = |i: usize| {
        b.get(i..i + 2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    match b.len() {
        2 => two(0),
        4 => two(0) && two(2),
        5 => two(0) && b[2] == b':' && two(3),
        _ => false,
    }
}

fn has_offset(v: &str) -> bool {
    v.len() > 19 && {
        let rest = v[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        rest == "Z" || offset(rest)
    }
}

/// COPY text format: backslash, tab, newline and carriage return are escaped.
fn escape(bytes: &[u8], out: &mut Vec<u8>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(truncate: bool) -> CopyPlan {
        CopyPlan {
            table: "t".into(),
            columns: None,
            from: "s3://b/m".into(),
            json: JsonFormat::Auto,
            gzip: false,
            timeformat: Some("auto".into()),
            truncate_columns: truncate,
        }
    }

    fn cols() -> Vec<Column> {
        vec![
            Column {
                name: "id".into(),
                ty: ColumnType::Chars(4),
            },
            Column {
                name: "at".into(),
                ty: ColumnType::Timestamp { zone: true },
            },
            Column {
                name: "n".into(),
                ty: ColumnType::Other,
            },
            Column {
                name: "raw".into(),
                ty: ColumnType::Super,
            },
        ]
    }

    fn convert_text(text: &str, paths: &[&str], truncate: bool) -> Result<String, Failed> {
        let paths: Vec<Vec<Step>> = paths.iter().map(|p| parse_path(p).unwrap().0).collect();
        let mut out = Vec::new();
        rows(
            text,
            "s3://b/k",
            &cols(),
            Some(&paths),
            &plan(truncate),
            rules::SUPER_STRING_BYTES,
            &mut out,
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn jsonpaths_in_either_notation_but_not_both() {
        let file = br#"{"jsonpaths": ["$['event_id']", "$['a']['b'][0]", "$[2]"]}"#;
        assert_eq!(
            parse_jsonpaths(file).unwrap(),
            vec![
                vec![Step::Key("event_id".into())],
                vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(0)],
                vec![Step::Index(2)],
            ]
        );
        assert_eq!(
            parse_path("$.a.b[1]").unwrap().0,
            vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(1)]
        );
        let e = parse_jsonpaths(br#"{"jsonpaths": ["$['a']", "$.b"]}"#).unwrap_err();
        assert!(e.contains("mixed"), "{e}");
        assert!(parse_jsonpaths(br#"{"jsonpaths": ["$.a[*]"]}"#).is_err());
        assert!(parse_jsonpaths(br#"{"paths": ["$.a"]}"#).is_err());
        assert!(parse_path("a").is_err());
    }

    #[test]
    fn manifests_default_mandatory_to_false() {
        let m = parse_manifest(
            br#"{"entries": [{"url": "s3://b/1", "mandatory": true}, {"url": "s3://b/2"}]}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            vec![
                Entry {
                    url: "s3://b/1".into(),
                    mandatory: true
                },
                Entry {
                    url: "s3://b/2".into(),
                    mandatory: false
                },
            ]
        );
        assert!(parse_manifest(br#"{"entries": [{"url": "/local/file"}]}"#).is_err());
        assert!(parse_manifest(b"[]").is_err());
    }

    #[test]
    fn rows_follow_the_jsonpaths_and_escape_for_copy() {
        let text = "{\"id\":\"a\\tb\",\"at\":\"2026-11-26T10:01:00.500Z\",\"n\":7,\"raw\":{\"x\":[1,\"y\"]}}\n\
                    {\"id\":null,\"at\":\"2026-11-26 10:01:00+01\",\"n\":{\"o\":1},\"raw\":null}";
        assert_eq!(
            convert_text(text, &["$['id']", "$['at']", "$['n']", "$['raw']"], false).unwrap(),
            "a\\tb\t2026-11-26T10:01:00.500Z\t7\t{\"x\":[1,\"y\"]}\n\\N\t2026-11-26 10:01:00+01\t{\"o\":1}\t\\N\n"
        );
        // A path that leads nowhere loads NULL.
        assert_eq!(
            convert_text(
                r#"{"id":"a"}"#,
                &["$['id']", "$['missing']", "$['id'][3]", "$['id']['x']"],
                false
            )
            .unwrap(),
            "a\t\\N\t\\N\t\\N\n"
        );
    }

    #[test]
    fn varchar_values_are_bytes_and_truncated_only_with_truncatecolumns() {
        let row = r#"{"id":"ééé"}"#;
        let e = convert_text(row, &["$['id']", "$.x", "$.y", "$.z"], false).unwrap_err();
        assert!(
            e.0.contains("varchar_bytes") && e.0.contains("s3://b/k line 1"),
            "{}",
            e.0
        );
        assert_eq!(
            convert_text(row, &["$['id']", "$['x']", "$['y']", "$['z']"], true).unwrap(),
            "éé\t\\N\t\\N\t\\N\n"
        );
    }

    #[test]
    fn timestamps_follow_timeformat() {
        let at = |v: &str, zone: bool, f: Option<&str>| time_format(v, zone, f, "c", "x").is_ok();
        assert!(at("2026-11-26T10:01:00.123Z", true, Some("auto")));
        assert!(at("2026-11-26 10:01:00-08", true, Some("auto")));
        assert!(
            !at("J2451187", true, Some("auto")),
            "a format the harness cannot check is refused"
        );
        assert!(!at("now", true, Some("auto")));
        assert!(at("2026-11-26 10:01:00+00", true, None));
        assert!(
            !at("2026-11-26T10:01:00Z", true, None),
            "the default format has no T or Z"
        );
        assert!(
            !at("2026-11-26 10:01:00", true, None),
            "TIMESTAMPTZ's default format has an offset"
        );
        assert!(at("2026-11-26 10:01:00", false, None));
        assert!(!at("2026-11-26 10:01:00", false, Some("YYYY-MM-DD")));
    }

    #[test]
    fn each_row_is_a_root_level_object_or_array_of_at_most_4_mib() {
        let e = convert_text(
            "{\"id\":\"a\"}\n\n42",
            &["$.id", "$.a", "$.b", "$.c"],
            false,
        )
        .unwrap_err();
        assert!(
            e.0.contains("line 3") && e.0.contains("objects or arrays"),
            "{}",
            e.0
        );
        let big = format!(
            r#"{{"id":"a","pad":"{}"}}"#,
            "x".repeat(rules::MAX_COPY_ROW_BYTES)
        );
        let e = convert_text(&big, &["$.id", "$.a", "$.b", "$.c"], false).unwrap_err();
        assert!(e.0.contains("copy_row_size"), "{}", e.0);
        let e = convert_text("{\"id\": tru}", &["$.id", "$.a", "$.b", "$.c"], false).unwrap_err();
        assert!(e.0.contains("not JSON"), "{}", e.0);
    }

    #[test]
    fn super_values_are_checked_as_they_are_copied() {
        let deep = format!(r#"{{"raw":{}1{}}}"#, "[".repeat(1_001), "]".repeat(1_001));
        let e = convert_text(&deep, &["$.a", "$.b", "$.c", "$.raw"], false).unwrap_err();
        assert!(e.0.contains("super_depth"), "{}", e.0);
    }

    #[test]
    fn gzip_input_must_be_gzip() {
        let e = gunzip(b"{\"a\":1}", "s3://b/k").unwrap_err();
        assert!(
            e.0.contains("gzip_input") && e.0.contains("s3://b/k"),
            "{}",
            e.0
        );
        let e = gunzip(&[0x1f, 0x8b, 0, 0], "s3://b/k").unwrap_err();
        assert!(e.0.contains("gzip_input"), "{}", e.0);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, b"{}\n").unwrap();
        assert_eq!(gunzip(&enc.finish().unwrap(), "s3://b/k").unwrap(), b"{}\n");
    }
}
