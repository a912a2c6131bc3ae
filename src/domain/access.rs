//! The analysts' read-only group, `pushfeed_analysts`: SELECT on every route table, the ledger
//! and the analyst views, and nothing else, as SQL text for both warehouses.
//!
//! Redshift, CREATE GROUP: "CREATE GROUP group_name [ [ WITH ] [ USER username ] [, ...] ]" and
//! "Only a superuser can create a group." It has no `IF NOT EXISTS`, so whoever applies the
//! schema asks [`group_exists_query`] first and runs [`create_group`] only when it says 0. In
//! PostgreSQL `CREATE GROUP` is an alias of `CREATE ROLE` (NOLOGIN), so the same names work in
//! both, and `pg_group` lists the groups in both.
//!
//! The grants come after the views: a Redshift view is re-created by dropping it, and its grants
//! go with it ("If other users want to query the materialized view, the owner of the materialized
//! view grants the SELECT permission to those users. The other users don't need to have the
//! SELECT permission on the underlying base tables."), so every schema application grants again.

use super::routes::Route;
use super::sql::{Dialect, LEDGER_TABLE};
use super::views::views;

/// The read-only group analysts' logins belong to.
pub const ANALYST_GROUP: &str = "pushfeed_analysts";

/// One row, one column: how many groups are called [`ANALYST_GROUP`] (0 or 1), in both dialects.
pub fn group_exists_query() -> String {
    format!("SELECT COUNT(*) AS groups FROM pg_group WHERE groname = '{ANALYST_GROUP}'")
}

/// Creates the group. On Redshift it fails when the group exists (ask [`group_exists_query`]
/// first); on PostgreSQL it does nothing then, and it is safe to run concurrently.
pub fn create_group(dialect: Dialect) -> String {
    match dialect {
        Dialect::Redshift => format!("CREATE GROUP {ANALYST_GROUP}"),
        // Roles belong to the whole cluster, so two homes' first runs can race to create it.
        Dialect::Postgres => format!(
            "DO $$ BEGIN\n  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ANALYST_GROUP}') THEN\n    CREATE GROUP {ANALYST_GROUP};\n  END IF;\nEXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\nEND $$"
        ),
    }
}

/// The tables and views the group may read, in schema order.
pub fn readable(routes: &[Route]) -> Vec<String> {
    let mut out = vec![LEDGER_TABLE.to_string()];
    out.extend(routes.iter().map(|r| r.table.clone()));
    out.extend(views(routes).into_iter().map(|v| v.name.to_string()));
    out
}

/// One `GRANT SELECT` per table and view (idempotent in both warehouses): SELECT only, so a
/// member cannot insert, update, delete, truncate, drop or alter any of them.
///
/// Redshift, GRANT: "GRANT { { SELECT | INSERT | UPDATE | DELETE | DROP | REFERENCES | ALTER |
/// TRUNCATE } [,...] | ALL [ PRIVILEGES ] } ON { [ TABLE ] table_name [, ...] | ALL TABLES IN
/// SCHEMA schema_name [, ...] } TO { username [ WITH GRANT OPTION ] | ROLE role_name | GROUP
/// group_name | PUBLIC } [, ...]". One object per statement, so a failure names its object (and
/// sqlglot, which checks every Redshift statement, parses the one-object form).
pub fn grants(routes: &[Route], _dialect: Dialect) -> Vec<String> {
    readable(routes)
        .into_iter()
        .map(|t| format!("GRANT SELECT ON TABLE {t} TO GROUP {ANALYST_GROUP}"))
        .collect()
}

/// What an admin runs to give an analyst a login (README, "Analysts' access"); the same text in
/// both warehouses. Redshift CREATE USER: "IN GROUP groupname [, ... ] Specifies the name of an
/// existing group that the user belongs to."
pub fn add_analyst_example(user: &str, password: &str) -> [String; 2] {
    [
        format!("CREATE USER {user} PASSWORD '{password}' IN GROUP {ANALYST_GROUP}"),
        format!("ALTER GROUP {ANALYST_GROUP} ADD USER {user}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routes::RoutingTable;

    #[test]
    fn the_group_reads_every_table_and_view_and_nothing_else() {
        let routes = RoutingTable::default_routes();
        let g = grants(routes.routes(), Dialect::Redshift);
        assert_eq!(g.len(), 1 + routes.routes().len() + 4);
        assert!(g.iter().all(|s| s.starts_with("GRANT SELECT ON TABLE ")
            && s.ends_with(" TO GROUP pushfeed_analysts")));
        for t in ["pushfeed_loads", "push_opens", "customer_send_hours"] {
            assert!(g.iter().any(|s| s.contains(&format!(" {t} "))), "{t}");
        }
        assert_eq!(g, grants(routes.routes(), Dialect::Postgres));
    }

    #[test]
    fn creating_the_group_is_idempotent_on_postgres_only() {
        assert_eq!(
            create_group(Dialect::Redshift),
            "CREATE GROUP pushfeed_analysts"
        );
        let pg = create_group(Dialect::Postgres);
        assert!(pg.contains("IF NOT EXISTS") && pg.contains("duplicate_object"));
    }
}
