//! Payload templates (Parameters, ItemSelector, ResultSelector): `.$` keys take a
//! path, a `$$` context path or an intrinsic function.

use crate::context::ContextObject;
use crate::error::Failure;
use crate::intrinsics;
use crate::path::JsonPath;
use serde_json::{Map, Value};

/// Reads a path against the input or, for `$$`, the context object; a missing
/// value is `States.Runtime`, which is what AWS reports for such Parameters.
pub fn read_path(
    path: &JsonPath,
    input: &Value,
    context: &dyn ContextObject,
    state: &str,
    what: &str,
) -> Result<Value, Failure> {
    let found = if path.context {
        context.lookup(&path.segments)
    } else {
        path.get(input)
    };
    found.ok_or_else(|| {
        Failure::runtime(format!(
            "An error occurred while executing the state '{state}'. The JSONPath '{}' specified for the field '{what}' could not be found in the input '{}'",
            path.text,
            if path.context {
                context.to_value()
            } else {
                input.clone()
            }
        ))
    })
}

/// Evaluates a `.$` string: intrinsic or path.
pub fn eval_dynamic(
    expr: &str,
    input: &Value,
    context: &dyn ContextObject,
    state: &str,
    field: &str,
) -> Result<Value, Failure> {
    if intrinsics::looks_like_intrinsic(expr) {
        let e = intrinsics::parse(expr).map_err(Failure::intrinsic)?;
        intrinsics::eval(&e, input, context).map_err(|mut f| {
            f.cause = format!("{} (state '{state}', field '{field}')", f.cause);
            f
        })
    } else {
        let p = JsonPath::parse(expr).map_err(Failure::runtime)?;
        read_path(&p, input, context, state, field)
    }
}

pub fn apply(
    template: &Value,
    input: &Value,
    context: &dyn ContextObject,
    state: &str,
) -> Result<Value, Failure> {
    match template {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if let Some(key) = k.strip_suffix(".$") {
                    let expr = v.as_str().ok_or_else(|| {
                        Failure::runtime(format!(
                            "state '{state}': value of '{k}' must be a string"
                        ))
                    })?;
                    out.insert(
                        key.to_string(),
                        eval_dynamic(expr, input, context, state, k)?,
                    );
                } else {
                    out.insert(k.clone(), apply(v, input, context, state)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => Ok(Value::Array(
            a.iter()
                .map(|x| apply(x, input, context, state))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}
