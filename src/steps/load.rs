//! Load: writes the COPY manifest naming exactly this batch's delivered objects, then runs the
//! one-transaction load of design.md "Loading" in the warehouse.

use super::await_objects::scan_delivered;
use super::contract::{BranchInput, LoadOutput};
use super::deliver::check_branch;
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
    check_branch(settings, &input)?;
    let route = settings
        .routes
        .for_type(&input.event_type)
        .expect("check_branch found the route");
    let ctx = format!("window {}, {}", input.window, input.event_type);
    let found = scan_delivered(store, &input).await?;
    if found.distinct < input.count {
        return Err(StepError::ObjectsNotDelivered {
            window: input.window,
            event_type: input.event_type,
            batch: input.batch.to_string(),
            expected: input.count,
            arrived: found.distinct,
            attempts: input.attempt,
        });
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
        gzip: objects.iter().all(|k| k.ends_with(".gz")),
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
        ErrorKind::Transient => {
            StepError::Transient(format!("{ctx}: loading {}: {e}", route.table))
        }
        _ => StepError::LoadFailed {
            window: input.window,
            table: route.table.clone(),
            message: e.to_string(),
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
