//! Load: writes the COPY manifest naming exactly this batch's delivered objects, then runs the
//! one-transaction load of docs/design.md "Loading" in the warehouse.

use super::branch::{check_branch, not_delivered, scan_delivered};
use super::contract::{BranchInput, LoadOutput};
use super::error::StepError;
use super::Settings;
use crate::domain::keys::ObjectKey;
use crate::domain::sql::{jsonpaths_file, load_statements, loaded_columns, LoadParams, S3Copy};
use crate::ports::{ErrorKind, LoadJob, ObjectStore, Warehouse};

pub async fn load(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    settings: &Settings,
    input: BranchInput,
) -> Result<LoadOutput, StepError> {
    let route = check_branch(settings, &input)?;
    let ctx = format!("window {}, {}", input.window, input.event_type);
    let found = scan_delivered(store, &input).await?;
    if found.distinct < input.count {
        let attempts = input.attempt;
        return Err(not_delivered(input, found.distinct, attempts));
    }
    // Redshift's COPY takes one compression for every file of a manifest.
    let gzip = found.gzip_objects == found.objects.len();
    if !gzip && found.gzip_objects > 0 {
        return Err(StepError::invalid(format!(
            "{ctx}: {} of the {} delivered objects of batch {} are gzip and the others are not; one COPY reads them all with one compression setting: check the Firehose stream's compression",
            found.gzip_objects,
            found.objects.len(),
            input.batch
        )));
    }
    let objects: Vec<String> = found.objects.iter().map(|(k, _)| k.clone()).collect();
    let manifest_key =
        ObjectKey::manifest(input.window, &input.event_type, &input.batch).to_string();
    let manifest = serde_json::json!({
        "entries": objects.iter().map(|k| serde_json::json!({"url": store.url(k), "mandatory": true})).collect::<Vec<_>>()
    });
    store
        .put(
            &manifest_key,
            serde_json::to_vec_pretty(&manifest).expect("json"),
        )
        .await
        .map_err(|e| StepError::from_port(&format!("{ctx}: writing manifest"), e))?;
    let jsonpaths_key = ObjectKey::Jsonpaths {
        table: route.table.clone(),
    }
    .to_string();
    store
        .put(&jsonpaths_key, jsonpaths_file(route))
        .await
        .map_err(|e| StepError::from_port(&format!("{ctx}: writing jsonpaths"), e))?;

    let s3 = settings.copy_role.as_ref().map(|role| S3Copy {
        manifest_url: store.url(&manifest_key),
        jsonpaths_url: store.url(&jsonpaths_key),
        iam_role: role.clone(),
        gzip,
    });
    let execution = input.execution.clone().unwrap_or_default();
    let params = LoadParams {
        route,
        window: input.window,
        batch: &input.batch,
        execution: &execution,
        object_count: objects.len(),
    };
    let job = LoadJob {
        table: route.table.clone(),
        statements: load_statements(&params, warehouse.dialect(), s3.as_ref()),
        objects: objects.clone(),
        columns: loaded_columns(route),
    };
    let counts = warehouse.load(&job).await.map_err(|e| match e.kind {
        ErrorKind::Transient => StepError::Transient {
            message: format!("{ctx}: loading {}: {e}", route.table),
            source: Some(e),
        },
        _ => StepError::LoadFailed {
            window: input.window,
            table: route.table.clone(),
            source: e,
        },
    })?;
    // Every row of the batch is delivered (checked above), so the rows that did not become a
    // distinct event of the table are later copies of one.
    let events = counts.rows_inserted + counts.rows_replaced + counts.rows_unchanged;
    Ok(LoadOutput {
        duplicates: input.count.saturating_sub(events),
        window: input.window,
        event_type: input.event_type,
        table: route.table.clone(),
        batch: input.batch,
        objects: objects.len() as u64,
        manifest_key,
        rows_staged: counts.rows_staged,
        rows_inserted: counts.rows_inserted,
        rows_replaced: counts.rows_replaced,
        rows_unchanged: counts.rows_unchanged,
    })
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::adapters::local::object_store::LocalObjectStore;
    use crate::domain::keys::BatchId;
    use crate::domain::sql::{Dialect, Role};
    use crate::ports::{LoadCounts, PortError, PortResult, QueryResult};

    /// A Redshift-dialect warehouse that keeps the job it was given.
    #[derive(Default)]
    struct Recording(Mutex<Option<LoadJob>>);

    #[async_trait]
    impl Warehouse for Recording {
        fn dialect(&self) -> Dialect {
            Dialect::Redshift
        }
        async fn apply_schema(&self, _: &[String]) -> PortResult<()> {
            Ok(())
        }
        async fn load(&self, job: &LoadJob) -> PortResult<LoadCounts> {
            *self.0.lock().unwrap() = Some(job.clone());
            Ok(LoadCounts::default())
        }
        async fn query(&self, _: &str) -> PortResult<QueryResult> {
            Ok(QueryResult::default())
        }
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// A warehouse that refuses every load as a missing table.
    struct Refusing;

    #[async_trait]
    impl Warehouse for Refusing {
        fn dialect(&self) -> Dialect {
            Dialect::Postgres
        }
        async fn apply_schema(&self, _: &[String]) -> PortResult<()> {
            Ok(())
        }
        async fn load(&self, job: &LoadJob) -> PortResult<LoadCounts> {
            Err(PortError::permanent(
                format!("loading {} (commit)", job.table),
                format!("relation \"{}\" does not exist (42P01)", job.table),
            ))
        }
        async fn query(&self, _: &str) -> PortResult<QueryResult> {
            Ok(QueryResult::default())
        }
    }

    /// The COPY of a load of two delivered objects (see [`run_load`]).
    async fn load_objects(gzip: [bool; 2]) -> Result<String, StepError> {
        let warehouse = Recording::default();
        run_load(gzip, &warehouse).await?;
        let job = warehouse.0.lock().unwrap().take().unwrap();
        Ok(job
            .statements
            .iter()
            .find(|s| s.role == Role::Copy)
            .unwrap()
            .sql
            .clone())
    }

    /// Loads two delivered objects of one batch, each compressed or not, under keys that say
    /// nothing.
    async fn run_load(gzip: [bool; 2], warehouse: &dyn Warehouse) -> Result<LoadOutput, StepError> {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalObjectStore::new(dir.path(), "bucket");
        let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
        let window = "2026-11-26T10:01Z".parse().unwrap();
        for (row, compressed) in gzip.into_iter().enumerate() {
            let line = format!(
                "{{\"event_id\":\"e{row}\",\"window\":\"2026-11-26T10:01Z\",\"row\":{row},\"batch_id\":\"{batch}\",\"raw\":{{}}}}\n"
            );
            let bytes = if compressed {
                gz(line.as_bytes())
            } else {
                line.into_bytes()
            };
            let key = format!("events/UNINSTALL/window=2026-11-26T10:01Z/part-{row}");
            store.put(&key, bytes).await.unwrap();
        }
        let settings = Settings {
            copy_role: Some("arn:aws:iam::123456789012:role/copy".into()),
            ..Settings::default()
        };
        let route = settings.routes.for_type("UNINSTALL").unwrap().clone();
        let input = BranchInput {
            window,
            staging_key: ObjectKey::Staging {
                window,
                event_type: "UNINSTALL".into(),
                batch: batch.clone(),
            }
            .to_string(),
            batch,
            event_type: "UNINSTALL".into(),
            table: route.table.clone(),
            delivery_stream: route.delivery_stream.clone(),
            count: 2,
            execution: None,
            attempt: 1,
        };
        load(&store, warehouse, &settings, input).await
    }

    #[tokio::test]
    async fn a_refused_load_is_load_failed_caused_by_the_warehouse_error() {
        let e = run_load([false, false], &Refusing).await.unwrap_err();
        assert_eq!(e.name(), crate::steps::names::LOAD_FAILED);
        match &e {
            StepError::LoadFailed {
                window,
                table,
                source,
            } => {
                assert_eq!(
                    (window.to_string().as_str(), table.as_str()),
                    ("2026-11-26T10:01Z", "push_uninstalls")
                );
                assert_eq!(source.kind, ErrorKind::Permanent);
                assert_eq!(source.operation, "loading push_uninstalls (commit)");
            }
            other => panic!("not LoadFailed: {other:?}"),
        }
        assert!(
            e.to_string().ends_with(
                "loading push_uninstalls failed: loading push_uninstalls (commit) failed: relation \"push_uninstalls\" does not exist (42P01)"
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn the_copy_says_gzip_when_the_objects_are_gzip_whatever_their_names() {
        assert!(load_objects([true, true]).await.unwrap().contains(" GZIP"));
        assert!(!load_objects([false, false]).await.unwrap().contains("GZIP"));
        match load_objects([true, false]).await {
            Err(StepError::InvalidInput { message: m, .. }) => {
                assert!(m.contains("1 of the 2"), "{m}")
            }
            other => panic!("a mixed manifest was not refused: {other:?}"),
        }
    }
}
