//! The ReadWindow Task state of ingest-window as a Lambda function: `serve` builds its AWS ports once
//! per container from environment variables (docs/aws.md), then runs the step for each invocation.
//! A failure's `errorType` is the step's stable `Pushfeed.*` name.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pushfeed::adapters::aws::lambda::serve(pushfeed::steps::task::Task::ReadWindow).await
}
