//! The Pass state: its input, or its fixed `Result`, passed on through the usual input
//! and output processing without calling anything.

use super::{finish, input_path, parameters, step, Run, Step};
use crate::context::StateContext;
use crate::definition::State;
use crate::error::Failure;
use serde_json::Value;

impl Run<'_> {
    pub(super) fn pass(
        &self,
        state: &State,
        result: Option<&Value>,
        raw: Value,
        ctx: &StateContext<'_>,
    ) -> Result<Step, Failure> {
        let eff = input_path(state, &raw)?;
        let eff = parameters(state, eff, ctx)?;
        self.check_input(state, &eff)?;
        let res = result.cloned().unwrap_or(eff);
        Ok(step(state, finish(state, &raw, res, ctx, false)?))
    }
}
