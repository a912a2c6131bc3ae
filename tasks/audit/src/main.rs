//! The audit as a Lambda function: classifies the last 24 hours of windows, prints the
//! WindowsMissing/WindowsFailed/WindowsPartial/OldestGapMinutes/FreshnessSeconds EMF metrics and,
//! when the stage allows it, starts a bounded number of repair executions.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use pushfeed::adapters::aws::audit::AuditFunction;
use pushfeed::adapters::aws::lambda;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let audit = AuditFunction::from_env().await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        audit
            .run(pushfeed::domain::window::now_ms())
            .await
            .map_err(|e| Diagnostic {
                error_type: "Pushfeed.AuditFailed".into(),
                error_message: format!("{e:#}"),
            })
    }))
    .await
}
