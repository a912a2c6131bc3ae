//! Every kind of SQL statement pushfeed sends to Redshift, in one list, for the checks that only
//! Redshift-dialect tooling can make (tests/redshift_sql.rs parses each with sqlglot's redshift
//! dialect). A new statement (grants, views) is covered by adding it here.

use super::keys::BatchId;
use super::routes::RoutingTable;
use super::sql::{load_statements, schema, Dialect, LoadParams, S3Copy};

/// One generated statement and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// e.g. `schema: CREATE TABLE IF NOT EXISTS push_sends (` or `load push_opens (gzip) #3`.
    pub origin: String,
    pub sql: String,
}

/// The schema (ledger, route tables, views), the analysts' group and grants, and the load transaction of every route, with and
/// without GZIP, filled with sample values of the shape the steps use.
pub fn redshift_statements(routes: &RoutingTable) -> Vec<Generated> {
    let mut out: Vec<Generated> = schema(routes.routes(), Dialect::Redshift)
        .into_iter()
        .map(|sql| Generated {
            origin: format!("schema: {}", sql.lines().next().unwrap_or_default()),
            sql,
        })
        .collect();
    // The analysts' group, its grants, and the README's statements that add an analyst.
    let access = std::iter::once(super::access::create_group(Dialect::Redshift))
        .chain(super::access::grants(routes.routes(), Dialect::Redshift))
        .chain(super::access::add_analyst_example(
            "analyst_alice",
            "A-strong-password-1",
        ));
    out.extend(access.map(|sql| Generated {
        origin: format!("access: {sql}"),
        sql,
    }));
    let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().expect("a valid batch id");
    let window = "2026-11-26T10:01Z".parse().expect("a valid window");
    for route in routes.routes() {
        for gzip in [true, false] {
            let s3 = S3Copy {
                manifest_url: format!(
                    "s3://pushfeed-bucket/manifests/window={window}/type={}/batch={batch}.json",
                    route.event_type
                ),
                jsonpaths_url: format!("s3://pushfeed-bucket/jsonpaths/{}.json", route.table),
                iam_role: "arn:aws:iam::123456789012:role/dev-pushfeed-copy".into(),
                gzip,
            };
            let params = LoadParams {
                route,
                window,
                batch: &batch,
                execution: "arn:aws:states:eu-west-2:123456789012:execution:dev-pushfeed-ingest-window:2026-11-26T10-01Z",
                object_count: 2,
            };
            let kind = if gzip { "gzip" } else { "uncompressed" };
            for (n, st) in load_statements(&params, Dialect::Redshift, Some(&s3))
                .into_iter()
                .enumerate()
            {
                out.push(Generated {
                    origin: format!("load {} ({kind}) #{} {:?}", route.table, n + 1, st.role),
                    sql: st.sql,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_contributes_its_table_and_both_loads() {
        let routes = RoutingTable::default_routes();
        let all = redshift_statements(&routes);
        for route in routes.routes() {
            assert!(all.iter().any(|g| g
                .sql
                .starts_with(&format!("CREATE TABLE IF NOT EXISTS {} (", route.table))));
            let copies: Vec<&Generated> = all
                .iter()
                .filter(|g| {
                    g.sql.starts_with("COPY pf_stage (")
                        && g.origin.starts_with(&format!("load {} ", route.table))
                })
                .collect();
            assert_eq!(copies.len(), 2, "{}", route.table);
            assert_eq!(copies.iter().filter(|g| g.sql.contains(" GZIP")).count(), 1);
        }
        assert!(all.iter().any(|g| g
            .sql
            .starts_with("CREATE TABLE IF NOT EXISTS pushfeed_loads")));
    }
}
