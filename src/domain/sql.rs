//! SQL for the warehouse: table DDL, the ledger, and the one-transaction load of a batch.
//!
//! Redshift and PostgreSQL share every statement except where the dialects truly differ: column
//! types (SUPER vs jsonb), sort and dist keys, how the stage is filled (COPY from S3 vs COPY FROM
//! STDIN) and temp-table lifetime. Identifiers come only from the validated routing table.

use super::keys::BatchId;
use super::routes::Route;
use super::schema::ColumnType;
use super::window::Window;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Redshift,
    Postgres,
}

pub const LEDGER_TABLE: &str = "pushfeed_loads";

/// Redshift, "Character types": "CHAR and VARCHAR data types are defined in terms of bytes, not
/// characters. ... a VARCHAR(12) column can contain 12 single-byte characters, 6 two-byte
/// characters, 4 three-byte characters, or 3 four-byte characters." So the lengths are the
/// byte limits validation applies
/// ([`ColumnType::max_bytes`]), and a multi-byte value that passed validation always fits.
fn column_type(ty: ColumnType, dialect: Dialect) -> String {
    match (ty, dialect) {
        (ColumnType::Id | ColumnType::Text, Dialect::Redshift) => {
            format!(
                "VARCHAR({})",
                ty.max_bytes().expect("text types have a limit")
            )
        }
        (ColumnType::Id | ColumnType::Text, Dialect::Postgres) => "TEXT".into(),
        (ColumnType::Int, _) => "INTEGER".into(),
        (ColumnType::Timestamp, _) => "TIMESTAMPTZ".into(),
        (ColumnType::LocalTimestamp, _) => "TIMESTAMP".into(),
        (ColumnType::Json, Dialect::Redshift) => "SUPER".into(),
        (ColumnType::Json, Dialect::Postgres) => "JSONB".into(),
    }
}

fn now_fn(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Redshift => "GETDATE()",
        Dialect::Postgres => "now()",
    }
}

/// `CREATE TABLE IF NOT EXISTS` for a routed type, plus its indexes on PostgreSQL.
///
/// Keys follow the analysts' queries: time ranges first (sort key `occurred_at`), then per device
/// or customer (dist key `channel_id`, so one device's history sits on one slice for joins).
pub fn create_table(route: &Route, dialect: Dialect) -> Vec<String> {
    let table = &route.table;
    let columns: Vec<String> = route
        .profile()
        .columns()
        .iter()
        .map(|c| {
            let mut def = format!("  {} {}", c.name, column_type(c.ty, dialect));
            if c.name == "event_id" {
                def.push_str(" NOT NULL");
            }
            if c.name == "loaded_at" {
                def.push_str(&format!(" DEFAULT {}", now_fn(dialect)));
            }
            def
        })
        .collect();
    let body = format!("{},\n  PRIMARY KEY (event_id)", columns.join(",\n"));
    match dialect {
        Dialect::Redshift => vec![format!(
            "CREATE TABLE IF NOT EXISTS {table} (\n{body}\n)\nDISTSTYLE KEY DISTKEY (channel_id)\nCOMPOUND SORTKEY (occurred_at, channel_id)"
        )],
        Dialect::Postgres => vec![
            format!("CREATE TABLE IF NOT EXISTS {table} (\n{body}\n)"),
            // A local home whose tables predate a column gets it, so the views and the load
            // never meet an old table shape.
            format!(
                "ALTER TABLE {table}\n{}",
                columns
                    .iter()
                    .filter(|c| !c.trim_start().starts_with("event_id "))
                    .map(|c| format!("  ADD COLUMN IF NOT EXISTS {}", c.trim_start()))
                    .collect::<Vec<_>>()
                    .join(",\n")
            ),
            format!("CREATE INDEX IF NOT EXISTS {table}_occurred_at ON {table} (occurred_at)"),
            format!("CREATE INDEX IF NOT EXISTS {table}_channel_id ON {table} (channel_id, occurred_at)"),
            format!("CREATE INDEX IF NOT EXISTS {table}_named_user_id ON {table} (named_user_id, occurred_at)"),
        ],
    }
}

/// The ledger: one row per load of a batch into a table.
pub fn create_ledger(dialect: Dialect) -> String {
    let (text, extra) = match dialect {
        Dialect::Redshift => ("VARCHAR(256)", "\nDISTSTYLE ALL\nSORTKEY (window_start)"),
        Dialect::Postgres => ("TEXT", ""),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (\n  window_start TIMESTAMPTZ NOT NULL,\n  event_type {text} NOT NULL,\n  table_name {text} NOT NULL,\n  batch_id {text} NOT NULL,\n  object_count INTEGER NOT NULL,\n  rows_staged BIGINT NOT NULL,\n  rows_inserted BIGINT NOT NULL,\n  rows_replaced BIGINT NOT NULL,\n  execution {text},\n  loaded_at TIMESTAMPTZ DEFAULT {}\n){extra}",
        now_fn(dialect)
    )
}

/// All DDL for a set of routes: the ledger, the tables, then the analyst views that read them.
pub fn schema(routes: &[Route], dialect: Dialect) -> Vec<String> {
    let mut all = vec![create_ledger(dialect)];
    for r in routes {
        all.extend(create_table(r, dialect));
    }
    all.extend(super::views::create_views(routes, dialect));
    all
}

/// A SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What a statement of the load does, so adapters can report counts from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Its row count is not used (and for DDL, LOCK and CREATE TABLE AS, not documented).
    Setup,
    /// Fills the stage. On PostgreSQL the adapter streams the objects into this `COPY FROM STDIN`.
    Copy,
    /// Its row count is the number of staged rows that belong to another batch.
    OtherBatches,
    /// Creates the batch's distinct events; its row count is their number.
    Distinct,
    /// Its row count is the number of rows replaced by an earlier-arrived copy.
    Replace,
    /// Its row count is the number of rows inserted, replacements included.
    Insert,
    Ledger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub role: Role,
    pub sql: String,
}

/// Where Redshift's COPY reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Copy {
    pub manifest_url: String,
    pub jsonpaths_url: String,
    pub iam_role: String,
    pub gzip: bool,
}

/// Everything one load needs; the statements are run in order, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadParams<'a> {
    pub route: &'a Route,
    pub window: Window,
    pub batch: &'a BatchId,
    pub execution: &'a str,
    pub object_count: usize,
}

/// The columns a load fills, in table order: the staging rows' keys that are columns.
pub fn loaded_columns(route: &Route) -> Vec<&'static str> {
    route
        .profile()
        .columns()
        .iter()
        .filter(|c| c.is_loaded())
        .map(|c| c.name)
        .collect()
}

/// The load transaction of docs/design.md "Loading", the same statements on both warehouses except
/// for the lock and temp-table syntax and how the stage is filled (COPY from S3 on Redshift, the
/// adapter's COPY FROM STDIN of typed columns on PostgreSQL):
/// lock, stage, keep this batch, the batch's events, replace, insert, ledger row.
///
/// A row already in the table is only replaced by a copy of the same event that arrived earlier,
/// so the table holds the first-arrived copy of each event whatever order windows are (re)loaded
/// in, and re-running a window changes nothing. Only keys are materialized between the stage and
/// the insert, so each row is written twice (stage, table), whatever the batch holds.
pub fn load_statements(
    p: &LoadParams<'_>,
    dialect: Dialect,
    s3: Option<&S3Copy>,
) -> Vec<Statement> {
    let t = &p.route.table;
    let list = loaded_columns(p.route).join(", ");
    let temp = |name: &str, rest: &str| match dialect {
        Dialect::Redshift => format!("CREATE TEMP TABLE {name} {rest}"),
        Dialect::Postgres if rest.starts_with('(') => {
            format!("CREATE TEMP TABLE {name} {rest} ON COMMIT DROP")
        }
        Dialect::Postgres => format!("CREATE TEMP TABLE {name} ON COMMIT DROP {rest}"),
    };
    let mut out = Vec::new();
    let mut push = |role: Role, sql: String| out.push(Statement { role, sql });
    push(
        Role::Setup,
        match dialect {
            // Serializes loads of one table, so two executions of one window cannot both insert.
            Dialect::Redshift => format!("LOCK {t}"),
            Dialect::Postgres => format!("LOCK TABLE {t} IN SHARE ROW EXCLUSIVE MODE"),
        },
    );
    push(Role::Setup, temp("pf_stage", &format!("(LIKE {t})")));
    match (dialect, s3) {
        (Dialect::Redshift, Some(s3)) => push(
            Role::Copy,
            format!(
                "COPY pf_stage ({list}) FROM {} IAM_ROLE {} FORMAT AS JSON {} MANIFEST{} TIMEFORMAT 'auto'",
                literal(&s3.manifest_url),
                literal(&s3.iam_role),
                literal(&s3.jsonpaths_url),
                if s3.gzip { " GZIP" } else { "" }
            ),
        ),
        // PostgreSQL has no JSON COPY: the adapter turns the staging rows into these columns.
        // (Redshift without a COPY role gets this too, and its adapter refuses it by name.)
        _ => push(Role::Copy, format!("COPY pf_stage ({list}) FROM STDIN")),
    }
    // A Firehose object can hold records of another execution of the same window.
    push(
        Role::OtherBatches,
        format!(
            "DELETE FROM pf_stage WHERE batch_id <> {}",
            literal(p.batch.as_str())
        ),
    );
    // The Data API documents ResultRows only for INSERT, UPDATE, DELETE and COPY (a CREATE TABLE
    // AS may report -1), so every count the load reports comes from one of those.
    push(
        Role::Setup,
        temp(
            "pf_ids",
            &format!("(event_id {})", column_type(ColumnType::Id, dialect)),
        ),
    );
    push(
        Role::Distinct,
        "INSERT INTO pf_ids SELECT DISTINCT event_id FROM pf_stage".to_string(),
    );
    push(
        Role::Setup,
        temp(
            "pf_replaced",
            &format!("AS SELECT DISTINCT s.event_id FROM pf_stage s JOIN {t} x ON x.event_id = s.event_id WHERE s.arrived_at < x.arrived_at"),
        ),
    );
    push(
        Role::Replace,
        format!("DELETE FROM {t} USING pf_replaced r WHERE {t}.event_id = r.event_id"),
    );
    push(
        Role::Setup,
        temp(
            "pf_new",
            &format!("AS SELECT i.event_id FROM pf_ids i WHERE NOT EXISTS (SELECT 1 FROM {t} x WHERE x.event_id = i.event_id)"),
        ),
    );
    // The first-arrived copy of each new event; ROW_NUMBER keeps exactly one even on a tie.
    push(
        Role::Insert,
        format!(
            "INSERT INTO {t} ({list}) SELECT {list} FROM (SELECT {list}, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY arrived_at, processed_at) AS pf_rn FROM pf_stage WHERE event_id IN (SELECT event_id FROM pf_new)) d WHERE pf_rn = 1"
        ),
    );
    push(
        Role::Ledger,
        format!(
            "INSERT INTO {LEDGER_TABLE} (window_start, event_type, table_name, batch_id, object_count, rows_staged, rows_inserted, rows_replaced, execution) \
             SELECT CAST({} AS TIMESTAMPTZ), {}, {}, {}, {}, (SELECT COUNT(*) FROM pf_stage), \
             (SELECT COUNT(*) FROM pf_new) - (SELECT COUNT(*) FROM pf_replaced), (SELECT COUNT(*) FROM pf_replaced), {}",
            literal(&p.window.start_rfc3339()),
            literal(&p.route.event_type),
            literal(t),
            literal(p.batch.as_str()),
            p.object_count,
            literal(p.execution),
        ),
    );
    out
}

/// The jsonpaths file that maps a staging row's keys to the table's columns, in column order.
pub fn jsonpaths(route: &Route) -> serde_json::Value {
    let paths: Vec<String> = loaded_columns(route)
        .iter()
        .map(|c| format!("$['{c}']"))
        .collect();
    serde_json::json!({ "jsonpaths": paths })
}

/// The jsonpaths file's bytes: what the Load step uploads and `pushfeed schema --jsonpaths` prints.
pub fn jsonpaths_file(route: &Route) -> Vec<u8> {
    serde_json::to_vec_pretty(&jsonpaths(route)).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routes::RoutingTable;

    /// Compares with a checked-in snapshot; `UPDATE_SNAPSHOTS=1` rewrites it.
    fn snapshot(name: &str, text: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/domain/snapshots")
            .join(name);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, text).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("missing snapshot {name}: run with UPDATE_SNAPSHOTS=1"));
        assert_eq!(
            text, want,
            "snapshot {name} differs; run with UPDATE_SNAPSHOTS=1 if the change is intended"
        );
    }

    fn params_sql(dialect: Dialect, s3: Option<&S3Copy>) -> String {
        let routes = RoutingTable::default_routes();
        let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
        let p = LoadParams {
            route: routes.for_type("OPEN").unwrap(),
            window: "2026-11-26T10:01Z".parse().unwrap(),
            batch: &batch,
            execution: "exec-o'brien",
            object_count: 2,
        };
        load_statements(&p, dialect, s3)
            .iter()
            .map(|s| format!("-- {:?}\n{};\n", s.role, s.sql))
            .collect()
    }

    #[test]
    fn ddl_snapshots() {
        let routes = RoutingTable::default_routes();
        snapshot(
            "schema.redshift.sql",
            &(schema(routes.routes(), Dialect::Redshift).join(";\n\n") + ";\n"),
        );
        snapshot(
            "schema.postgres.sql",
            &(schema(routes.routes(), Dialect::Postgres).join(";\n\n") + ";\n"),
        );
    }

    #[test]
    fn load_snapshots() {
        let s3 = S3Copy {
            manifest_url: "s3://bucket/manifests/window=2026-11-26T10:01Z/type=OPEN/batch=0019abf9bf360-1a2b3c4d.json".into(),
            jsonpaths_url: "s3://bucket/jsonpaths/push_opens.json".into(),
            iam_role: "arn:aws:iam::123456789012:role/pushfeed-copy".into(),
            gzip: true,
        };
        snapshot(
            "load.redshift.sql",
            &params_sql(Dialect::Redshift, Some(&s3)),
        );
        snapshot("load.postgres.sql", &params_sql(Dialect::Postgres, None));
    }

    #[test]
    fn load_follows_the_design_order_and_escapes_literals() {
        let sql = params_sql(Dialect::Redshift, None);
        let order = [
            "LOCK push_opens",
            "(LIKE push_opens)",
            "COPY",
            "batch_id <> ",
            "SELECT DISTINCT event_id",
            "DELETE FROM push_opens USING",
            "INSERT INTO push_opens",
            "ROW_NUMBER()",
            "INSERT INTO pushfeed_loads",
        ];
        let mut at = 0;
        for needle in order {
            let found = sql[at..]
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing or out of order"));
            at += found;
        }
        assert!(sql.contains("'exec-o''brien'"));
        assert!(!sql.contains("ON COMMIT DROP"));
        assert!(params_sql(Dialect::Postgres, None).contains("ON COMMIT DROP"));
    }

    /// Redshift, "COPY from JSON format": "The JSONPaths file must contain only a single JSON
    /// object ... the jsonpaths array ... Each JSONPath expression in the jsonpaths array
    /// corresponds to one column in the Amazon Redshift target table. The order of the jsonpaths
    /// array elements must match the order of the columns in the target table or the column
    /// list, if a column list is used."
    #[test]
    fn the_copy_names_exactly_the_jsonpaths_columns_in_order() {
        let s3 = S3Copy {
            manifest_url: "s3://b/m.json".into(),
            jsonpaths_url: "s3://b/j.json".into(),
            iam_role: "arn:aws:iam::123456789012:role/r".into(),
            gzip: true,
        };
        let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
        for route in RoutingTable::default_routes().routes() {
            let p = LoadParams {
                route,
                window: "2026-11-26T10:01Z".parse().unwrap(),
                batch: &batch,
                execution: "e",
                object_count: 1,
            };
            let statements = load_statements(&p, Dialect::Redshift, Some(&s3));
            let copy = statements.iter().find(|s| s.role == Role::Copy).unwrap();
            let list = copy
                .sql
                .strip_prefix("COPY pf_stage (")
                .and_then(|rest| rest.split_once(')'))
                .map(|(list, _)| list)
                .unwrap_or_else(|| panic!("no column list in `{}`", copy.sql));
            let columns: Vec<String> = list.split(", ").map(|c| format!("$['{c}']")).collect();
            let paths: Vec<String> =
                serde_json::from_value(jsonpaths(route)["jsonpaths"].clone()).unwrap();
            assert_eq!(columns, paths, "{}", route.table);
            // Validation sizes every value to its column; the load never alters one.
            assert!(!copy.sql.contains("TRUNCATECOLUMNS"), "{}", copy.sql);
        }
    }

    /// Redshift Data API, DescribeStatement `ResultRows`: "Either the number of rows returned
    /// from the SQL statement or the number of rows affected. If result size is greater than
    /// zero, the result rows can be the number of rows affected by SQL statements such as
    /// INSERT, UPDATE, DELETE, COPY, and others. A -1 indicates the value is null."
    #[test]
    fn every_counted_statement_is_one_whose_count_is_documented() {
        for dialect in [Dialect::Redshift, Dialect::Postgres] {
            let sql = params_sql(dialect, None);
            let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
            let routes = RoutingTable::default_routes();
            let p = LoadParams {
                route: routes.for_type("SEND").unwrap(),
                window: "2026-11-26T10:01Z".parse().unwrap(),
                batch: &batch,
                execution: "e",
                object_count: 1,
            };
            for st in load_statements(&p, dialect, None) {
                if matches!(st.role, Role::Setup | Role::Ledger) {
                    continue;
                }
                let verb = st.sql.split_whitespace().next().unwrap();
                assert!(
                    ["INSERT", "UPDATE", "DELETE", "COPY"].contains(&verb),
                    "{:?} is counted but is `{}` ({dialect:?}): {sql}",
                    st.role,
                    st.sql
                );
            }
        }
    }

    #[test]
    fn every_table_has_the_common_columns_and_types_by_dialect() {
        for route in RoutingTable::default_routes().routes() {
            let rs = create_table(route, Dialect::Redshift).join("\n");
            let pg = create_table(route, Dialect::Postgres).join("\n");
            for col in [
                "event_id",
                "occurred_at",
                "processed_at",
                "arrived_at",
                "window_start",
                "channel_id",
                "device_type",
                "named_user_id",
                "raw",
                "batch_id",
                "loaded_at",
            ] {
                assert!(
                    rs.contains(&format!("  {col} ")) && pg.contains(&format!("  {col} ")),
                    "{col} in {}",
                    route.table
                );
            }
            assert!(rs.contains("raw SUPER") && pg.contains("raw JSONB"));
            assert!(rs.contains("DISTKEY (channel_id)") && rs.contains("SORTKEY (occurred_at"));
        }
        let paths = jsonpaths(RoutingTable::default_routes().for_type("SEND").unwrap());
        let list: Vec<&str> = paths["jsonpaths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(list.first(), Some(&"$['event_id']"));
        assert!(list.contains(&"$['variant_id']") && !list.contains(&"$['loaded_at']"));
    }
}
