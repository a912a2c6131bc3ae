//! Redshift SQL as text. Every statement pushfeed generates for Redshift
//! (`pushfeed::domain::redshift_sql::redshift_statements`) parses with sqlglot's `redshift`
//! dialect, through scripts/check-redshift-sql.py run by the interpreter that PUSHFEED_PYTHON
//! names (scripts/test installs sqlglot into .ci/venv and exports it); a typo is refused; and
//! `pushfeed schema --jsonpaths TABLE` prints the file the Load uploads, whose expressions are the
//! COPY's column list.
//!
//! Without PUSHFEED_PYTHON these tests fail, saying how to set it: never skipped.

use std::path::Path;
use std::process::{Command, Output};

use pushfeed::domain::redshift_sql::{redshift_statements, Generated};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::sql::{jsonpaths_file, Role};

fn python() -> String {
    std::env::var("PUSHFEED_PYTHON").unwrap_or_else(|_| {
        panic!(
            "PUSHFEED_PYTHON is not set: these tests parse Redshift SQL with sqlglot. Run scripts/test, \
             or `python3 -m venv .ci/venv && .ci/venv/bin/pip install 'sqlglot>=30.31,<31'` and export \
             PUSHFEED_PYTHON=$PWD/.ci/venv/bin/python"
        )
    })
}

/// Runs the checker over `statements`.
fn check(statements: &[Generated]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("statements.json");
    let json: Vec<serde_json::Value> = statements
        .iter()
        .map(|g| serde_json::json!({"origin": g.origin, "sql": g.sql}))
        .collect();
    std::fs::write(&file, serde_json::to_vec(&json).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-redshift-sql.py");
    Command::new(python())
        .arg(script)
        .arg(&file)
        .output()
        .expect("the checker runs with PUSHFEED_PYTHON")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_redshift_statement_parses_with_sqlglot() {
    let all = redshift_statements(&RoutingTable::default_routes());
    let out = check(&all);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).starts_with(&format!("{} statements parse", all.len())),
        "{}",
        text(&out)
    );
}

/// A typo in any kind of statement pushfeed sends is refused, with the statement named.
#[test]
fn the_checker_refuses_a_typo() {
    let all = redshift_statements(&RoutingTable::default_routes());
    let find = |pred: &dyn Fn(&Generated) -> bool| {
        all.iter()
            .find(|g| pred(g))
            .expect("a statement of that kind")
            .clone()
    };
    let table = find(&|g| g.sql.starts_with("CREATE TABLE IF NOT EXISTS push_opens"));
    let copy = find(&|g| g.sql.starts_with("COPY pf_stage") && g.sql.contains("GZIP"));
    let lock = find(&|g| g.sql.starts_with("LOCK "));
    let insert = find(&|g| g.origin.ends_with("Insert"));
    let ledger = find(&|g| g.origin.ends_with("Ledger"));
    let typos = [
        (&table, "DISTKEY (channel_id)", "DISTKY (channel_id)"),
        (&table, "COMPOUND SORTKEY", "COMPOUND SORTKY"),
        (&table, "VARCHAR(256)", "VARCHR(256)"),
        (&table, "CREATE TABLE", "CRATE TABLE"),
        (&copy, " MANIFEST", " MANIFST"),
        (&copy, " FROM ", " FRM "),
        (&copy, "TIMEFORMAT 'auto'", "TIMEFORMAT auto"),
        (&copy, "FORMAT AS JSON", "FORMAT AS JSN"),
        (&lock, "LOCK ", "LCOK "),
        (&insert, "INSERT INTO", "INSRT INTO"),
        (&ledger, "SELECT CAST", "SELEC CAST"),
    ];
    for (statement, from, to) in typos {
        assert!(statement.sql.contains(from), "{from} in {}", statement.sql);
        let typo = Generated {
            origin: format!("typo {to}"),
            sql: statement.sql.replacen(from, to, 1),
        };
        let out = check(&[statement.clone(), typo.clone()]);
        assert_eq!(out.status.code(), Some(1), "{to}: {}", text(&out));
        assert!(
            text(&out).starts_with(&format!("statement 2 (typo {to}) does not parse")),
            "{to}: {}",
            text(&out)
        );
    }
}

fn pushfeed(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_pushfeed"))
        .arg("--home")
        .arg(home.path())
        .args(args)
        .env_remove("PUSHFEED_ROUTES")
        .output()
        .expect("pushfeed runs")
}

#[test]
fn schema_jsonpaths_prints_the_uploaded_file_whose_expressions_are_the_copy_columns() {
    let routes = RoutingTable::default_routes();
    let copies = redshift_statements(&routes);
    for route in routes.routes() {
        let out = pushfeed(&[
            "schema",
            "--dialect",
            "redshift",
            "--jsonpaths",
            &route.table,
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            out.stdout,
            jsonpaths_file(route),
            "the bytes the Load uploads"
        );
        let file: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let paths: Vec<&str> = file["jsonpaths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let copy = copies
            .iter()
            .find(|g| {
                g.origin.starts_with(&format!("load {} ", route.table))
                    && g.origin.ends_with(&format!("{:?}", Role::Copy))
            })
            .unwrap();
        let list = copy
            .sql
            .strip_prefix("COPY pf_stage (")
            .and_then(|rest| rest.split_once(')'))
            .map(|(list, _)| list)
            .unwrap_or_else(|| panic!("no column list in `{}`", copy.sql));
        let columns: Vec<String> = list.split(", ").map(|c| format!("$['{c}']")).collect();
        assert_eq!(paths, columns, "{}", route.table);
    }
    // The dialect is Redshift by default.
    let out = pushfeed(&["schema", "--jsonpaths", "push_opens"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn schema_jsonpaths_refuses_an_unknown_table_in_one_sentence_naming_the_known_ones() {
    let out = pushfeed(&["schema", "--jsonpaths", "push_nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("push_nope"), "{err}");
    for route in RoutingTable::default_routes().routes() {
        assert!(err.contains(&route.table), "{err}");
    }
    let out = pushfeed(&[
        "schema",
        "--dialect",
        "postgres",
        "--jsonpaths",
        "push_opens",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--dialect redshift"),
        "{}",
        text(&out)
    );
}
