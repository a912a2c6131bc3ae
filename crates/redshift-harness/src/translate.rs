//! What PostgreSQL lacks, translated. Every other statement, and every part of a statement not
//! named here, goes to PostgreSQL unchanged, so a typo or a construct the harness does not know
//! fails there, loudly.
//!
//! | Redshift | on PostgreSQL |
//! |---|---|
//! | `LOCK [TABLE] t [, ...]` | `LOCK TABLE t [, ...] IN ACCESS EXCLUSIVE MODE` (Redshift's LOCK "obtains a table-level lock in "ACCESS EXCLUSIVE" mode") |
//! | `GETDATE()` | `(statement_timestamp() AT TIME ZONE 'UTC')`: a TIMESTAMP, the start of the statement, UTC sessions |
//! | `SYSDATE` | `(transaction_timestamp() AT TIME ZONE 'UTC')` |
//! | `SUPER` | unchanged: [`PREAMBLE`] creates a domain `super` over jsonb whose CHECK is the SUPER size rule |
//! | `DISTSTYLE ...`, `DISTKEY (c)`, `[COMPOUND \| INTERLEAVED] SORTKEY (c, ...)`, `SORTKEY AUTO`, `ENCODE ...`, `BACKUP ...` in CREATE TABLE | removed; the key columns are then checked to exist and not to be SUPER ([`Check::KeyColumns`]) |
//! | `BACKUP ...`, `AUTO REFRESH YES\|NO` in CREATE MATERIALIZED VIEW | removed; PostgreSQL fills the view once, so readers `REFRESH MATERIALIZED VIEW` first, as on Redshift without auto refresh |
//! | `PRIMARY KEY`, `UNIQUE` in CREATE TABLE | removed: Redshift does not enforce them, so neither does the harness |
//! | `VARCHAR(n)`, `CHARACTER VARYING(n)`, `NVARCHAR(n)`, `VARCHAR(MAX)`, bare `VARCHAR`, `TEXT` columns | `VARCHAR(n)` (MAX is 65535; bare and TEXT are 256, as Redshift converts them) plus `CHECK (octet_length(c) <= n)`: Redshift counts bytes |
//! | `COPY t [(cols)] FROM 's3://...' ...` | a [`CopyPlan`]: the harness reads the manifest and objects (copy.rs) and sends `COPY t (cols) FROM STDIN` |
//!
//! One statement per SQL string: the Data API runs a list of statements with
//! BatchExecuteStatement, and a `;` followed by more SQL is refused.

use crate::rules::{self, Breach};

/// Run once per database when the harness starts: the `super` type.
pub const PREAMBLE: &str = "DO $$ BEGIN \
    CREATE DOMAIN super AS jsonb CONSTRAINT redshift_super_size CHECK (octet_length(VALUE::text) <= 16777216); \
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
    END $$";

/// What a statement's ResultRows means, as the Data API documents it for DescribeStatement:
/// "Either the number of rows returned from the SQL statement or the number of rows affected. If
/// result size is greater than zero, the result rows can be the number of rows affected by SQL
/// statements such as INSERT, UPDATE, DELETE, COPY, and others. A -1 indicates the value is null."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SELECT (and WITH ... SELECT, VALUES, SHOW): rows returned, with a result set.
    Query,
    /// INSERT, UPDATE, DELETE, COPY: rows affected.
    Rows,
    /// Anything else, CREATE TABLE AS included: the Data API documents no count, so -1.
    NoCount,
}

/// Checks run after a translated statement, for what the translation removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The columns named by DISTKEY or SORTKEY exist in the table and are not SUPER.
    KeyColumns { table: String, columns: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub sql: String,
    pub kind: Kind,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonFormat {
    /// `FORMAT AS JSON 'auto'`: keys matched to column names.
    Auto,
    /// `FORMAT AS JSON 's3://...'`: the jsonpaths file's URL.
    Paths(String),
}

/// A Redshift COPY from S3, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyPlan {
    /// The table as written in the statement (a valid PostgreSQL identifier path).
    pub table: String,
    /// The column list, identifiers normalized (unquoted ones lowercased).
    pub columns: Option<Vec<String>>,
    pub from: String,
    pub json: JsonFormat,
    pub gzip: bool,
    /// `TIMEFORMAT`'s argument, if given.
    pub timeformat: Option<String>,
    pub truncate_columns: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Sql(Translated),
    Copy(CopyPlan),
}

/// Why a statement is not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Rule(Breach),
}

fn refused(message: impl Into<String>) -> Refused {
    Refused::Syntax(message.into())
}

pub fn translate(sql: &str) -> Result<Plan, Refused> {
    let tokens = tokenize(sql)?;
    let mut sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].kind, T::Space | T::Comment))
        .collect();
    let semicolon =
        |i: usize| tokens[i].kind == T::Punct && &sql[tokens[i].start..tokens[i].end] == ";";
    if sig.last().is_some_and(|&i| semicolon(i)) {
        sig.pop();
    }
    if sig.is_empty() {
        return Err(refused("the statement is empty"));
    }
    if sig.iter().any(|&i| semicolon(i)) {
        return Err(refused(
            "a SQL string holds more than one statement; the Data API runs a list of statements with BatchExecuteStatement",
        ));
    }
    let mut t = Text::new(sql, tokens, sig);
    let first = t.upper(0);
    if first == "COPY" {
        return copy(&t).map(Plan::Copy);
    }
    t.functions();
    let mut checks = Vec::new();
    match first.as_str() {
        "LOCK" => t.lock()?,
        "CREATE" => {
            t.create_materialized_view()?;
            if let Some(check) = t.create_table()? {
                checks.push(check);
            }
        }
        _ => {}
    }
    Ok(Plan::Sql(Translated {
        sql: t.render(),
        kind: t.kind(),
        checks,
    }))
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Word,
    Quoted,
    Str,
    Num,
    Punct,
    Space,
    Comment,
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, Refused> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let kind = if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            T::Space
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            T::Comment
        } else if b[i..].starts_with(b"/*") {
            match sql[i + 2..].find("*/") {
                Some(at) => i += 2 + at + 2,
                None => return Err(refused("a /* comment is not closed")),
            }
            T::Comment
        } else if c == b'\'' || c == b'"' {
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(refused(format!(
                            "a {} is not closed",
                            if c == b'\'' {
                                "string literal"
                            } else {
                                "quoted identifier"
                            }
                        )))
                    }
                    Some(&q) if q == c && b.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            if c == b'\'' {
                T::Str
            } else {
                T::Quoted
            }
        } else if c == b'$' && dollar_tag(&sql[i..]).is_some() {
            let tag = dollar_tag(&sql[i..]).expect("checked");
            match sql[i + tag.len()..].find(tag) {
                Some(at) => i += tag.len() + at + tag.len(),
                None => return Err(refused("a dollar-quoted string is not closed")),
            }
            T::Str
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            T::Num
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            T::Word
        } else {
            i += 1;
            T::Punct
        };
        out.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    Ok(out)
}

/// `$tag$` at the start of `s`, if it opens a dollar-quoted string.
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    (tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !tag.starts_with(|c: char| c.is_ascii_digit()))
    .then(|| &s[..end + 2])
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: T,
    start: usize,
    end: usize,
}

// ---------------------------------------------------------------------------------------------
// Rewriting

/// The statement's tokens, with edits: a token's text replaced (an empty string deletes it).
struct Text<'a> {
    sql: &'a str,
    tokens: Vec<Tok>,
    /// Indices of the tokens that are not white space or comments, the final `;` left out.
    sig: Vec<usize>,
    edits: Vec<Option<String>>,
}

impl<'a> Text<'a> {
    fn new(sql: &'a str, tokens: Vec<Tok>, sig: Vec<usize>) -> Text<'a> {
        let edits = vec![None; tokens.len()];
        Text {
            sql,
            tokens,
            sig,
            edits,
        }
    }

    fn tok(&self, s: usize) -> Option<&Tok> {
        self.sig.get(s).map(|&i| &self.tokens[i])
    }

    fn src(&self, s: usize) -> &'a str {
        self.tok(s)
            .map(|t| &self.sql[t.start..t.end])
            .unwrap_or_default()
    }

    fn upper(&self, s: usize) -> String {
        match self.tok(s) {
            Some(t) if t.kind == T::Word => self.src(s).to_ascii_uppercase(),
            _ => String::new(),
        }
    }

    fn is(&self, s: usize, word: &str) -> bool {
        self.tok(s).is_some_and(|t| t.kind == T::Word) && self.src(s).eq_ignore_ascii_case(word)
    }

    fn punct(&self, s: usize, c: char) -> bool {
        self.tok(s).is_some_and(|t| t.kind == T::Punct) && self.src(s) == c.to_string()
    }

    /// The significant index of the `)` closing the `(` at `open`.
    fn close(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for s in open..self.sig.len() {
            if self.punct(s, '(') {
                depth += 1;
            } else if self.punct(s, ')') {
                depth -= 1;
                if depth == 0 {
                    return Some(s);
                }
            }
        }
        None
    }

    /// Replaces significant tokens `from..=to` (and what lies between them) with `text`.
    fn replace(&mut self, from: usize, to: usize, text: impl Into<String>) {
        let (a, b) = (self.sig[from], self.sig[to]);
        for i in a..=b {
            self.edits[i] = Some(String::new());
        }
        self.edits[a] = Some(text.into());
    }

    fn delete(&mut self, from: usize, to: usize) {
        self.replace(from, to, "");
    }

    fn append(&mut self, s: usize, text: &str) {
        let i = self.sig[s];
        let current = self.edits[i]
            .clone()
            .unwrap_or_else(|| self.sql[self.tokens[i].start..self.tokens[i].end].to_string());
        self.edits[i] = Some(current + text);
    }

    fn render(&self) -> String {
        let last = self.sig.last().copied().unwrap_or(0);
        let mut out = String::with_capacity(self.sql.len() + 64);
        for (i, t) in self.tokens.iter().enumerate().take(last + 1) {
            match &self.edits[i] {
                Some(text) => out.push_str(text),
                None => out.push_str(&self.sql[t.start..t.end]),
            }
        }
        out
    }

    /// Identifier text normalized as PostgreSQL and Redshift do: unquoted folds to lower case.
    fn ident(&self, s: usize) -> Option<String> {
        let t = self.tok(s)?;
        let text = self.src(s);
        match t.kind {
            T::Word => Some(text.to_ascii_lowercase()),
            T::Quoted => Some(text[1..text.len() - 1].replace("\"\"", "\"")),
            _ => None,
        }
    }

    /// A possibly qualified name starting at `s`: its last significant index and its source text.
    fn name(&self, s: usize) -> Option<(usize, &'a str)> {
        self.ident(s)?;
        let mut end = s;
        while self.punct(end + 1, '.') && self.ident(end + 2).is_some() {
            end += 2;
        }
        let (a, b) = (self.tok(s)?.start, self.tok(end)?.end);
        Some((end, &self.sql[a..b]))
    }

    /// GETDATE() and SYSDATE.
    fn functions(&mut self) {
        let mut s = 0;
        while s < self.sig.len() {
            if self.is(s, "GETDATE") && self.punct(s + 1, '(') && self.punct(s + 2, ')') {
                self.replace(s, s + 2, "(statement_timestamp() AT TIME ZONE 'UTC')");
                s += 3;
                continue;
            }
            if self.is(s, "SYSDATE") && !self.punct(s + 1, '(') {
                self.replace(s, s, "(transaction_timestamp() AT TIME ZONE 'UTC')");
            }
            s += 1;
        }
    }

    /// Redshift: `LOCK [ TABLE ] table_name [, ...]`, always ACCESS EXCLUSIVE.
    fn lock(&mut self) -> Result<(), Refused> {
        let mut s = 1;
        if self.is(s, "TABLE") {
            s += 1;
        }
        let first = s;
        loop {
            let (end, _) = self
                .name(s)
                .ok_or_else(|| refused("LOCK takes a list of table names"))?;
            s = end + 1;
            if s == self.sig.len() {
                break;
            }
            if !self.punct(s, ',') {
                return Err(refused(format!(
                    "LOCK takes a list of table names, not `{}`",
                    self.src(s)
                )));
            }
            s += 1;
        }
        let (a, b) = (
            self.tok(first).expect("a name").start,
            self.tok(s - 1).expect("a name").end,
        );
        let names = self.sql[a..b].to_string();
        let last = self.sig.len() - 1;
        self.replace(
            0,
            last,
            format!("LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"),
        );
        Ok(())
    }

    /// CREATE MATERIALIZED VIEW: Redshift's `BACKUP`, `AUTO REFRESH` and table attributes
    /// before `AS` are removed; PostgreSQL builds the view from its query once, so a test
    /// refreshes it (`REFRESH MATERIALIZED VIEW v`, the same statement in both) before reading.
    fn create_materialized_view(&mut self) -> Result<(), Refused> {
        if !(self.is(1, "MATERIALIZED") && self.is(2, "VIEW")) {
            return Ok(());
        }
        let Some((end, _)) = self.name(3) else {
            return Err(refused("CREATE MATERIALIZED VIEW names no view"));
        };
        let Some(as_at) = (end + 1..self.sig.len()).find(|&s| self.is(s, "AS")) else {
            return Err(refused("CREATE MATERIALIZED VIEW has no AS query"));
        };
        let mut s = end + 1;
        while s < as_at {
            let yes_no = |at: usize| self.is(at, "YES") || self.is(at, "NO");
            if self.is(s, "BACKUP") && yes_no(s + 1) {
                s += 2;
            } else if self.is(s, "AUTO") && self.is(s + 1, "REFRESH") && yes_no(s + 2) {
                s += 3;
            } else {
                return Err(refused(format!(
                    "CREATE MATERIALIZED VIEW has `{}` before AS, which the harness does not know",
                    self.src(s)
                )));
            }
        }
        if as_at > end + 1 {
            self.delete(end + 1, as_at - 1);
        }
        Ok(())
    }

    /// CREATE TABLE: Redshift's table attributes, unenforced keys and byte-counted VARCHARs.
    fn create_table(&mut self) -> Result<Option<Check>, Refused> {
        let mut s = 1;
        if self.is(s, "LOCAL") {
            s += 1;
        }
        if self.is(s, "TEMP") || self.is(s, "TEMPORARY") {
            s += 1;
        }
        if !self.is(s, "TABLE") {
            return Ok(None);
        }
        s += 1;
        if self.is(s, "IF") && self.is(s + 1, "NOT") && self.is(s + 2, "EXISTS") {
            s += 3;
        }
        let Some((end, table)) = self.name(s) else {
            return Ok(None);
        };
        let mut keys = Vec::new();
        s = end + 1;
        if self.punct(s, '(') {
            let close = self
                .close(s)
                .ok_or_else(|| refused("CREATE TABLE's column list is not closed"))?;
            self.elements(s + 1, close, &mut keys)?;
            s = close + 1;
        }
        self.table_attributes(s, &mut keys)?;
        Ok((!keys.is_empty()).then(|| Check::KeyColumns {
            table: table.to_string(),
            columns: keys,
        }))
    }

    /// The column definitions and table constraints between `from` and the closing `)`.
    fn elements(
        &mut self,
        from: usize,
        close: usize,
        keys: &mut Vec<String>,
    ) -> Result<(), Refused> {
        let mut starts = vec![from];
        let mut depth = 0usize;
        for s in from..close {
            if self.punct(s, '(') {
                depth += 1;
            } else if self.punct(s, ')') {
                depth -= 1;
            } else if depth == 0 && self.punct(s, ',') {
                starts.push(s + 1);
            }
        }
        let count = starts.len();
        for (n, &start) in starts.iter().enumerate() {
            let end = if n + 1 < count {
                starts[n + 1] - 1
            } else {
                close
            };
            if start >= end {
                continue;
            }
            let constraint_key = if self.is(start, "CONSTRAINT") {
                self.is(start + 2, "PRIMARY") || self.is(start + 2, "UNIQUE")
            } else {
                self.is(start, "PRIMARY") || self.is(start, "UNIQUE")
            };
            if constraint_key {
                // The element and the comma before it (or after it, for the first element).
                if n > 0 {
                    self.delete(start - 1, end - 1);
                } else if count > 1 {
                    self.delete(start, end);
                } else {
                    self.delete(start, end - 1);
                }
                continue;
            }
            if ["LIKE", "CONSTRAINT", "CHECK", "FOREIGN"].contains(&self.upper(start).as_str()) {
                continue;
            }
            self.column(start, end, keys)?;
        }
        Ok(())
    }

    /// One column definition, significant tokens `start..end`.
    fn column(&mut self, start: usize, end: usize, keys: &mut Vec<String>) -> Result<(), Refused> {
        let Some(name) = self.ident(start) else {
            return Ok(());
        };
        let mut s = start + 1;
        let mut varchar = None;
        let ty = self.upper(s);
        let varying = ty == "VARCHAR"
            || ty == "NVARCHAR"
            || (ty == "CHARACTER" || ty == "CHAR") && self.is(s + 1, "VARYING");
        if varying || ty == "TEXT" {
            let type_end = if ty == "CHARACTER" || ty == "CHAR" {
                s + 1
            } else {
                s
            };
            let (n, last) = if ty != "TEXT" && self.punct(type_end + 1, '(') {
                let close = self
                    .close(type_end + 1)
                    .filter(|&c| c == type_end + 3)
                    .ok_or_else(|| refused(format!("column {name}: VARCHAR takes one length")))?;
                let n = if self.is(type_end + 2, "MAX") {
                    rules::MAX_VARCHAR_BYTES
                } else {
                    self.src(type_end + 2).parse().map_err(|_| {
                        refused(format!(
                            "column {name}: `{}` is not a VARCHAR length",
                            self.src(type_end + 2)
                        ))
                    })?
                };
                (n, close)
            } else {
                (256, type_end)
            };
            rules::varchar_width(n, &name).map_err(Refused::Rule)?;
            self.replace(s, last, format!("VARCHAR({n})"));
            varchar = Some(n);
            s = last + 1;
        }
        while s < end {
            match self.upper(s).as_str() {
                "ENCODE" => {
                    self.delete(s, s + 1);
                    s += 2;
                }
                "DISTKEY" | "SORTKEY" => {
                    keys.push(name.clone());
                    self.delete(s, s);
                    s += 1;
                }
                "PRIMARY" if self.is(s + 1, "KEY") => {
                    self.delete(s, s + 1);
                    s += 2;
                }
                "UNIQUE" => {
                    self.delete(s, s);
                    s += 1;
                }
                _ => s += 1,
            }
        }
        if let Some(n) = varchar {
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            let check = format!(
                " CONSTRAINT {} CHECK (octet_length({quoted}) <= {n})",
                rules::varchar_constraint_name(&name)
            );
            self.append(end - 1, &check);
        }
        Ok(())
    }

    /// Table attributes after the column list (or after the name, before AS).
    fn table_attributes(&mut self, mut s: usize, keys: &mut Vec<String>) -> Result<(), Refused> {
        while s < self.sig.len() {
            let word = self.upper(s);
            match word.as_str() {
                "AS" => break,
                "DISTSTYLE" | "ENCODE" | "BACKUP" => {
                    self.delete(s, s + 1);
                    s += 2;
                }
                "DISTKEY" | "SORTKEY" | "COMPOUND" | "INTERLEAVED" => {
                    let open = if word == "COMPOUND" || word == "INTERLEAVED" {
                        if !self.is(s + 1, "SORTKEY") {
                            return Err(refused(format!("{word} must be followed by SORTKEY")));
                        }
                        s + 2
                    } else {
                        s + 1
                    };
                    if word == "SORTKEY" && self.is(open, "AUTO") {
                        self.delete(s, open);
                        s = open + 1;
                        continue;
                    }
                    if !self.punct(open, '(') {
                        return Err(refused(format!(
                            "{word} takes a list of columns in parentheses"
                        )));
                    }
                    let close = self
                        .close(open)
                        .ok_or_else(|| refused(format!("{word}'s column list is not closed")))?;
                    for k in open + 1..close {
                        if let Some(id) = self.ident(k) {
                            keys.push(id);
                        }
                    }
                    self.delete(s, close);
                    s = close + 1;
                }
                _ => s += 1,
            }
        }
        Ok(())
    }

    fn kind(&self) -> Kind {
        let depth0 = |word: &str| {
            let mut depth = 0i32;
            (0..self.sig.len()).any(|s| {
                if self.punct(s, '(') {
                    depth += 1;
                } else if self.punct(s, ')') {
                    depth -= 1;
                }
                depth == 0 && self.is(s, word)
            })
        };
        match self.upper(0).as_str() {
            "SELECT" if depth0("INTO") => Kind::NoCount,
            "SELECT" | "VALUES" | "SHOW" => Kind::Query,
            "WITH" if ["INSERT", "UPDATE", "DELETE"].iter().any(|w| depth0(w)) => Kind::Rows,
            "WITH" => Kind::Query,
            "INSERT" | "UPDATE" | "DELETE" => Kind::Rows,
            _ => Kind::NoCount,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// COPY

/// The COPY options the harness models; any other is refused by name.
const COPY_OPTIONS: &str =
    "IAM_ROLE, CREDENTIALS, FORMAT AS JSON, JSON, MANIFEST, GZIP, TIMEFORMAT, TRUNCATECOLUMNS, REGION";

fn string_literal(t: &Text, s: usize) -> Option<String> {
    let tok = t.tok(s)?;
    let text = t.src(s);
    (tok.kind == T::Str && text.starts_with('\''))
        .then(|| text[1..text.len() - 1].replace("''", "'"))
}

fn copy(t: &Text) -> Result<CopyPlan, Refused> {
    let (end, table) = t
        .name(1)
        .ok_or_else(|| refused("COPY names its table first"))?;
    let mut s = end + 1;
    let mut columns = None;
    if t.punct(s, '(') {
        let close = t
            .close(s)
            .ok_or_else(|| refused("COPY's column list is not closed"))?;
        let mut list = Vec::new();
        let mut k = s + 1;
        while k < close {
            list.push(
                t.ident(k)
                    .ok_or_else(|| refused(format!("COPY's column list holds `{}`", t.src(k))))?,
            );
            k += 1;
            if k < close && !t.punct(k, ',') {
                return Err(refused(format!("COPY's column list holds `{}`", t.src(k))));
            }
            k += 1;
        }
        columns = Some(list);
        s = close + 1;
    }
    if !t.is(s, "FROM") {
        return Err(refused(format!(
            "COPY {table}: expected FROM, found `{}`",
            t.src(s)
        )));
    }
    let from = match string_literal(t, s + 1) {
        Some(url) if url.starts_with("s3://") => url,
        Some(other) => {
            return Err(refused(format!(
                "COPY {table} FROM '{other}': the harness models COPY from Amazon S3 (s3://) only"
            )))
        }
        None => {
            return Err(refused(format!(
                "COPY {table} FROM {}: Redshift's COPY reads Amazon S3, Amazon EMR, DynamoDB or a remote host named by a string, never STDIN",
                t.src(s + 1)
            )))
        }
    };
    s += 2;
    let (mut role, mut json, mut manifest, mut gzip, mut timeformat, mut truncate) =
        (false, None, false, false, None, false);
    let mut seen: Vec<String> = Vec::new();
    while s < t.sig.len() {
        let word = t.upper(s);
        if word.is_empty() {
            return Err(refused(format!(
                "COPY {table}: unexpected `{}` among the options",
                t.src(s)
            )));
        }
        if seen.contains(&word) {
            return Err(refused(format!("COPY {table}: {word} is given twice")));
        }
        seen.push(word.clone());
        let arg = |s: usize| -> (usize, Option<String>) {
            let s = if t.is(s, "AS") { s + 1 } else { s };
            (s, string_literal(t, s))
        };
        match word.as_str() {
            "IAM_ROLE" => {
                if !t.is(s + 1, "DEFAULT") {
                    let arn = string_literal(t, s + 1).ok_or_else(|| refused("IAM_ROLE takes DEFAULT or a role ARN in quotes"))?;
                    // Several roles may be chained, comma-separated.
                    if !arn.split(',').all(|a| a.starts_with("arn:") && a.contains(":iam::") && a.contains(":role/")) {
                        return Err(refused(format!("IAM_ROLE '{arn}' is not an IAM role ARN")));
                    }
                }
                role = true;
                s += 2;
            }
            "CREDENTIALS" | "REGION" | "TIMEFORMAT" => {
                let (at, value) = arg(s + 1);
                let value = value.ok_or_else(|| refused(format!("{word} takes a string")))?;
                match word.as_str() {
                    "CREDENTIALS" => role = true,
                    "TIMEFORMAT" => timeformat = Some(value),
                    _ => {}
                }
                s = at + 1;
            }
            "FORMAT" | "JSON" => {
                let mut k = s + 1;
                if word == "FORMAT" {
                    if t.is(k, "AS") {
                        k += 1;
                    }
                    if !t.is(k, "JSON") {
                        return Err(refused(format!(
                            "COPY {table}: FORMAT AS {}: the harness models FORMAT AS JSON only",
                            t.src(k)
                        )));
                    }
                    k += 1;
                } else if t.is(k, "AS") {
                    k += 1;
                }
                json = Some(match string_literal(t, k) {
                    Some(v) if v == "auto" => {
                        k += 1;
                        JsonFormat::Auto
                    }
                    Some(v) if v.starts_with("s3://") => {
                        k += 1;
                        JsonFormat::Paths(v)
                    }
                    Some(v) => {
                        return Err(refused(format!(
                            "COPY {table}: JSON '{v}': the harness models 'auto' and a jsonpaths file in S3"
                        )))
                    }
                    None => JsonFormat::Auto,
                });
                s = k;
            }
            "MANIFEST" | "GZIP" | "TRUNCATECOLUMNS" => {
                match word.as_str() {
                    "MANIFEST" => manifest = true,
                    "GZIP" => gzip = true,
                    _ => truncate = true,
                }
                s += 1;
            }
            other => {
                return Err(refused(format!(
                    "COPY {table}: option {other} is not modelled by the harness (it models {COPY_OPTIONS})"
                )))
            }
        }
    }
    if !role {
        return Err(refused(format!(
            "COPY {table}: no IAM_ROLE or CREDENTIALS: Redshift's COPY from S3 needs an authorization"
        )));
    }
    let json = json.ok_or_else(|| {
        refused(format!(
            "COPY {table}: the harness models COPY ... FORMAT AS JSON only"
        ))
    })?;
    if !manifest {
        return Err(refused(format!(
            "COPY {table}: the harness models COPY with MANIFEST only (it cannot list a prefix)"
        )));
    }
    Ok(CopyPlan {
        table: table.to_string(),
        columns,
        from,
        json,
        gzip,
        timeformat,
        truncate_columns: truncate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> Translated {
        match translate(text).unwrap() {
            Plan::Sql(t) => t,
            other => panic!("not SQL: {other:?}"),
        }
    }

    #[test]
    fn materialized_views_lose_their_refresh_and_backup_clauses() {
        let t = sql("CREATE MATERIALIZED VIEW v BACKUP NO AUTO REFRESH YES AS SELECT 1 AS n");
        assert_eq!(t.sql, "CREATE MATERIALIZED VIEW v  AS SELECT 1 AS n");
        let t = sql("CREATE MATERIALIZED VIEW v AS SELECT 1");
        assert_eq!(t.sql, "CREATE MATERIALIZED VIEW v AS SELECT 1");
        assert!(translate("CREATE MATERIALIZED VIEW v AUTO REFRESH MAYBE AS SELECT 1").is_err());
    }

    #[test]
    fn lock_is_access_exclusive() {
        assert_eq!(
            sql("LOCK push_opens").sql,
            "LOCK TABLE push_opens IN ACCESS EXCLUSIVE MODE"
        );
        assert_eq!(
            sql("lock table a, \"B\";").sql,
            "LOCK TABLE a, \"B\" IN ACCESS EXCLUSIVE MODE"
        );
        assert_eq!(sql("LOCK push_opens").kind, Kind::NoCount);
        assert!(translate("LOCK push_opens IN SHARE MODE").is_err());
    }

    #[test]
    fn getdate_and_sysdate_become_utc_timestamps() {
        assert_eq!(
            sql("SELECT GETDATE(), sysdate, 'GETDATE()'").sql,
            "SELECT (statement_timestamp() AT TIME ZONE 'UTC'), (transaction_timestamp() AT TIME ZONE 'UTC'), 'GETDATE()'"
        );
    }

    #[test]
    fn create_table_drops_redshift_attributes_and_unenforced_keys() {
        let t = sql("CREATE TABLE IF NOT EXISTS push_sends (\n  event_id VARCHAR(256) NOT NULL,\n  raw SUPER,\n  n INTEGER ENCODE az64,\n  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),\n  PRIMARY KEY (event_id)\n)\nDISTSTYLE KEY DISTKEY (event_id)\nCOMPOUND SORTKEY (loaded_at, event_id)");
        assert_eq!(
            t.sql,
            "CREATE TABLE IF NOT EXISTS push_sends (\n  event_id VARCHAR(256) NOT NULL CONSTRAINT redshift_varchar_bytes_event_id CHECK (octet_length(\"event_id\") <= 256),\n  raw SUPER,\n  n INTEGER ,\n  loaded_at TIMESTAMPTZ DEFAULT (statement_timestamp() AT TIME ZONE 'UTC')\n)\n \n"
        );
        assert_eq!(
            t.checks,
            vec![Check::KeyColumns {
                table: "push_sends".into(),
                columns: vec!["event_id".into(), "loaded_at".into(), "event_id".into()]
            }]
        );
        assert_eq!(t.kind, Kind::NoCount);
    }

    #[test]
    fn varchar_widths_are_bytes_and_max_and_text_are_sized() {
        let t = sql("CREATE TEMP TABLE t (a varchar(max), b TEXT, c character varying, \"D\" NVARCHAR(10) PRIMARY KEY)");
        assert_eq!(
            t.sql,
            "CREATE TEMP TABLE t (a VARCHAR(65535) CONSTRAINT redshift_varchar_bytes_a CHECK (octet_length(\"a\") <= 65535), b VARCHAR(256) CONSTRAINT redshift_varchar_bytes_b CHECK (octet_length(\"b\") <= 256), c VARCHAR(256) CONSTRAINT redshift_varchar_bytes_c CHECK (octet_length(\"c\") <= 256), \"D\" VARCHAR(10)  CONSTRAINT redshift_varchar_bytes_D CHECK (octet_length(\"D\") <= 10))"
        );
        match translate("CREATE TABLE t (a VARCHAR(70000))") {
            Err(Refused::Rule(b)) => assert_eq!(b.rule, rules::VARCHAR_BYTES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn like_and_create_table_as_pass_through() {
        assert_eq!(
            sql("CREATE TEMP TABLE pf_stage (LIKE push_opens)").sql,
            "CREATE TEMP TABLE pf_stage (LIKE push_opens)"
        );
        let t = sql("CREATE TEMP TABLE pf_ids AS SELECT DISTINCT event_id FROM pf_stage");
        assert_eq!(
            t.sql,
            "CREATE TEMP TABLE pf_ids AS SELECT DISTINCT event_id FROM pf_stage"
        );
        assert_eq!(
            t.kind,
            Kind::NoCount,
            "CREATE TABLE AS has no documented count"
        );
    }

    #[test]
    fn counts_follow_the_documented_statement_kinds() {
        assert_eq!(sql("SELECT 1").kind, Kind::Query);
        assert_eq!(
            sql("WITH a AS (SELECT 1) SELECT * FROM a").kind,
            Kind::Query
        );
        assert_eq!(
            sql("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a").kind,
            Kind::Rows
        );
        assert_eq!(sql("SELECT 1 INTO t2").kind, Kind::NoCount);
        assert_eq!(sql("SELECT (SELECT 1 INTO x)").kind, Kind::Query);
        for s in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t USING u WHERE t.a = u.a",
        ] {
            assert_eq!(sql(s).kind, Kind::Rows, "{s}");
        }
        assert_eq!(sql("GRANT SELECT ON t TO GROUP g").kind, Kind::NoCount);
    }

    #[test]
    fn anything_unknown_passes_through_unchanged() {
        for s in [
            "SELEC 1",
            "CREATE TABLE t (a INT) DISTKY (a)",
            "INSERT INTO t (a) SELECT '; -- not a comment' FROM u",
            "DELETE FROM pf_stage WHERE batch_id <> 'it''s'",
        ] {
            assert_eq!(sql(s).sql, s);
        }
    }

    #[test]
    fn one_statement_per_string() {
        assert!(translate("SELECT 1;").is_ok());
        let e = translate("SELECT 1; SELECT 2").unwrap_err();
        assert!(e.to_string().contains("BatchExecuteStatement"), "{e}");
        assert!(translate("   ").is_err());
        assert!(translate("SELECT 'open").is_err());
    }

    #[test]
    fn copy_from_s3_is_parsed_with_every_option_pushfeed_uses() {
        let p = match translate("COPY pf_stage (event_id, \"Raw\") FROM 's3://b/m.json' IAM_ROLE 'arn:aws:iam::123456789012:role/r' FORMAT AS JSON 's3://b/j.json' MANIFEST GZIP TIMEFORMAT 'auto' TRUNCATECOLUMNS").unwrap() {
            Plan::Copy(p) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            p,
            CopyPlan {
                table: "pf_stage".into(),
                columns: Some(vec!["event_id".into(), "Raw".into()]),
                from: "s3://b/m.json".into(),
                json: JsonFormat::Paths("s3://b/j.json".into()),
                gzip: true,
                timeformat: Some("auto".into()),
                truncate_columns: true,
            }
        );
        let p = match translate("copy t from 's3://b/m' iam_role default json 'auto' manifest")
            .unwrap()
        {
            Plan::Copy(p) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (p.columns, p.json, p.gzip, p.truncate_columns),
            (None, JsonFormat::Auto, false, false)
        );
    }

    #[test]
    fn copy_refuses_what_it_does_not_model_by_name() {
        let base = "COPY t FROM 's3://b/m' IAM_ROLE 'arn:aws:iam::123456789012:role/r' FORMAT AS JSON 'auto' MANIFEST";
        for (extra, says) in [
            (" MANIFST", "option MANIFST is not modelled"),
            (" MAXERROR 10", "option MAXERROR"),
            (" GZIP GZIP", "GZIP is given twice"),
        ] {
            let e = translate(&format!("{base}{extra}")).unwrap_err();
            assert!(e.to_string().contains(says), "{extra}: {e}");
        }
        for (text, says) in [
            ("COPY t FROM STDIN", "never STDIN"),
            (
                "COPY t FROM 's3://b/m' FORMAT AS JSON 'auto' MANIFEST",
                "no IAM_ROLE",
            ),
            (
                "COPY t FROM 's3://b/m' IAM_ROLE 'r' FORMAT AS JSON 'auto' MANIFEST",
                "not an IAM role ARN",
            ),
            (
                "COPY t FROM 's3://b/m' IAM_ROLE default FORMAT AS JSON 'auto'",
                "MANIFEST only",
            ),
            (
                "COPY t FROM 's3://b/m' IAM_ROLE default MANIFEST",
                "JSON only",
            ),
            ("COPY t FRM 's3://b/m'", "expected FROM"),
        ] {
            let e = translate(text).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
    }
}
