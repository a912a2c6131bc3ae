//! Step Functions Local mock config files (`MockConfigFile.json`): test cases that
//! map state names to canned `Return`/`Throw` responses.

use crate::task::{TaskCall, TaskError, TaskHandler};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum MockError {
    #[error("mock config is not valid JSON: {0}")]
    Json(String),
    #[error("mock config: {0}")]
    Invalid(String),
    #[error("mock config has no state machine '{0}'")]
    NoStateMachine(String),
    #[error("mock config state machine '{state_machine}' has no test case '{test_case}'")]
    NoTestCase {
        state_machine: String,
        test_case: String,
    },
    #[error("test case '{test_case}': state '{state}' uses mocked response '{response}', which is not defined")]
    NoResponse {
        test_case: String,
        state: String,
        response: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum MockResponse {
    Return(Value),
    Throw(TaskError),
}

/// One mocked response: entries over invocation ranges (inclusive), sorted.
#[derive(Debug, Clone)]
struct Sequence {
    entries: Vec<(u32, u32, MockResponse)>,
}

impl Sequence {
    /// Invocations past the last defined key repeat the last response. The AWS
    /// guide does not say what happens then; repeating keeps a retried state
    /// deterministic rather than suddenly calling a real service.
    fn at(&self, n: u32) -> Option<&MockResponse> {
        self.entries
            .iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&n))
            .or_else(|| self.entries.last())
            .map(|(_, _, r)| r)
    }
}

/// A parsed mock config file.
#[derive(Debug, Clone)]
pub struct MockConfig {
    state_machines: HashMap<String, HashMap<String, HashMap<String, String>>>,
    responses: HashMap<String, Sequence>,
}

fn parse_key(k: &str) -> Option<(u32, u32)> {
    match k.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => {
            let n = k.trim().parse().ok()?;
            Some((n, n))
        }
    }
}

impl MockConfig {
    pub fn from_json(text: &str) -> Result<MockConfig, MockError> {
        let v: Value = serde_json::from_str(text).map_err(|e| MockError::Json(e.to_string()))?;
        let inv = |m: &str| MockError::Invalid(m.to_string());
        let mut state_machines = HashMap::new();
        let sms = v
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| inv("StateMachines must be an object"))?;
        for (sm, smv) in sms {
            let cases = smv
                .get("TestCases")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    MockError::Invalid(format!("'{sm}': TestCases must be an object"))
                })?;
            let mut tcs = HashMap::new();
            for (tc, tcv) in cases {
                let obj = tcv.as_object().ok_or_else(|| {
                    MockError::Invalid(format!("test case '{tc}' must be an object"))
                })?;
                let mut map = HashMap::new();
                for (state, resp) in obj {
                    let r = resp.as_str().ok_or_else(|| {
                        MockError::Invalid(format!(
                            "test case '{tc}': '{state}' must name a response"
                        ))
                    })?;
                    map.insert(state.clone(), r.to_string());
                }
                tcs.insert(tc.clone(), map);
            }
            state_machines.insert(sm.clone(), tcs);
        }
        let mut responses = HashMap::new();
        if let Some(rs) = v.get("MockedResponses") {
            let rs = rs
                .as_object()
                .ok_or_else(|| inv("MockedResponses must be an object"))?;
            for (name, rv) in rs {
                let obj = rv.as_object().ok_or_else(|| {
                    MockError::Invalid(format!("response '{name}' must be an object"))
                })?;
                let mut entries = Vec::new();
                for (k, ev) in obj {
                    let (lo, hi) = parse_key(k).ok_or_else(|| {
                        MockError::Invalid(format!("response '{name}': bad invocation key '{k}'"))
                    })?;
                    let resp = match (ev.get("Return"), ev.get("Throw")) {
                        (Some(r), None) => MockResponse::Return(r.clone()),
                        (None, Some(t)) => MockResponse::Throw(TaskError::new(
                            t.get("Error").and_then(Value::as_str).unwrap_or_default(),
                            t.get("Cause").and_then(Value::as_str).unwrap_or_default(),
                        )),
                        _ => {
                            return Err(MockError::Invalid(format!(
                                "response '{name}' key '{k}' needs exactly one of Return or Throw"
                            )))
                        }
                    };
                    entries.push((lo, hi, resp));
                }
                entries.sort_by_key(|(lo, _, _)| *lo);
                responses.insert(name.clone(), Sequence { entries });
            }
        }
        Ok(MockConfig {
            state_machines,
            responses,
        })
    }

    /// Resolves one test case. Invocation counters start at zero, so use a fresh
    /// test case for each execution.
    pub fn test_case(
        &self,
        state_machine: &str,
        test_case: &str,
    ) -> Result<MockTestCase, MockError> {
        let cases = self
            .state_machines
            .get(state_machine)
            .ok_or_else(|| MockError::NoStateMachine(state_machine.to_string()))?;
        let tc = cases.get(test_case).ok_or_else(|| MockError::NoTestCase {
            state_machine: state_machine.to_string(),
            test_case: test_case.to_string(),
        })?;
        let mut states = HashMap::new();
        for (state, resp) in tc {
            let seq = self
                .responses
                .get(resp)
                .ok_or_else(|| MockError::NoResponse {
                    test_case: test_case.to_string(),
                    state: state.clone(),
                    response: resp.clone(),
                })?;
            states.insert(state.clone(), seq.clone());
        }
        Ok(MockTestCase {
            states,
            counters: Mutex::new(HashMap::new()),
        })
    }
}

/// The mocked states of one test case, with per-state invocation counters
/// (numbered from 0 per state, across retries).
#[derive(Debug)]
pub struct MockTestCase {
    states: HashMap<String, Sequence>,
    counters: Mutex<HashMap<String, u32>>,
}

impl MockTestCase {
    pub fn mocks(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    /// The next response for `state`, advancing its counter; `None` if unmocked.
    pub fn next_response(&self, state: &str) -> Option<MockResponse> {
        let seq = self.states.get(state)?;
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let n = counters.entry(state.to_string()).or_insert(0);
        let r = seq.at(*n).cloned();
        *n += 1;
        r
    }

    /// How often `state` has been invoked so far.
    pub fn invocations(&self, state: &str) -> u32 {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.get(state).copied().unwrap_or(0)
    }
}

#[async_trait]
impl TaskHandler for MockTestCase {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskError> {
        match self.next_response(&call.state_name) {
            Some(MockResponse::Return(v)) => Ok(v),
            Some(MockResponse::Throw(e)) => Err(e),
            None => Err(TaskError::new(
                crate::error::names::RUNTIME,
                format!(
                    "state '{}' is not mocked in this test case",
                    call.state_name
                ),
            )),
        }
    }
}
