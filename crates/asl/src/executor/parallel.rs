//! The Parallel state: every branch runs on the same input, and the output is the
//! array of the branches' outputs.

use super::fork_join::{FailedAt, Family, Units};
use super::{finish, parameters, Attempt, BoxFut, Lane, Run};
use crate::definition::Machine;
use crate::error::Failure;
use serde_json::Value;

const PARALLEL: Family = Family {
    started: "ParallelStateStarted",
    succeeded: "ParallelStateSucceeded",
    failed: "ParallelStateFailed",
    failed_at: FailedAt::LatestLane,
};

/// The branches of one Parallel and the input each of them starts from.
struct Branches<'a> {
    branches: &'a [Machine],
    input: Value,
}

impl Units for Branches<'_> {
    /// The branch's index.
    type Unit = usize;

    fn run<'l>(
        &'l self,
        exec: &'l Run<'_>,
        branch: usize,
        lane: &'l mut Lane,
    ) -> BoxFut<'l, Result<Value, Failure>> {
        exec.run_machine(&self.branches[branch], self.input.clone(), lane)
    }
}

impl Run<'_> {
    /// One attempt at a Parallel state.
    pub(super) async fn parallel(
        &self,
        at: Attempt<'_>,
        branches: &[Machine],
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        let Attempt {
            state,
            raw,
            eff,
            ctx,
            ..
        } = at;
        let input = parameters(state, eff, ctx)?;
        self.check_input(state, &input)?;
        let make = |_: &Lane| Branches { branches, input };
        let results = self
            .fork_join(&PARALLEL, None, 0..branches.len(), make, lane)
            .await?;
        finish(state, raw, Value::Array(results), ctx, true)
    }
}
