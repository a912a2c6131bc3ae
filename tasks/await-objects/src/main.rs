//! The AwaitObjects Task state of ingest-window as a Lambda function: builds its AWS ports once per
//! container from environment variables (docs/aws.md), then calls the step for each invocation.
//! A failure's `errorType` is the step's stable `Pushfeed.*` name.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use pushfeed::adapters::aws::lambda;
use pushfeed::adapters::aws::AwsPorts;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let ports = AwsPorts::from_env().await?;
    let store = ports.store()?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        lambda::await_objects(&*store, &ports.settings, event.payload)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
