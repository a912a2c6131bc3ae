//! The Redshift and Data API limits the harness enforces, each with the AWS documentation it
//! follows quoted beside it. A breach ends the statement FAILED (or, for the Data API's request
//! limits, refuses the request with a ValidationException, as the Data API does) with a message
//! that names the rule, so a test that breaks one says which.
//!
//! Where AWS gives a size in "KB" or "MB" without saying which, the reading used is stated at the
//! constant; docs/aws.md lists these readings among the assumptions.

use std::borrow::Cow;
use std::fmt;

/// A broken rule: its name (stable, for tests and messages) and what broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redshift rule {} broken: {}", self.rule, self.detail)
    }
}

impl std::error::Error for Breach {}

fn breach(rule: &'static str, detail: impl Into<String>) -> Breach {
    Breach {
        rule,
        detail: detail.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The Data API's request limits

/// Amazon Redshift Data API Reference, BatchExecuteStatement, `Sqls`: "One or more SQL
/// statements to run. ... Type: Array of strings. Array Members: Minimum number of 1 item.
/// Maximum number of 40 items."
pub const MAX_BATCH_STATEMENTS: usize = 40;

pub const BATCH_SIZE: &str = "batch_size";

pub fn batch_size(count: usize) -> Result<(), Breach> {
    if count == 0 || count > MAX_BATCH_STATEMENTS {
        return Err(breach(
            BATCH_SIZE,
            format!(
                "BatchExecuteStatement takes 1 to {MAX_BATCH_STATEMENTS} SQL statements; {count} were given"
            ),
        ));
    }
    Ok(())
}

/// Amazon Redshift Management Guide, "Considerations when calling the Amazon Redshift Data API":
/// "The maximum query statement size is 100 KB." The Data API Reference gives no length
/// constraint for `Sql` or the members of `Sqls`; EventBridge's RedshiftDataParameters, which
/// forwards them, documents "Length Constraints: Minimum length of 1. Maximum length of 100000."
/// So 100 KB is read as 100,000 bytes of UTF-8, for each statement (`Sql`, and each member of
/// `Sqls`). Whether a batch's statements are also limited together is not documented.
pub const MAX_SQL_BYTES: usize = 100_000;

pub const SQL_SIZE: &str = "sql_size";

pub fn sql_size(sql: &str) -> Result<(), Breach> {
    if sql.is_empty() {
        return Err(breach(SQL_SIZE, "a SQL statement is empty"));
    }
    if sql.len() > MAX_SQL_BYTES {
        return Err(breach(
            SQL_SIZE,
            format!(
                "a SQL statement is {} bytes; the Data API takes at most {MAX_SQL_BYTES} (\"The maximum query statement size is 100 KB.\"): `{}...`",
                sql.len(),
                sql.chars().take(60).collect::<String>()
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// COPY

/// Amazon Redshift Database Developer Guide, "COPY from JSON format": "Each JSONPath expression in
/// the jsonpaths array corresponds to one column in the Amazon Redshift target table. The order of
/// the jsonpaths array elements must match the order of the columns in the target table or the
/// column list, if a column list is used."
pub const JSONPATHS_ARITY: &str = "jsonpaths_arity";

pub fn jsonpaths_arity(paths: usize, columns: usize, column_list: bool) -> Result<(), Breach> {
    if paths != columns {
        let of = if column_list {
            "the COPY column list"
        } else {
            "the target table (no column list)"
        };
        return Err(breach(
            JSONPATHS_ARITY,
            format!(
                "the jsonpaths file has {paths} expressions and {of} has {columns} columns; each expression corresponds to one column, in order"
            ),
        ));
    }
    Ok(())
}

/// Developer Guide, "Data sources" (COPY): "The maximum size of a single input row from any
/// source is 4 MB." and "Using COPY to load data into SUPER columns": "The maximum size of a JSON
/// object in Amazon Redshift is 4 MB, which applies before any shredding or parsing." A JSON
/// input row is one root-level object or array, measured as its text; 4 MB is read as
/// 4 × 1024 × 1024 bytes.
pub const MAX_COPY_ROW_BYTES: usize = 4 * 1024 * 1024;

pub const COPY_ROW_SIZE: &str = "copy_row_size";

pub fn copy_row_size(bytes: usize, at: &str) -> Result<(), Breach> {
    if bytes > MAX_COPY_ROW_BYTES {
        return Err(breach(
            COPY_ROW_SIZE,
            format!(
                "the input row at {at} is {bytes} bytes; COPY takes rows of at most {MAX_COPY_ROW_BYTES} bytes (\"The maximum size of a single input row from any source is 4 MB.\")"
            ),
        ));
    }
    Ok(())
}

/// Developer Guide, "Using a manifest to specify data files": "The optional mandatory flag
/// specifies whether COPY should return an error if the file is not found. The default of
/// mandatory is false. Regardless of any mandatory settings, COPY will terminate if no files
/// are found." "Terminate" is read as the COPY failing.
pub const MANIFEST_FILES: &str = "manifest_files";

pub fn mandatory_file_missing(url: &str, manifest: &str) -> Breach {
    breach(
        MANIFEST_FILES,
        format!("{url} is mandatory in manifest {manifest} and was not found"),
    )
}

pub fn no_files_found(manifest: &str) -> Breach {
    breach(
        MANIFEST_FILES,
        format!(
            "no file of manifest {manifest} was found (\"Regardless of any mandatory settings, COPY will terminate if no files are found.\")"
        ),
    )
}

/// Developer Guide, COPY data format parameters: "GZIP: A value that specifies that the input
/// file or files are in compressed gzip format (.gz files). The COPY operation reads each
/// compressed file and uncompresses the data as it loads." A file that is not gzip cannot be
/// uncompressed, so the load fails; Redshift names no magic-byte check, the harness uses gzip's
/// own (1F 8B).
pub const GZIP_INPUT: &str = "gzip_input";

pub fn not_gzip(url: &str, why: &str) -> Breach {
    breach(
        GZIP_INPUT,
        format!("COPY ... GZIP read {url}, which is not gzip: {why}"),
    )
}

// ---------------------------------------------------------------------------------------------
// Character types

/// Developer Guide, "Character types": "CHAR and VARCHAR data types are defined in terms of
/// bytes, not characters." ... "An attempt to store a longer string into a column of these types
/// results in an error, unless the extra characters are all spaces (blanks), in which case the
/// string is truncated to the maximum length." and "The MAX setting defines the width of the
/// column as 4096 bytes for CHAR or 65535 bytes for VARCHAR."
///
/// COPY, data conversion parameters: "TRUNCATECOLUMNS: Truncates data in columns to the
/// appropriate number of characters so that it fits the column specification. Applies only to
/// columns with a VARCHAR or CHAR data type, and rows 4 MB or less in size." (Redshift's own
/// load error for an over-long value is 1204, "String length exceeds DDL length".)
pub const MAX_VARCHAR_BYTES: usize = 65_535;

pub const VARCHAR_BYTES: &str = "varchar_bytes";

/// The name of the CHECK constraint the harness gives a VARCHAR(n) column, so PostgreSQL's own
/// error for an INSERT or UPDATE of an over-long value names this rule.
pub fn varchar_constraint_name(column: &str) -> String {
    let safe: String = column
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("redshift_{VARCHAR_BYTES}_{safe}")
}

pub fn varchar_width(n: usize, column: &str) -> Result<(), Breach> {
    if n == 0 || n > MAX_VARCHAR_BYTES {
        return Err(breach(
            VARCHAR_BYTES,
            format!("column {column} is VARCHAR({n}); Redshift's VARCHAR holds 1 to {MAX_VARCHAR_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// A value COPY writes into a VARCHAR(n) column: kept when it fits in n bytes; cut to n bytes
/// with TRUNCATECOLUMNS, or when only spaces are over; otherwise a breach. The cut falls on a
/// character boundary, so the value stays valid UTF-8 (whether Redshift cuts a multibyte
/// character in the middle is not documented).
pub fn fit_varchar<'v>(
    value: &'v str,
    n: usize,
    truncate: bool,
    column: &str,
    at: &str,
) -> Result<Cow<'v, str>, Breach> {
    if value.len() <= n {
        return Ok(Cow::Borrowed(value));
    }
    let mut cut = n;
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    if truncate || value[cut..].bytes().all(|b| b == b' ') {
        return Ok(Cow::Borrowed(&value[..cut]));
    }
    Err(breach(
        VARCHAR_BYTES,
        format!(
            "the value for column {column} VARCHAR({n}) at {at} is {} bytes ({} characters): String length exceeds DDL length; VARCHAR lengths are bytes, and COPY truncates only with TRUNCATECOLUMNS",
            value.len(),
            value.chars().count()
        ),
    ))
}

// ---------------------------------------------------------------------------------------------
// SUPER

/// Developer Guide, SUPER "Limitations": "An individual SUPER object can hold up to 16 MB of
/// data." Measured here on the value's JSON text (Redshift measures its own encoding, which
/// `SIZE()` reports), 16 MB read as 16 × 1024 × 1024 bytes.
pub const MAX_SUPER_BYTES: usize = 16 * 1024 * 1024;

/// Same page: "The maximum nesting depth for arrays and structures of the SUPER data type is
/// 1,000." The outermost object or array counts as depth 1, so `{"a":[]}` has depth 2.
pub const MAX_SUPER_DEPTH: usize = 1_000;

/// Developer Guide, `enable_large_strings_opt_in`: "When set to No: Individual strings in SUPER
/// columns have a limit of 65,535 bytes." ... "When this parameter is not set, Amazon Redshift
/// preserves the existing behavior of your cluster." and "When set to Yes: Individual strings
/// that you store in the SUPER data type can be up to 16,000,000 bytes." The harness models a
/// cluster without the opt-in unless told otherwise.
pub const SUPER_STRING_BYTES: usize = 65_535;
pub const SUPER_STRING_BYTES_OPT_IN: usize = 16_000_000;

pub const SUPER_SIZE: &str = "super_size";
pub const SUPER_DEPTH: &str = "super_depth";
pub const SUPER_STRING: &str = "super_string";

/// Same page: "You can't define SUPER columns as either a distribution or sort key."
pub const SUPER_KEY: &str = "super_key";

/// The name of the CHECK of the `super` domain (see `translate::PREAMBLE`), so PostgreSQL's error
/// for an over-large SUPER written by INSERT or UPDATE names the rule.
pub const SUPER_DOMAIN_CONSTRAINT: &str = "redshift_super_size";

/// Checks a JSON value COPY writes into a SUPER column: its size, its nesting depth and the
/// length of every string in it (unescaped, in UTF-8 bytes).
pub fn super_value(json: &str, string_limit: usize, column: &str, at: &str) -> Result<(), Breach> {
    if json.len() > MAX_SUPER_BYTES {
        return Err(breach(
            SUPER_SIZE,
            format!(
                "the SUPER value for column {column} at {at} is {} bytes of JSON; a SUPER object holds at most {MAX_SUPER_BYTES} (\"An individual SUPER object can hold up to 16 MB of data.\")",
                json.len()
            ),
        ));
    }
    let shape = json_shape(json);
    if shape.depth > MAX_SUPER_DEPTH {
        return Err(breach(
            SUPER_DEPTH,
            format!(
                "the SUPER value for column {column} at {at} nests arrays and objects {} deep; SUPER takes at most {MAX_SUPER_DEPTH} (\"The maximum nesting depth for arrays and structures of the SUPER data type is 1,000.\")",
                shape.depth
            ),
        ));
    }
    if let Some((start, end)) = shape.longest_string {
        // Unescaping never lengthens a JSON string, so only a long literal can break the limit.
        if end - start > string_limit + 2 {
            let text: String = serde_json::from_str(&json[start..end]).map_err(|e| {
                breach(
                    SUPER_STRING,
                    format!("a string in column {column} at {at} is not valid JSON: {e}"),
                )
            })?;
            if text.len() > string_limit {
                return Err(breach(
                    SUPER_STRING,
                    format!(
                        "a string inside the SUPER value for column {column} at {at} is {} bytes; without enable_large_strings_opt_in a string in SUPER holds at most {string_limit} (\"Individual strings in SUPER columns have a limit of 65,535 bytes.\")",
                        text.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The longest string's byte range (quotes included) is enough: every other is shorter.
struct Shape {
    depth: usize,
    longest_string: Option<(usize, usize)>,
}

/// One pass over JSON text: nesting depth, and the longest string literal. Strings are skipped by
/// their quotes (escapes honoured), so brackets inside them do not count.
fn json_shape(json: &str) -> Shape {
    let bytes = json.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    let mut longest: Option<(usize, usize)> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(bytes.len());
                if longest.is_none_or(|(s, e)| end - start > e - s) {
                    longest = Some((start, end));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Shape {
        depth: max,
        longest_string: longest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_one_to_forty_statements() {
        assert!(batch_size(1).is_ok() && batch_size(40).is_ok());
        let e = batch_size(41).unwrap_err();
        assert_eq!(e.rule, BATCH_SIZE);
        assert!(e.to_string().contains("41 were given"), "{e}");
        assert_eq!(batch_size(0).unwrap_err().rule, BATCH_SIZE);
    }

    #[test]
    fn a_statement_holds_at_most_100000_bytes() {
        assert!(sql_size(&"x".repeat(MAX_SQL_BYTES)).is_ok());
        let e = sql_size(&"x".repeat(MAX_SQL_BYTES + 1)).unwrap_err();
        assert_eq!(e.rule, SQL_SIZE);
        assert!(e.to_string().contains("100001 bytes"), "{e}");
        // Bytes, not characters: 50,001 two-byte characters are over.
        assert!(sql_size(&"é".repeat(50_001)).is_err());
        assert!(sql_size("").is_err());
    }

    #[test]
    fn jsonpaths_need_one_expression_per_column() {
        assert!(jsonpaths_arity(19, 19, true).is_ok());
        let e = jsonpaths_arity(19, 20, false).unwrap_err();
        assert_eq!(e.rule, JSONPATHS_ARITY);
        assert!(
            e.to_string()
                .contains("target table (no column list) has 20"),
            "{e}"
        );
    }

    #[test]
    fn a_copy_row_holds_at_most_4_mib() {
        assert!(copy_row_size(MAX_COPY_ROW_BYTES, "s3://b/k line 1").is_ok());
        let e = copy_row_size(MAX_COPY_ROW_BYTES + 1, "s3://b/k line 1").unwrap_err();
        assert_eq!(e.rule, COPY_ROW_SIZE);
        assert!(e.to_string().contains("s3://b/k line 1"), "{e}");
    }

    #[test]
    fn varchar_counts_bytes_and_truncates_only_when_told() {
        // Three characters, six bytes.
        let v = "ééé";
        assert_eq!(fit_varchar(v, 6, false, "c", "x").unwrap(), v);
        let e = fit_varchar(v, 5, false, "reason", "s3://b/k line 2").unwrap_err();
        assert_eq!(e.rule, VARCHAR_BYTES);
        assert!(
            e.to_string().contains("6 bytes (3 characters)") && e.to_string().contains("reason"),
            "{e}"
        );
        // TRUNCATECOLUMNS cuts to the byte limit, on a character boundary.
        assert_eq!(fit_varchar(v, 5, true, "c", "x").unwrap(), "éé");
        assert_eq!(fit_varchar("abcdef", 4, true, "c", "x").unwrap(), "abcd");
        // Only blanks over the limit: cut without an error, as the character types page says.
        assert_eq!(fit_varchar("ab   ", 2, false, "c", "x").unwrap(), "ab");
        assert!(varchar_width(65_535, "c").is_ok());
        assert_eq!(varchar_width(65_536, "c").unwrap_err().rule, VARCHAR_BYTES);
        assert_eq!(
            varchar_constraint_name("event_id"),
            "redshift_varchar_bytes_event_id"
        );
    }

    #[test]
    fn super_values_are_bounded_in_size_depth_and_strings() {
        assert!(super_value(r#"{"a":[1,{"b":"x"}]}"#, SUPER_STRING_BYTES, "raw", "x").is_ok());

        let big = format!("[{}]", vec!["\"0123456789\""; 1_600_000].join(","));
        assert!(big.len() > MAX_SUPER_BYTES);
        assert_eq!(
            super_value(&big, SUPER_STRING_BYTES_OPT_IN, "raw", "x")
                .unwrap_err()
                .rule,
            SUPER_SIZE
        );

        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(super_value(&deep(1_000), SUPER_STRING_BYTES, "raw", "x").is_ok());
        let e = super_value(&deep(1_001), SUPER_STRING_BYTES, "raw", "x").unwrap_err();
        assert_eq!(e.rule, SUPER_DEPTH);
        assert!(e.to_string().contains("1001 deep"), "{e}");
        // Brackets inside strings are text, not nesting.
        let quoted = format!(r#"{{"a":"{}"}}"#, "[".repeat(2_000));
        assert!(super_value(&quoted, SUPER_STRING_BYTES, "raw", "x").is_ok());

        let long = format!(r#"{{"s":"{}"}}"#, "x".repeat(SUPER_STRING_BYTES + 1));
        let e = super_value(&long, SUPER_STRING_BYTES, "raw", "x").unwrap_err();
        assert_eq!(e.rule, SUPER_STRING);
        assert!(e.to_string().contains("65536 bytes"), "{e}");
        assert!(super_value(&long, SUPER_STRING_BYTES_OPT_IN, "raw", "x").is_ok());
        // Escapes count as the bytes they stand for: 30,000 `\u00e9` are 60,000 bytes.
        let escaped = format!(r#"["{}"]"#, "\\u00e9".repeat(30_000));
        assert!(super_value(&escaped, SUPER_STRING_BYTES, "raw", "x").is_ok());
        let escaped = format!(r#"["{}"]"#, "\\u00e9".repeat(33_000));
        assert_eq!(
            super_value(&escaped, SUPER_STRING_BYTES, "raw", "x")
                .unwrap_err()
                .rule,
            SUPER_STRING
        );
    }
}
