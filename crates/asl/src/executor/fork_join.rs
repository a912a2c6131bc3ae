//! What Parallel and Map have in common: their units (branches, iterations) run side by
//! side, each on its own lane forked after the state's Started event, and are joined
//! fail-fast before the state records Succeeded or Failed.

use super::{BoxFut, Lane, Run};
use crate::error::Failure;
use serde_json::Value;

/// What a Parallel or Map runs side by side.
pub(super) trait Units: Sync {
    /// What one unit is handed when its future is made: a branch's index, an item.
    type Unit: Send;

    /// Runs one unit to its output or failure. `lane` starts as the state's lane just
    /// after its Started event; the unit moves its time and its last event.
    fn run<'l>(
        &'l self,
        exec: &'l Run<'_>,
        unit: Self::Unit,
        lane: &'l mut Lane,
    ) -> BoxFut<'l, Result<Value, Failure>>;
}

/// A Parallel's or a Map's history events, and where its time stands after a failure.
pub(super) struct Family {
    pub(super) started: &'static str,
    pub(super) succeeded: &'static str,
    pub(super) failed: &'static str,
    pub(super) failed_at: FailedAt,
}

/// Where the state's lane moves once one of its units failed.
pub(super) enum FailedAt {
    /// To the latest time any unit reached: finished, failed, or cut short.
    LatestLane,
    /// To the time the failing unit reached.
    FailingUnit,
}

impl Run<'_> {
    /// Records `family.started`, runs every unit on a lane of its own, and records
    /// `family.succeeded` with the units' outputs in order, or `family.failed` with the
    /// first failure (the units still running are dropped). `make` builds the units'
    /// shared state once the lane they start from is known.
    pub(super) async fn fork_join<U, I>(
        &self,
        family: &Family,
        started: Option<(&str, Value)>,
        units: I,
        make: impl FnOnce(&Lane) -> U,
        lane: &mut Lane,
    ) -> Result<Vec<Value>, Failure>
    where
        U: Units,
        I: IntoIterator<Item = U::Unit>,
        I::IntoIter: ExactSizeIterator,
    {
        self.emit(lane, family.started, started);
        let parent = Lane {
            now: self.now(lane),
            last: lane.last,
        };
        let shared = make(&parent);
        let units = units.into_iter();
        let mut lanes = vec![parent; units.len()];
        let futs: Vec<BoxFut<'_, Result<Value, Failure>>> = units
            .zip(lanes.iter_mut())
            .map(|(u, l)| shared.run(self, u, l))
            .collect();
        let res = join_fail_fast(futs).await;
        let end = match (&res, &family.failed_at) {
            (Err((i, _)), FailedAt::FailingUnit) => Some(lanes[*i].now),
            _ => lanes.iter().map(|l| l.now).max(),
        };
        if let Some(end) = end {
            lane.now = lane.now.max(end);
        }
        // The units' events went in between: the state's next event follows the last.
        lane.last = self.last_event_id();
        match res {
            Ok(results) => {
                self.emit(lane, family.succeeded, None);
                Ok(results)
            }
            Err((_, f)) => {
                self.emit(lane, family.failed, None);
                Err(f)
            }
        }
    }
}

/// Runs all futures together and returns their results in order, or the first failure
/// with the index of its future (dropping, and so aborting, the rest). Only the futures
/// that were woken are polled again, so N iterations cost O(N) polls, not O(N) per
/// wake-up.
async fn join_fail_fast<'a, T: Send + 'a, E: Send + 'a>(
    futs: Vec<BoxFut<'a, Result<T, E>>>,
) -> Result<Vec<T>, (usize, E)> {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let n = futs.len();
    let mut pending: FuturesUnordered<_> = futs
        .into_iter()
        .enumerate()
        .map(|(i, f)| async move { (i, f.await) })
        .collect();
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    while let Some((i, r)) = pending.next().await {
        out[i] = Some(r.map_err(|e| (i, e))?);
    }
    Ok(out.into_iter().flatten().collect())
}
