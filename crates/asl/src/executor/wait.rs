//! The Wait state: holds its lane for some seconds or until a timestamp; on the virtual
//! clock that only moves the lane's time forward.

use super::{input_path, output_path, seconds, secs_to_ms, step, Lane, Run, Step};
use crate::context::StateContext;
use crate::definition::{State, WaitFor};
use crate::error::Failure;
use crate::payload;
use crate::timefmt::{parse_rfc3339, Millis};
use serde_json::Value;

impl Run<'_> {
    pub(super) async fn wait(
        &self,
        state: &State,
        w: &WaitFor,
        raw: Value,
        ctx: &StateContext<'_>,
        lane: &mut Lane,
    ) -> Result<Step, Failure> {
        let eff = input_path(state, &raw)?;
        let until = self.wait_until(state, w, &eff, ctx, lane)?;
        let now = self.now(lane);
        self.sleep(lane, until - now).await;
        Ok(step(state, output_path(state, eff)?))
    }

    /// The moment the wait ends, as epoch milliseconds.
    fn wait_until(
        &self,
        state: &State,
        w: &WaitFor,
        eff: &Value,
        ctx: &StateContext<'_>,
        lane: &mut Lane,
    ) -> Result<Millis, Failure> {
        Ok(match w {
            WaitFor::Seconds(s) => {
                let secs = seconds(s, eff, ctx, state, "SecondsPath")?;
                self.now(lane).saturating_add(secs_to_ms(secs))
            }
            WaitFor::Timestamp(t) => parse_rfc3339(t).unwrap_or(0),
            WaitFor::TimestampPath(p) => {
                let v = payload::read_path(p, eff, ctx, &state.name, "TimestampPath")?;
                v.as_str().and_then(parse_rfc3339).ok_or_else(|| {
                    Failure::runtime(format!(
                        "state '{}': TimestampPath '{}' did not resolve to an RFC 3339 timestamp: {v}",
                        state.name, p.text
                    ))
                })?
            }
        })
    }
}
