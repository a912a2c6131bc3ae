//! What the analysts use beside the tables: the read-only group applied with the schema, the
//! local warehouse served to BI tools (`pushfeed warehouse serve`) and the HTML report.

pub mod report;
pub mod serve;

use crate::domain::access::{create_group, grants, group_exists_query};
use crate::domain::routes::Route;
use crate::domain::sql::{schema, Dialect};
use crate::ports::{PortError, PortResult, Warehouse};

/// Applies the tables, the views and then the analysts' group with its grants: the group is
/// created when `pg_group` lacks it, and SELECT is granted again on every table and view, since
/// re-creating a Redshift view drops its grants.
pub async fn apply_schema(warehouse: &dyn Warehouse, routes: &[Route]) -> PortResult<()> {
    let dialect = warehouse.dialect();
    warehouse.apply_schema(&schema(routes, dialect)).await?;
    if !group_exists(warehouse).await? {
        if let Err(e) = warehouse.apply_schema(&[create_group(dialect)]).await {
            if dialect == Dialect::Redshift {
                return Err(e);
            }
            // A database named by PUSHFEED_DATABASE_URL may not let its user create roles; the
            // pipeline works without the group, only the analysts' login does not.
            eprintln!(
                "pushfeed: the analysts' group {} could not be created ({e}); ask the database's admin to run `CREATE GROUP {}`",
                crate::domain::access::ANALYST_GROUP,
                crate::domain::access::ANALYST_GROUP
            );
            return Ok(());
        }
    }
    warehouse.apply_schema(&grants(routes, dialect)).await
}

/// Whether the analysts' group exists in the warehouse.
pub async fn group_exists(warehouse: &dyn Warehouse) -> PortResult<bool> {
    let result = warehouse.query(&group_exists_query()).await?;
    let n = result
        .rows
        .first()
        .and_then(|r| r.first())
        .cloned()
        .flatten()
        .unwrap_or_default();
    n.trim().parse::<i64>().map(|n| n > 0).map_err(|_| {
        PortError::permanent(
            "checking for the analysts' group in pg_group",
            format!("expected a count, got `{n}`"),
        )
    })
}
