//! The states that only steer: Choice picks the next state, Succeed and Fail end the
//! machine they are in (the execution, a Parallel branch or a Map iteration).

use super::{input_path, output_path, Step};
use crate::choice::{self, Rule};
use crate::context::StateContext;
use crate::definition::{Dynamic, State};
use crate::error::{names, Failure};
use crate::payload;
use serde_json::Value;

pub(super) fn choice(
    state: &State,
    choices: &[(Rule, String)],
    default: Option<&str>,
    raw: &Value,
    ctx: &StateContext<'_>,
) -> Result<Step, Failure> {
    let eff = input_path(state, raw)?;
    for (rule, next) in choices {
        if choice::eval(rule, &eff, ctx)? {
            return Ok(Step::Next(next.clone(), output_path(state, eff)?));
        }
    }
    match default {
        Some(d) => Ok(Step::Next(d.to_string(), output_path(state, eff)?)),
        None => Err(Failure::new(
            names::NO_CHOICE_MATCHED,
            format!(
                "No Choice Rule matched and no Default in Choice state '{}'",
                state.name
            ),
        )),
    }
}

pub(super) fn succeed(state: &State, raw: &Value) -> Result<Step, Failure> {
    let eff = input_path(state, raw)?;
    Ok(Step::End(output_path(state, eff)?))
}

/// Always the failure the state names; only its Error and Cause are worked out here.
pub(super) fn fail(
    state: &State,
    error: Option<&Dynamic>,
    cause: Option<&Dynamic>,
    raw: &Value,
    ctx: &StateContext<'_>,
) -> Result<Step, Failure> {
    Err(Failure::new(
        fail_field(state, error, "ErrorPath", raw, ctx)?,
        fail_field(state, cause, "CausePath", raw, ctx)?,
    ))
}

/// A Fail state's Error or Cause: empty when absent, else the constant or the string
/// its path selects.
fn fail_field(
    state: &State,
    d: Option<&Dynamic>,
    field: &str,
    raw: &Value,
    ctx: &StateContext<'_>,
) -> Result<String, Failure> {
    match d {
        None => Ok(String::new()),
        Some(Dynamic::Fixed(s)) => Ok(s.clone()),
        Some(Dynamic::Path(p)) => match payload::eval_dynamic(p, raw, ctx, &state.name, field)? {
            Value::String(s) => Ok(s),
            other => Err(Failure::runtime(format!(
                "state '{}': {field} must resolve to a string, got {other}",
                state.name
            ))),
        },
    }
}
