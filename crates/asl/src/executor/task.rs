//! The Task state: finds who answers the call (the mock test case or a registered
//! handler), records the scheduled and started events, calls it within TimeoutSeconds,
//! and records how it ended, shaped as AWS's integration for that resource answers.

use super::{finish, parameters, seconds, secs_to_ms, Attempt, Lane, Run};
use crate::context::{ContextObject, StateContext};
use crate::definition::{Seconds, State};
use crate::error::{names, Failure};
use crate::limits::{self, json_size};
use crate::mock::MockResponse;
use crate::random;
use crate::task::{
    classify, lambda_cause, resource_parts, ResourceKind, TaskCall, TaskError, TaskHandler,
};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// One call of a Task's resource, and what its history events report.
struct Invocation<'i> {
    state: &'i State,
    resource: &'i str,
    kind: ResourceKind,
    /// A Lambda function ARN as the resource: AWS records LambdaFunction* events for it,
    /// Task* events for every other resource (`lambda:invoke` included).
    lambda_events: bool,
    rtype: String,
    rname: String,
    /// TimeoutSeconds or TimeoutSecondsPath, resolved.
    timeout: Option<u64>,
    /// 1 for the first call, 2 for the first retry, and so on.
    attempt: u32,
}

impl<'i> Invocation<'i> {
    fn new(state: &'i State, resource: &'i str, timeout: Option<u64>, attempt: u32) -> Self {
        let kind = classify(resource);
        let (rtype, rname) = resource_parts(resource);
        Invocation {
            state,
            resource,
            lambda_events: kind == ResourceKind::LambdaArn,
            kind,
            rtype,
            rname,
            timeout,
            attempt,
        }
    }

    /// `resourceType` and `resource`, which every Task* event after TaskScheduled repeats.
    fn ids(&self) -> Value {
        json!({"resourceType": self.rtype, "resource": self.rname})
    }
}

/// Who answers a Task: the mock test case's next response, or a registered handler
/// with the input and function name it is called with.
enum Callee {
    Mocked(MockResponse),
    Handler {
        handler: Arc<dyn TaskHandler>,
        input: Value,
        function_name: Option<String>,
    },
}

/// How a call ended in the history: `(type, details key)` for a Lambda function ARN,
/// and for any other resource.
struct TaskEvent {
    lambda: (&'static str, &'static str),
    task: (&'static str, &'static str),
}

const TIMED_OUT: TaskEvent = TaskEvent {
    lambda: (
        "LambdaFunctionTimedOut",
        "lambdaFunctionTimedOutEventDetails",
    ),
    task: ("TaskTimedOut", "taskTimedOutEventDetails"),
};
const SUCCEEDED: TaskEvent = TaskEvent {
    lambda: (
        "LambdaFunctionSucceeded",
        "lambdaFunctionSucceededEventDetails",
    ),
    task: ("TaskSucceeded", "taskSucceededEventDetails"),
};
const FAILED: TaskEvent = TaskEvent {
    lambda: ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails"),
    task: ("TaskFailed", "taskFailedEventDetails"),
};

impl Run<'_> {
    /// One attempt at a Task state: its output, or the failure the retry loop sees.
    pub(super) async fn task(
        &self,
        at: Attempt<'_>,
        resource: &str,
        timeout: Option<&Seconds>,
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        let Attempt {
            state,
            raw,
            eff,
            ctx,
            number,
        } = at;
        let timeout = match timeout {
            None => None,
            Some(s) => Some(seconds(s, &eff, ctx, state, "TimeoutSecondsPath")?),
        };
        let params = parameters(state, eff, ctx)?;
        // AWS: States.DataLimitExceeded "when, after Parameters processing, the
        // input of a state is larger than the payload size quota".
        self.check_input(state, &params)?;
        let inv = Invocation::new(state, resource, timeout, number);
        let result = self.invoke(&inv, params, ctx, lane).await?;
        finish(state, raw, result, ctx, true)
    }

    async fn invoke(
        &self,
        inv: &Invocation<'_>,
        params: Value,
        ctx: &StateContext<'_>,
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        let callee = self.callee(inv, &params)?;
        self.record_scheduled(inv, &params, lane);
        if self.is_full() {
            return Err(self.history_full());
        }
        let outcome = self.call(inv, callee, ctx, lane).await?;
        let outcome = self.within_payload_quota(inv, outcome);
        self.record_outcome(inv, outcome, lane)
    }

    /// The mocked response when the mock test case covers the state, else the handler.
    fn callee(&self, inv: &Invocation<'_>, params: &Value) -> Result<Callee, Failure> {
        let name = &inv.state.name;
        let mocked = self
            .registry
            .mock_case()
            .filter(|m| m.mocks(name))
            .and_then(|m| m.next_response(name));
        match mocked {
            Some(response) => Ok(Callee::Mocked(response)),
            None => self.handler(inv, params),
        }
    }

    /// The registered handler for the resource; `lambda:invoke` names its function in
    /// the Parameters and passes it only their `Payload`.
    fn handler(&self, inv: &Invocation<'_>, params: &Value) -> Result<Callee, Failure> {
        let (state, resource) = (inv.state, inv.resource);
        let missing = |what: String| {
            Failure::runtime(format!(
                "state '{}': no handler registered for {what}",
                state.name
            ))
        };
        let (handler, input, function_name) = match inv.kind {
            ResourceKind::LambdaInvoke => {
                let fname = params
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Failure::runtime(format!(
                            "state '{}': lambda:invoke Parameters need a FunctionName string",
                            state.name
                        ))
                    })?
                    .to_string();
                let input = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
                let h = self
                    .registry
                    .find_lambda(&fname)
                    .ok_or_else(|| missing(format!("Lambda function '{fname}'")))?;
                (h, input, Some(fname))
            }
            ResourceKind::LambdaArn => {
                let h = self
                    .registry
                    .find_lambda(resource)
                    .ok_or_else(|| missing(format!("Lambda function '{resource}'")))?;
                (h, params.clone(), Some(resource.to_string()))
            }
            ResourceKind::SnsPublish => {
                let h = self
                    .registry
                    .find_sns()
                    .ok_or_else(|| missing(format!("resource '{resource}'")))?;
                (h, params.clone(), None)
            }
            ResourceKind::Other => {
                let h = self
                    .registry
                    .find_resource(resource)
                    .ok_or_else(|| missing(format!("resource '{resource}'")))?;
                (h, params.clone(), None)
            }
        };
        Ok(Callee::Handler {
            handler,
            input,
            function_name,
        })
    }

    /// TaskScheduled and TaskStarted, or their LambdaFunction* forms.
    fn record_scheduled(&self, inv: &Invocation<'_>, params: &Value, lane: &mut Lane) {
        let mut sched = Map::new();
        let (text, _) = self.payload(params);
        if inv.lambda_events {
            sched.insert("resource".into(), json!(inv.resource));
            sched.insert("input".into(), json!(text));
        } else {
            sched.insert("resourceType".into(), json!(inv.rtype));
            sched.insert("resource".into(), json!(inv.rname));
            sched.insert("region".into(), json!(self.region));
            sched.insert("parameters".into(), json!(text));
        }
        if let Some(t) = inv.timeout {
            sched.insert("timeoutInSeconds".into(), json!(t));
        }
        if inv.lambda_events {
            self.emit(
                lane,
                "LambdaFunctionScheduled",
                Some(("lambdaFunctionScheduledEventDetails", Value::Object(sched))),
            );
            self.emit(lane, "LambdaFunctionStarted", None);
        } else {
            self.emit(
                lane,
                "TaskScheduled",
                Some(("taskScheduledEventDetails", Value::Object(sched))),
            );
            self.emit(
                lane,
                "TaskStarted",
                Some(("taskStartedEventDetails", inv.ids())),
            );
        }
    }

    /// The answer of the mock or the handler; a handler still running at TimeoutSeconds
    /// is dropped, and the failure comes back as `Err` with its event recorded.
    async fn call(
        &self,
        inv: &Invocation<'_>,
        callee: Callee,
        ctx: &StateContext<'_>,
        lane: &mut Lane,
    ) -> Result<Result<Value, TaskError>, Failure> {
        let (handler, input, function_name) = match callee {
            Callee::Mocked(MockResponse::Return(v)) => return Ok(Ok(v)),
            Callee::Mocked(MockResponse::Throw(e)) => return Ok(Err(e)),
            Callee::Handler {
                handler,
                input,
                function_name,
            } => (handler, input, function_name),
        };
        let call = TaskCall {
            resource: inv.resource.to_string(),
            input,
            function_name,
            state_name: inv.state.name.clone(),
            attempt: inv.attempt,
            context: ctx.to_value(),
        };
        let fut = handler.invoke(call);
        let res = match inv.timeout {
            Some(t) => tokio::time::timeout(Duration::from_secs(t), fut).await.ok(),
            None => Some(fut.await),
        };
        match res {
            Some(r) => Ok(shape(&inv.kind, r)),
            None => Err(self.task_timed_out(inv, lane)),
        }
    }

    /// Records TaskTimedOut (or LambdaFunctionTimedOut) at the end of TimeoutSeconds.
    fn task_timed_out(&self, inv: &Invocation<'_>, lane: &mut Lane) -> Failure {
        let secs = inv.timeout.unwrap_or(0);
        if self.clock.is_virtual() {
            lane.now = lane.now.saturating_add(secs_to_ms(secs));
        }
        let cause = format!("Task '{}' did not finish within {}s", inv.state.name, secs);
        self.emit_task_event(
            lane,
            inv,
            &TIMED_OUT,
            json!({"error": names::TIMEOUT, "cause": cause}),
        );
        Failure {
            from_task: true,
            ..Failure::new(names::TIMEOUT, cause)
        }
    }

    /// AWS: States.DataLimitExceeded "when the output of a connector is larger than
    /// payload size quota"; AWS's cause names the resource (a Lambda ARN, or the
    /// integration's service such as 'lambda').
    fn within_payload_quota(
        &self,
        inv: &Invocation<'_>,
        outcome: Result<Value, TaskError>,
    ) -> Result<Value, TaskError> {
        let max = self.limits.max_payload_bytes;
        match outcome {
            Ok(v) if json_size(&v, max) > max => {
                let what = if inv.lambda_events {
                    inv.resource
                } else {
                    inv.rtype.as_str()
                };
                let f = limits::data_limit(what);
                Err(TaskError::new(f.error, f.cause))
            }
            o => o,
        }
    }

    /// Records TaskSucceeded or TaskFailed (or their LambdaFunction* forms).
    fn record_outcome(
        &self,
        inv: &Invocation<'_>,
        outcome: Result<Value, TaskError>,
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        match outcome {
            Ok(v) => {
                let (text, truncated) = self.payload(&v);
                self.emit_task_event(
                    lane,
                    inv,
                    &SUCCEEDED,
                    json!({"output": text, "outputDetails": {"truncated": truncated}}),
                );
                Ok(v)
            }
            Err(e) => {
                self.emit_task_event(
                    lane,
                    inv,
                    &FAILED,
                    json!({"error": e.error, "cause": e.cause}),
                );
                Err(Failure {
                    from_task: true,
                    ..Failure::new(e.error, e.cause)
                })
            }
        }
    }

    /// Task* events carry the resource's ids besides `details`; LambdaFunction* do not.
    fn emit_task_event(
        &self,
        lane: &mut Lane,
        inv: &Invocation<'_>,
        event: &TaskEvent,
        details: Value,
    ) {
        if inv.lambda_events {
            let (ty, key) = event.lambda;
            self.emit(lane, ty, Some((key, details)));
        } else {
            let (ty, key) = event.task;
            let mut d = details;
            merge(&mut d, &inv.ids());
            self.emit(lane, ty, Some((key, d)));
        }
    }
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

/// Wraps a handler's raw answer the way each AWS integration returns it.
fn shape(kind: &ResourceKind, r: Result<Value, TaskError>) -> Result<Value, TaskError> {
    let request_id = random::uuid_v4();
    match kind {
        ResourceKind::LambdaInvoke => match r {
            Ok(payload) => Ok(json!({
                "ExecutedVersion": "$LATEST",
                "Payload": payload,
                "SdkHttpMetadata": {
                    "AllHttpHeaders": {"X-Amz-Executed-Version": ["$LATEST"], "x-amzn-RequestId": [request_id]},
                    "HttpHeaders": {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": request_id},
                    "HttpStatusCode": 200
                },
                "SdkResponseMetadata": {"RequestId": request_id},
                "StatusCode": 200
            })),
            Err(e) => Err(TaskError::new(e.error.clone(), lambda_cause(&e))),
        },
        ResourceKind::LambdaArn => r.map_err(|e| TaskError::new(e.error.clone(), lambda_cause(&e))),
        ResourceKind::SnsPublish => r.map(|v| {
            let message_id = v
                .get("MessageId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(random::uuid_v4);
            json!({
                "MessageId": message_id,
                "SdkHttpMetadata": {
                    "AllHttpHeaders": {"x-amzn-RequestId": [request_id]},
                    "HttpHeaders": {"x-amzn-RequestId": request_id},
                    "HttpStatusCode": 200
                },
                "SdkResponseMetadata": {"RequestId": request_id}
            })
        }),
        ResourceKind::Other => r,
    }
}
