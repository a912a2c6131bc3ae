//! Task handlers the caller registers, and how each resource kind dispatches to them.

use crate::mock::MockTestCase;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// One task invocation as a handler sees it.
#[derive(Debug, Clone)]
pub struct TaskCall {
    /// The state's `Resource` string.
    pub resource: String,
    /// For `lambda:invoke`: the `Payload`; for a Lambda ARN: the effective input;
    /// for everything else (SNS included): the effective parameters.
    pub input: Value,
    /// For Lambda resources, the function name or ARN being invoked.
    pub function_name: Option<String>,
    pub state_name: String,
    /// 1 for the first attempt, +1 per retry of this state.
    pub attempt: u32,
    /// The context object (`$$`) at invocation time.
    pub context: Value,
}

/// A task failure: error name and cause, as a handler reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskError {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskError>;
}

/// Lets plain async closures serve as handlers: `handler_fn(|call| async move {..})`.
pub struct FnHandler<F>(pub F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(TaskCall) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<Value, TaskError>> + Send,
{
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskError> {
        (self.0)(call).await
    }
}

/// Wraps an async closure as an `Arc<dyn TaskHandler>`.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(TaskCall) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Where task invocations go.
#[derive(Clone, Default)]
pub struct Registry {
    lambdas: HashMap<String, Arc<dyn TaskHandler>>,
    sns: Option<Arc<dyn TaskHandler>>,
    resources: HashMap<String, Arc<dyn TaskHandler>>,
    mock: Option<Arc<MockTestCase>>,
}

pub(crate) const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
pub(crate) const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";

/// How a resource string is dispatched and which history events it produces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResourceKind {
    LambdaInvoke,
    LambdaArn,
    SnsPublish,
    Other,
}

pub(crate) fn classify(resource: &str) -> ResourceKind {
    if resource == LAMBDA_INVOKE {
        ResourceKind::LambdaInvoke
    } else if resource == SNS_PUBLISH {
        ResourceKind::SnsPublish
    } else if resource.starts_with("arn:aws:lambda:") && resource.contains(":function:") {
        ResourceKind::LambdaArn
    } else {
        ResourceKind::Other
    }
}

/// `resourceType`/`resource` as TaskScheduled reports them: for
/// `arn:aws:states:::sns:publish` that is `sns` and `publish`.
pub(crate) fn resource_parts(resource: &str) -> (String, String) {
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
        if let Some((ty, op)) = rest.split_once(':') {
            return (ty.to_string(), op.to_string());
        }
    }
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.get(2) {
        Some(svc) if !svc.is_empty() => (svc.to_string(), resource.to_string()),
        _ => ("unknown".to_string(), resource.to_string()),
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers a Lambda function by name (or full ARN). Calls match the exact
    /// FunctionName first, then its last `:`-separated segment, so a handler
    /// registered as `ingest` serves `arn:aws:lambda:eu-west-1:1:function:ingest`.
    pub fn lambda(mut self, function_name: impl Into<String>, h: Arc<dyn TaskHandler>) -> Registry {
        self.lambdas.insert(function_name.into(), h);
        self
    }

    /// The handler for `arn:aws:states:::sns:publish`.
    pub fn sns(mut self, h: Arc<dyn TaskHandler>) -> Registry {
        self.sns = Some(h);
        self
    }

    /// A handler for any other exact resource string.
    pub fn resource(mut self, resource: impl Into<String>, h: Arc<dyn TaskHandler>) -> Registry {
        self.resources.insert(resource.into(), h);
        self
    }

    /// Serves mocked states from a Step Functions Local test case before any
    /// handler; states the test case does not name dispatch as usual.
    pub fn mock(mut self, case: Arc<MockTestCase>) -> Registry {
        self.mock = Some(case);
        self
    }

    pub(crate) fn mock_case(&self) -> Option<&Arc<MockTestCase>> {
        self.mock.as_ref()
    }

    pub(crate) fn find_lambda(&self, function_name: &str) -> Option<Arc<dyn TaskHandler>> {
        if let Some(h) = self.lambdas.get(function_name) {
            return Some(h.clone());
        }
        // A qualified ARN ends in ":function:NAME:ALIAS"; try NAME too.
        let segs: Vec<&str> = function_name.split(':').collect();
        let last = segs.last().copied().unwrap_or(function_name);
        if let Some(h) = self.lambdas.get(last) {
            return Some(h.clone());
        }
        if let Some(pos) = segs.iter().position(|s| *s == "function") {
            if let Some(name) = segs.get(pos + 1) {
                return self.lambdas.get(*name).cloned();
            }
        }
        None
    }

    pub(crate) fn find_sns(&self) -> Option<Arc<dyn TaskHandler>> {
        self.sns.clone()
    }

    pub(crate) fn find_resource(&self, resource: &str) -> Option<Arc<dyn TaskHandler>> {
        self.resources.get(resource).cloned()
    }
}

/// AWS puts a Lambda function error's details in Cause as a JSON string.
pub(crate) fn lambda_cause(e: &TaskError) -> String {
    serde_json::json!({
        "errorMessage": e.cause,
        "errorType": e.error,
        "trace": [],
    })
    .to_string()
}
