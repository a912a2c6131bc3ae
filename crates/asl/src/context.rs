//! The context object (`$$`): the execution, the state machine, the current state and Map
//! item. A state reads it without copying the execution's input, which a Map over that
//! input would otherwise copy once per state of every iteration.

use crate::path::{get_segments, Segment};
use serde_json::Value;

/// What a `$$` path reads. A plain [`Value`] is one; the executor's is built per state.
pub trait ContextObject: Send + Sync {
    /// The value at `segments` (the path after `$$`), if any.
    fn lookup(&self, segments: &[Segment]) -> Option<Value>;
    /// The whole object, as a task handler or `$$` alone sees it.
    fn to_value(&self) -> Value;
}

impl ContextObject for Value {
    fn lookup(&self, segments: &[Segment]) -> Option<Value> {
        get_segments(self, segments)
    }
    fn to_value(&self) -> Value {
        self.clone()
    }
}

/// The executor's context: `base` holds `Execution` (without `Input`) and
/// `StateMachine`; the execution input is borrowed, the rest is small.
#[derive(Clone)]
pub(crate) struct StateContext<'a> {
    pub base: &'a Value,
    pub input: &'a Value,
    pub state: Value,
    pub map: Option<Value>,
}

impl StateContext<'_> {
    pub fn with_map(&self, map: Value) -> Self {
        StateContext {
            map: Some(map),
            ..self.clone()
        }
    }
}

fn field(s: &Segment) -> Option<&str> {
    match s {
        Segment::Field(f) => Some(f.as_str()),
        _ => None,
    }
}

impl ContextObject for StateContext<'_> {
    fn lookup(&self, segments: &[Segment]) -> Option<Value> {
        let Some((first, rest)) = segments.split_first() else {
            return Some(self.to_value());
        };
        match field(first) {
            Some("State") => get_segments(&self.state, rest),
            Some("Map") => get_segments(self.map.as_ref()?, rest),
            Some("Execution") => match rest.split_first() {
                Some((s, r)) if field(s) == Some("Input") => get_segments(self.input, r),
                Some((s, _)) if field(s).is_some() => {
                    get_segments(self.base.get("Execution")?, rest)
                }
                _ => get_segments(&self.to_value(), segments),
            },
            Some(other) => get_segments(self.base.get(other)?, rest),
            None => get_segments(&self.to_value(), segments),
        }
    }

    fn to_value(&self) -> Value {
        let mut c = self.base.clone();
        if let Some(o) = c.as_object_mut() {
            if let Some(Value::Object(e)) = o.get_mut("Execution") {
                e.insert("Input".into(), self.input.clone());
            }
            o.insert("State".into(), self.state.clone());
            if let Some(m) = &self.map {
                o.insert("Map".into(), m.clone());
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::JsonPath;
    use serde_json::json;

    #[test]
    fn reads_like_the_whole_object() {
        let base = json!({"Execution": {"Name": "e"}, "StateMachine": {"Name": "m"}});
        let input = json!({"items": [1, 2]});
        let c = StateContext {
            base: &base,
            input: &input,
            state: json!({"Name": "S"}),
            map: None,
        }
        .with_map(json!({"Item": {"Index": 1}}));
        let whole = c.to_value();
        for p in [
            "$$",
            "$$.Execution",
            "$$.Execution.Input.items[1]",
            "$$.Execution.Name",
            "$$.Execution.*",
            "$$.StateMachine.Name",
            "$$.State.Name",
            "$$.Map.Item.Index",
            "$$.Nothing",
            "$$.*",
        ] {
            let segs = JsonPath::parse(p).unwrap().segments;
            assert_eq!(c.lookup(&segs), whole.lookup(&segs), "{p}");
        }
    }
}
