//! The analysts' read-only group in the Redshift dialect, through the real Redshift adapter on the
//! Redshift harness: `schema --aws`'s steps create `pushfeed_analysts` once and grant SELECT on
//! every table and (materialized) view, again after the views are re-created; a login made with
//! the README's SQL reads them all and is refused every write.
#![cfg(feature = "aws")]

mod conformance;
mod harness;

use std::sync::Arc;

use conformance::postgres::Postgres;
use pushfeed::adapters::aws::{RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::domain::access::{add_analyst_example, readable, ANALYST_GROUP};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::ports::Warehouse;

#[tokio::test]
async fn an_analyst_login_reads_every_table_and_view_and_cannot_write() {
    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalObjectStore::new(dir.path(), "pushfeed-harness"));
    let harness = harness::harness(&conninfo, store).await;
    let admin = harness::warehouse(&harness).await;
    let routes = RoutingTable::default_routes();

    pushfeed::analysts::apply_schema(&admin, routes.routes())
        .await
        .unwrap();
    assert!(pushfeed::analysts::group_exists(&admin).await.unwrap());
    // Applied again: the group exists, so it is not created twice (Redshift's CREATE GROUP
    // would fail), the views are dropped and re-created, and the grants given again.
    pushfeed::analysts::apply_schema(&admin, routes.routes())
        .await
        .unwrap();
    let creates = harness
        .received()
        .iter()
        .flatten()
        .filter(|s| s.starts_with(&format!("CREATE GROUP {ANALYST_GROUP}")))
        .count();
    assert_eq!(creates, 1, "the group is created once");

    // The README's statements, as the admin runs them.
    let [create_user, _] = add_analyst_example("analyst_alice", "A-strong-password-1");
    admin.apply_schema(&[create_user]).await.unwrap();

    let analyst = RedshiftWarehouse::new(
        harness::data_api_client(harness.endpoint()).await,
        RedshiftTarget::Cluster("harness".into()),
        "pushfeed",
        RedshiftAuth::DbUser("analyst_alice".into()),
    );
    for object in readable(routes.routes()) {
        let r = analyst
            .query(&format!("SELECT COUNT(*) FROM {object}"))
            .await
            .unwrap_or_else(|e| panic!("the analyst cannot read {object}: {e}"));
        assert_eq!(r.rows.len(), 1, "{object}");
    }
    let denied = |e: pushfeed::ports::PortError| {
        let text = e.to_string();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{text}"
        );
    };
    for write in [
        "INSERT INTO push_opens (event_id) VALUES ('analyst-was-here')".to_string(),
        "UPDATE push_sends SET push_id = 'x'".into(),
        "DELETE FROM pushfeed_loads".into(),
        "TRUNCATE push_controls".into(),
        "DROP TABLE push_uninstalls".into(),
        "ALTER TABLE push_opens ADD COLUMN note VARCHAR(10)".into(),
        "DROP MATERIALIZED VIEW customer_send_hours".into(),
        "REFRESH MATERIALIZED VIEW push_holdout_uplift".into(),
    ] {
        let e = analyst
            .apply_schema(std::slice::from_ref(&write))
            .await
            .expect_err(&format!("the analyst ran `{write}`"));
        denied(e);
    }
    // The admin still can.
    admin
        .apply_schema(&["REFRESH MATERIALIZED VIEW push_holdout_uplift".to_string()])
        .await
        .unwrap();
}
