//! Step Functions for the CLI: start one execution per window, list and describe executions, and
//! read an execution's history, as `pushfeed replay|executions|history --aws` show them.

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use aws_sdk_sfn::Client;
use serde::Serialize;

use super::error::classify;
use crate::ports::PortResult;

pub struct StepFunctions {
    client: Client,
}

/// One execution, as ListExecutions or DescribeExecution reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub status: String,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    /// The execution input (DescribeExecution only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// The console page of an execution; the region is read from the ARN.
pub fn console_link(execution_arn: &str) -> String {
    let region = execution_arn.split(':').nth(3).unwrap_or("us-east-1");
    format!("https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}")
}

fn millis(t: &aws_sdk_sfn::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or(0)
}

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
}

impl StepFunctions {
    pub fn new(client: Client) -> StepFunctions {
        StepFunctions { client }
    }

    /// Step Functions with the SDK's default configuration (credentials, region).
    pub async fn connect() -> StepFunctions {
        StepFunctions::new(Client::new(&super::config::load_sdk_config().await))
    }

    /// StartExecution; returns the execution's ARN. Names are unique per state machine for 90
    /// days, so a repeated name fails with ExecutionAlreadyExists (a permanent error).
    pub async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> PortResult<String> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| {
                classify(
                    format!("starting execution {name} of {state_machine_arn}"),
                    e,
                )
            })?;
        Ok(out.execution_arn)
    }

    pub async fn describe(&self, execution_arn: &str) -> PortResult<ExecutionInfo> {
        let d = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| classify(format!("describing execution {execution_arn}"), e))?;
        Ok(ExecutionInfo {
            execution_arn: d.execution_arn,
            name: d.name.unwrap_or_default(),
            status: d.status.as_str().to_string(),
            start_ms: millis(&d.start_date),
            stop_ms: d.stop_date.as_ref().map(millis),
            input: parse_json(d.input),
            output: parse_json(d.output),
            error: d.error,
            cause: d.cause,
        })
    }

    /// The newest executions first, at most `limit`, following ListExecutions' pages.
    pub async fn list(
        &self,
        state_machine_arn: &str,
        limit: usize,
    ) -> PortResult<Vec<ExecutionInfo>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_executions()
                .state_machine_arn(state_machine_arn)
                .max_results(limit.clamp(1, 1000) as i32)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(format!("listing executions of {state_machine_arn}"), e))?;
            for e in page.executions {
                out.push(ExecutionInfo {
                    execution_arn: e.execution_arn,
                    name: e.name,
                    status: e.status.as_str().to_string(),
                    start_ms: millis(&e.start_date),
                    stop_ms: e.stop_date.as_ref().map(millis),
                    input: None,
                    output: None,
                    error: None,
                    cause: None,
                });
            }
            match page.next_token {
                Some(t) if out.len() < limit => token = Some(t),
                _ => break,
            }
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.start_ms));
        out.truncate(limit);
        Ok(out)
    }

    /// Every event of an execution's history, oldest first.
    pub async fn history(&self, execution_arn: &str) -> PortResult<Vec<HistoryEvent>> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution_arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    classify(
                        format!("reading the history of execution {execution_arn}"),
                        e,
                    )
                })?;
            events.extend(page.events);
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(events)
    }

    /// Waits until an execution is no longer RUNNING (tests; a replay does not wait).
    pub async fn wait(
        &self,
        execution_arn: &str,
        timeout: std::time::Duration,
    ) -> PortResult<ExecutionInfo> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let info = self.describe(execution_arn).await?;
            if info.status != ExecutionStatus::Running.as_str()
                || tokio::time::Instant::now() > until
            {
                return Ok(info);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// One history event as a JSON object like GetExecutionHistory's, with its details.
pub fn event_json(e: &HistoryEvent) -> serde_json::Value {
    let debug = |d: &dyn std::fmt::Debug| serde_json::Value::String(format!("{d:?}"));
    let mut v = serde_json::json!({
        "timestamp": crate::domain::window::format_timestamp_ms(millis(&e.timestamp)),
        "type": e.r#type.as_str(),
        "id": e.id,
        "previousEventId": e.previous_event_id,
    });
    let detail = if let Some(d) = &e.state_entered_event_details {
        serde_json::json!({"name": d.name, "input": d.input})
    } else if let Some(d) = &e.state_exited_event_details {
        serde_json::json!({"name": d.name, "output": d.output})
    } else if let Some(d) = &e.execution_failed_event_details {
        serde_json::json!({"error": d.error, "cause": d.cause})
    } else if let Some(d) = &e.execution_succeeded_event_details {
        serde_json::json!({"output": d.output})
    } else if let Some(d) = &e.execution_started_event_details {
        serde_json::json!({"input": d.input})
    } else if let Some(d) = &e.task_failed_event_details {
        serde_json::json!({"resource": d.resource, "error": d.error, "cause": d.cause})
    } else if let Some(d) = &e.lambda_function_failed_event_details {
        serde_json::json!({"error": d.error, "cause": d.cause})
    } else if let Some(d) = &e.task_scheduled_event_details {
        debug(d)
    } else {
        serde_json::Value::Null
    };
    if !detail.is_null() {
        v["details"] = detail;
    }
    v
}
