//! The AwaitObjects Task state of ingest-window as a Lambda function: builds its AWS ports once per
//! container from environment variables (docs/aws.md), then calls the step for each invocation.
//! A failure's `errorType` is the step's stable `Pushfeed.*` name.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use pushfeed::adapters::aws::lambda::{self, TaskFailure};
use pushfeed::adapters::aws::AwsPorts;
use serde_json::Value;

fn diagnostic(f: TaskFailure) -> Diagnostic {
    Diagnostic {
        error_type: f.error_type,
        error_message: f.error_message,
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_current_span(false)
        .init();
    let ports = AwsPorts::from_env().await?;
    let store = ports.store()?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        lambda::await_objects(&*store, &ports.settings, event.payload)
            .await
            .map_err(diagnostic)
    }))
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn failures_keep_the_stable_name() {
        let e = pushfeed::steps::StepError::Transient("window 2026-11-26T10:01Z: throttled".into());
        let d = super::diagnostic(e.into());
        assert_eq!(d.error_type, "Pushfeed.Transient");
        assert_eq!(d.error_message, "window 2026-11-26T10:01Z: throttled");
    }
}
