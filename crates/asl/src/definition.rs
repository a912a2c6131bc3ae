//! Parsing and validating a state machine definition into a typed, checked form.

use crate::choice::{self, Rule};
use crate::error::{names, DefinitionError};
use crate::intrinsics;
use crate::path::JsonPath;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A validated state machine definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) machine: Machine,
    /// Top-level `TimeoutSeconds`: past it the execution ends as TimedOut.
    pub timeout_seconds: Option<u64>,
    pub comment: Option<String>,
}

/// A set of states with a StartAt: the top level, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: HashMap<String, State>,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: String,
    pub kind: Kind,
    /// `None` means the field was JSON null; absent fields default to `$`.
    pub input_path: Option<JsonPath>,
    pub output_path: Option<JsonPath>,
    pub result_path: Option<JsonPath>,
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    pub next: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<Seconds>,
    },
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Dynamic>,
        cause: Option<Dynamic>,
    },
    Parallel {
        branches: Vec<Machine>,
    },
    Map {
        processor: Box<Machine>,
        items_path: JsonPath,
        item_selector: Option<Value>,
        max_concurrency: usize,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(JsonPath),
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(Seconds),
    Timestamp(String),
    TimestampPath(JsonPath),
}

/// A Fail state's Error/Cause: a constant, or from ErrorPath/CausePath.
#[derive(Debug, Clone)]
pub(crate) enum Dynamic {
    Fixed(String),
    Path(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: Option<JsonPath>,
}

impl Definition {
    /// Parses and validates: StartAt exists, every Next/Default/Catch target exists
    /// in its scope, every non-terminal state has Next or End, retriers and
    /// catchers put `States.ALL` alone and last, types and fields are well-formed.
    pub fn from_json(text: &str) -> Result<Definition, DefinitionError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| DefinitionError::Json(e.to_string()))?;
        Definition::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Result<Definition, DefinitionError> {
        let obj = v.as_object().ok_or_else(|| DefinitionError::Structure {
            scope: "definition".into(),
            message: "must be a JSON object".into(),
        })?;
        if let Some(ql) = obj.get("QueryLanguage").and_then(Value::as_str) {
            if ql != "JSONPath" {
                return Err(DefinitionError::Structure {
                    scope: "definition".into(),
                    message: format!("QueryLanguage '{ql}' is not supported (only JSONPath)"),
                });
            }
        }
        let machine = parse_machine(obj, "definition")?;
        let timeout_seconds = match obj.get("TimeoutSeconds") {
            None => None,
            Some(t) => Some(t.as_u64().ok_or_else(|| DefinitionError::Structure {
                scope: "definition".into(),
                message: "TimeoutSeconds must be a non-negative integer".into(),
            })?),
        };
        Ok(Definition {
            machine,
            timeout_seconds,
            comment: obj
                .get("Comment")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// Names of the top-level states (handy for mock configs and tests).
    pub fn state_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.machine.states.keys().cloned().collect();
        v.sort();
        v
    }
}

fn parse_machine(obj: &Map<String, Value>, scope: &str) -> Result<Machine, DefinitionError> {
    let structure = |message: &str| DefinitionError::Structure {
        scope: scope.to_string(),
        message: message.to_string(),
    };
    let start_at = obj
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| structure("StartAt must be a string"))?
        .to_string();
    let states_obj = obj
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| structure("States must be an object"))?;
    if states_obj.is_empty() {
        return Err(structure("States must not be empty"));
    }
    let mut states = HashMap::new();
    for (name, sv) in states_obj {
        states.insert(name.clone(), parse_state(name, sv)?);
    }
    if !states.contains_key(&start_at) {
        return Err(DefinitionError::MissingStartAt {
            scope: scope.to_string(),
            start_at,
        });
    }
    for st in states.values() {
        let check = |field: &str, target: &str| {
            if states.contains_key(target) {
                Ok(())
            } else {
                Err(DefinitionError::UnknownTarget {
                    state: st.name.clone(),
                    field: field.to_string(),
                    target: target.to_string(),
                })
            }
        };
        if let Some(n) = &st.next {
            check("Next", n)?;
        }
        for c in &st.catch {
            check("Catch Next", &c.next)?;
        }
        if let Kind::Choice { choices, default } = &st.kind {
            for (_, n) in choices {
                check("Choices Next", n)?;
            }
            if let Some(d) = default {
                check("Default", d)?;
            }
        }
    }
    Ok(Machine { start_at, states })
}

fn invalid(state: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError::Invalid {
        state: state.to_string(),
        message: message.into(),
    }
}

/// Absent -> `$`; null -> None; string -> parsed path.
fn path_field(
    obj: &Map<String, Value>,
    state: &str,
    field: &str,
    reference: bool,
) -> Result<Option<JsonPath>, DefinitionError> {
    match obj.get(field) {
        None => Ok(Some(JsonPath::parse("$").map_err(|e| invalid(state, e))?)),
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let p = JsonPath::parse(s).map_err(|e| invalid(state, format!("{field}: {e}")))?;
            if reference && !p.is_reference() {
                return Err(invalid(
                    state,
                    format!("{field} '{s}' must be a reference path"),
                ));
            }
            Ok(Some(p))
        }
        Some(other) => Err(invalid(
            state,
            format!("{field} must be a string or null, got {other}"),
        )),
    }
}

/// Checks every `.$` value in a payload template parses as a path or intrinsic.
pub(crate) fn check_template(v: &Value, state: &str, field: &str) -> Result<(), DefinitionError> {
    match v {
        Value::Object(o) => {
            for (k, val) in o {
                if k.ends_with(".$") {
                    let s = val.as_str().ok_or_else(|| {
                        invalid(state, format!("{field}: value of '{k}' must be a string"))
                    })?;
                    let res = if intrinsics::looks_like_intrinsic(s) {
                        intrinsics::parse(s).map(|_| ())
                    } else {
                        JsonPath::parse(s).map(|_| ())
                    };
                    res.map_err(|e| invalid(state, format!("{field}: '{k}': {e}")))?;
                } else {
                    check_template(val, state, field)?;
                }
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(|x| check_template(x, state, field)),
        _ => Ok(()),
    }
}

fn seconds_u64(v: &Value, state: &str, field: &str) -> Result<u64, DefinitionError> {
    v.as_u64()
        .ok_or_else(|| invalid(state, format!("{field} must be a non-negative integer")))
}

fn error_list(v: Option<&Value>, state: &str, what: &str) -> Result<Vec<String>, DefinitionError> {
    let arr = v
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            invalid(
                state,
                format!("{what}: ErrorEquals must be a non-empty array"),
            )
        })?;
    arr.iter()
        .map(|e| {
            e.as_str().map(str::to_string).ok_or_else(|| {
                invalid(
                    state,
                    format!("{what}: ErrorEquals entries must be strings"),
                )
            })
        })
        .collect()
}

/// `States.ALL` must be alone in its ErrorEquals and in the last entry.
fn check_all_last(lists: &[Vec<String>], state: &str, what: &str) -> Result<(), DefinitionError> {
    for (i, l) in lists.iter().enumerate() {
        if l.iter().any(|e| e == names::ALL) {
            if l.len() != 1 {
                return Err(invalid(
                    state,
                    format!("{what}: States.ALL must appear alone in ErrorEquals"),
                ));
            }
            if i + 1 != lists.len() {
                return Err(invalid(
                    state,
                    format!("{what}: States.ALL must be in the last entry"),
                ));
            }
        }
    }
    Ok(())
}

fn parse_retry(obj: &Map<String, Value>, state: &str) -> Result<Vec<Retrier>, DefinitionError> {
    let Some(rv) = obj.get("Retry") else {
        return Ok(Vec::new());
    };
    let arr = rv
        .as_array()
        .ok_or_else(|| invalid(state, "Retry must be an array"))?;
    let mut out = Vec::new();
    for r in arr {
        let ro = r
            .as_object()
            .ok_or_else(|| invalid(state, "each Retry entry must be an object"))?;
        let num = |k: &str, d: f64| -> Result<f64, DefinitionError> {
            match ro.get(k) {
                None => Ok(d),
                Some(v) => v.as_f64().filter(|x| *x >= 0.0).ok_or_else(|| {
                    invalid(state, format!("Retry: {k} must be a non-negative number"))
                }),
            }
        };
        let interval_seconds = num("IntervalSeconds", 1.0)?;
        let max_attempts = num("MaxAttempts", 3.0)?;
        let backoff_rate = num("BackoffRate", 2.0)?;
        if backoff_rate < 1.0 {
            return Err(invalid(state, "Retry: BackoffRate must be at least 1.0"));
        }
        let max_delay_seconds = match ro.get("MaxDelaySeconds") {
            None => None,
            Some(_) => Some(num("MaxDelaySeconds", 0.0)?),
        };
        let full_jitter = match ro.get("JitterStrategy").map(|v| v.as_str()) {
            None | Some(Some("NONE")) => false,
            Some(Some("FULL")) => true,
            Some(_) => return Err(invalid(state, "Retry: JitterStrategy must be FULL or NONE")),
        };
        out.push(Retrier {
            error_equals: error_list(ro.get("ErrorEquals"), state, "Retry")?,
            interval_seconds,
            max_attempts: max_attempts.min(f64::from(u32::MAX)) as u32,
            backoff_rate,
            max_delay_seconds,
            full_jitter,
        });
    }
    let lists: Vec<Vec<String>> = out.iter().map(|r| r.error_equals.clone()).collect();
    check_all_last(&lists, state, "Retry")?;
    Ok(out)
}

fn parse_catch(obj: &Map<String, Value>, state: &str) -> Result<Vec<Catcher>, DefinitionError> {
    let Some(cv) = obj.get("Catch") else {
        return Ok(Vec::new());
    };
    let arr = cv
        .as_array()
        .ok_or_else(|| invalid(state, "Catch must be an array"))?;
    let mut out = Vec::new();
    for c in arr {
        let co = c
            .as_object()
            .ok_or_else(|| invalid(state, "each Catch entry must be an object"))?;
        let next = co
            .get("Next")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(state, "Catch: Next must be a string"))?
            .to_string();
        out.push(Catcher {
            error_equals: error_list(co.get("ErrorEquals"), state, "Catch")?,
            next,
            result_path: path_field(co, state, "ResultPath", true)?,
        });
    }
    let lists: Vec<Vec<String>> = out.iter().map(|r| r.error_equals.clone()).collect();
    check_all_last(&lists, state, "Catch")?;
    Ok(out)
}

fn parse_state(name: &str, v: &Value) -> Result<State, DefinitionError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(name, "a state must be an object"))?;
    let type_name = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(name, "Type must be a string"))?;
    let terminal = matches!(type_name, "Succeed" | "Fail" | "Choice");
    let next = obj.get("Next").map(|n| n.as_str().map(str::to_string));
    let end = obj.get("End").and_then(Value::as_bool).unwrap_or(false);
    let next = match next {
        Some(None) => return Err(invalid(name, "Next must be a string")),
        Some(Some(n)) => Some(n),
        None => None,
    };
    if !terminal {
        match (&next, end) {
            (Some(_), true) => return Err(invalid(name, "has both Next and End")),
            (None, false) => return Err(invalid(name, "needs Next or \"End\": true")),
            _ => {}
        }
    } else if next.is_some() || obj.contains_key("End") {
        return Err(invalid(
            name,
            format!("a {type_name} state must not have Next or End"),
        ));
    }
    let parameters = obj.get("Parameters").cloned();
    if let Some(p) = &parameters {
        check_template(p, name, "Parameters")?;
    }
    let result_selector = obj.get("ResultSelector").cloned();
    if let Some(p) = &result_selector {
        check_template(p, name, "ResultSelector")?;
    }
    let kind = match type_name {
        "Pass" => Kind::Pass {
            result: obj.get("Result").cloned(),
        },
        "Task" => {
            let resource = obj
                .get("Resource")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(name, "Resource must be a string"))?
                .to_string();
            let timeout = match (obj.get("TimeoutSeconds"), obj.get("TimeoutSecondsPath")) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        name,
                        "TimeoutSeconds and TimeoutSecondsPath are exclusive",
                    ))
                }
                (Some(t), None) => Some(Seconds::Fixed(seconds_u64(t, name, "TimeoutSeconds")?)),
                (None, Some(p)) => Some(Seconds::Path(
                    p.as_str()
                        .ok_or_else(|| invalid(name, "TimeoutSecondsPath must be a string"))
                        .and_then(|s| JsonPath::parse(s).map_err(|e| invalid(name, e)))?,
                )),
                (None, None) => None,
            };
            Kind::Task { resource, timeout }
        }
        "Choice" => {
            let arr = obj
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid(name, "Choices must be a non-empty array"))?;
            let mut choices = Vec::new();
            for c in arr {
                let rule = choice::parse_rule(c, true).map_err(|e| invalid(name, e))?;
                let next = c
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(name, "every choice rule needs Next"))?;
                choices.push((rule, next.to_string()));
            }
            let default = match obj.get("Default") {
                None => None,
                Some(d) => Some(
                    d.as_str()
                        .ok_or_else(|| invalid(name, "Default must be a string"))?
                        .to_string(),
                ),
            };
            Kind::Choice { choices, default }
        }
        "Wait" => {
            let keys: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                .into_iter()
                .filter(|k| obj.contains_key(*k))
                .collect();
            if keys.len() != 1 {
                return Err(invalid(
                    name,
                    "needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                ));
            }
            let s = |k: &str| {
                obj[k]
                    .as_str()
                    .ok_or_else(|| invalid(name, format!("{k} must be a string")))
            };
            let p = |k: &str| s(k).and_then(|t| JsonPath::parse(t).map_err(|e| invalid(name, e)));
            Kind::Wait(match keys[0] {
                "Seconds" => WaitFor::Seconds(Seconds::Fixed(seconds_u64(
                    &obj["Seconds"],
                    name,
                    "Seconds",
                )?)),
                "SecondsPath" => WaitFor::Seconds(Seconds::Path(p("SecondsPath")?)),
                "Timestamp" => {
                    let t = s("Timestamp")?;
                    if crate::timefmt::parse_rfc3339(t).is_none() {
                        return Err(invalid(name, format!("Timestamp '{t}' is not RFC 3339")));
                    }
                    WaitFor::Timestamp(t.to_string())
                }
                _ => WaitFor::TimestampPath(p("TimestampPath")?),
            })
        }
        "Succeed" => Kind::Succeed,
        "Fail" => {
            let dynamic = |fixed: &str, path: &str| -> Result<Option<Dynamic>, DefinitionError> {
                match (obj.get(fixed), obj.get(path)) {
                    (Some(_), Some(_)) => {
                        Err(invalid(name, format!("{fixed} and {path} are exclusive")))
                    }
                    (Some(v), None) => Ok(Some(Dynamic::Fixed(
                        v.as_str()
                            .ok_or_else(|| invalid(name, format!("{fixed} must be a string")))?
                            .to_string(),
                    ))),
                    (None, Some(v)) => {
                        let s = v
                            .as_str()
                            .ok_or_else(|| invalid(name, format!("{path} must be a string")))?;
                        let ok = if intrinsics::looks_like_intrinsic(s) {
                            intrinsics::parse(s).map(|_| ())
                        } else {
                            JsonPath::parse(s).map(|_| ())
                        };
                        ok.map_err(|e| invalid(name, format!("{path}: {e}")))?;
                        Ok(Some(Dynamic::Path(s.to_string())))
                    }
                    (None, None) => Ok(None),
                }
            };
            Kind::Fail {
                error: dynamic("Error", "ErrorPath")?,
                cause: dynamic("Cause", "CausePath")?,
            }
        }
        "Parallel" => {
            let arr = obj
                .get("Branches")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid(name, "Branches must be a non-empty array"))?;
            let mut branches = Vec::new();
            for (i, b) in arr.iter().enumerate() {
                let bo = b
                    .as_object()
                    .ok_or_else(|| invalid(name, "each branch must be an object"))?;
                branches.push(parse_machine(bo, &format!("state '{name}' branch {i}"))?);
            }
            Kind::Parallel { branches }
        }
        "Map" => {
            let proc_v = obj
                .get("ItemProcessor")
                .or_else(|| obj.get("Iterator"))
                .and_then(Value::as_object)
                .ok_or_else(|| invalid(name, "needs an ItemProcessor (or Iterator) object"))?;
            if let Some(mode) = proc_v
                .get("ProcessorConfig")
                .and_then(|c| c.get("Mode"))
                .and_then(Value::as_str)
            {
                if mode != "INLINE" {
                    return Err(invalid(
                        name,
                        format!("Map mode '{mode}' is not supported (INLINE only)"),
                    ));
                }
            }
            if obj.contains_key("ItemReader")
                || obj.contains_key("ItemBatcher")
                || obj.contains_key("ResultWriter")
            {
                return Err(invalid(name, "distributed Map fields (ItemReader, ItemBatcher, ResultWriter) are not supported"));
            }
            let processor = parse_machine(proc_v, &format!("state '{name}' ItemProcessor"))?;
            let items_path = match obj.get("ItemsPath") {
                None => JsonPath::parse("$").map_err(|e| invalid(name, e))?,
                Some(v) => v
                    .as_str()
                    .ok_or_else(|| invalid(name, "ItemsPath must be a string"))
                    .and_then(|s| JsonPath::parse(s).map_err(|e| invalid(name, e)))?,
            };
            if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
                return Err(invalid(
                    name,
                    "ItemSelector and Parameters are exclusive in a Map",
                ));
            }
            let item_selector = obj
                .get("ItemSelector")
                .or_else(|| obj.get("Parameters"))
                .cloned();
            if let Some(t) = &item_selector {
                check_template(t, name, "ItemSelector")?;
            }
            let max_concurrency = match obj.get("MaxConcurrency") {
                None => 0,
                Some(v) => {
                    usize::try_from(seconds_u64(v, name, "MaxConcurrency")?).unwrap_or(usize::MAX)
                }
            };
            Kind::Map {
                processor: Box::new(processor),
                items_path,
                item_selector,
                max_concurrency,
            }
        }
        other => {
            return Err(DefinitionError::UnknownType {
                state: name.to_string(),
                type_name: other.to_string(),
            })
        }
    };
    let is_map = matches!(kind, Kind::Map { .. });
    Ok(State {
        name: name.to_string(),
        input_path: path_field(obj, name, "InputPath", false)?,
        output_path: path_field(obj, name, "OutputPath", false)?,
        result_path: path_field(obj, name, "ResultPath", true)?,
        // A Map's legacy `Parameters` is its ItemSelector, not a state-level template.
        parameters: if is_map { None } else { parameters },
        result_selector,
        next,
        retry: parse_retry(obj, name)?,
        catch: parse_catch(obj, name)?,
        kind,
    })
}
