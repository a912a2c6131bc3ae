//! The Map state: its ItemProcessor runs once per item of the array ItemsPath selects,
//! at most MaxConcurrency at a time, each iteration recording its own events; the
//! output is the array of the iterations' outputs.

use super::fork_join::{FailedAt, Family, Units};
use super::{finish, Attempt, BoxFut, Lane, Run};
use crate::context::StateContext;
use crate::definition::{Machine, State};
use crate::error::Failure;
use crate::path::JsonPath;
use crate::payload;
use crate::timefmt::Millis;
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use tokio::sync::Semaphore;

const MAP: Family = Family {
    started: "MapStateStarted",
    succeeded: "MapStateSucceeded",
    failed: "MapStateFailed",
    failed_at: FailedAt::FailingUnit,
};

/// The iterations of one Map: what each reads, and the MaxConcurrency they share.
struct Iterations<'a> {
    state: &'a State,
    processor: &'a Machine,
    selector: Option<&'a Value>,
    /// The Map's input after InputPath, which the ItemSelector reads.
    eff: &'a Value,
    ctx: &'a StateContext<'a>,
    /// MaxConcurrency's permits; `None` when it is 0, no limit.
    sem: Option<Semaphore>,
    /// Virtual start times under MaxConcurrency: list scheduling, each
    /// iteration takes the slot that frees up first.
    slots: Mutex<BinaryHeap<Reverse<Millis>>>,
}

impl Iterations<'_> {
    /// Under MaxConcurrency, once the iteration holds its permit: moves the lane to the
    /// time the slot it takes was freed.
    fn take_slot(&self, lane: &mut Lane) {
        if self.sem.is_some() {
            let mut h = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            lane.now = h.pop().map(|Reverse(t)| t).unwrap_or(lane.now);
        }
    }

    /// Gives the iteration's slot back, free from `end` on.
    fn free_slot(&self, end: Millis) {
        if self.sem.is_some() {
            let mut h = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            h.push(Reverse(end));
        }
    }
}

impl Units for Iterations<'_> {
    /// The item's index and the item.
    type Unit = (usize, Value);

    fn run<'l>(
        &'l self,
        exec: &'l Run<'_>,
        (index, item): (usize, Value),
        lane: &'l mut Lane,
    ) -> BoxFut<'l, Result<Value, Failure>> {
        Box::pin(async move {
            // Held until the iteration ends.
            let _permit = match &self.sem {
                Some(sem) => Some(
                    sem.acquire()
                        .await
                        .map_err(|_| Failure::runtime("Map concurrency limiter closed"))?,
                ),
                None => None,
            };
            self.take_slot(lane);
            let input = match self.selector {
                Some(t) => {
                    let c = self
                        .ctx
                        .with_map(json!({"Item": {"Index": index, "Value": item}}));
                    let v = payload::apply(t, self.eff, &c, &self.state.name)?;
                    exec.check_input(self.state, &v)?;
                    v
                }
                None => item,
            };
            let details = json!({"name": self.state.name, "index": index});
            exec.emit(
                lane,
                "MapIterationStarted",
                Some(("mapIterationStartedEventDetails", details.clone())),
            );
            let r = exec.run_machine(self.processor, input, lane).await;
            let end = exec.now(lane);
            self.free_slot(end);
            match r {
                Ok(v) => {
                    exec.emit(
                        lane,
                        "MapIterationSucceeded",
                        Some(("mapIterationSucceededEventDetails", details)),
                    );
                    Ok(v)
                }
                Err(f) => {
                    exec.emit(
                        lane,
                        "MapIterationFailed",
                        Some(("mapIterationFailedEventDetails", details)),
                    );
                    Err(f)
                }
            }
        })
    }
}

impl Run<'_> {
    /// One attempt at a Map state.
    pub(super) async fn map(
        &self,
        at: Attempt<'_>,
        processor: &Machine,
        items_path: &JsonPath,
        selector: Option<&Value>,
        max_concurrency: usize,
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        let Attempt {
            state,
            raw,
            eff,
            ctx,
            ..
        } = at;
        let items = match payload::read_path(items_path, &eff, ctx, &state.name, "ItemsPath")? {
            Value::Array(a) => a,
            other => {
                return Err(Failure::runtime(format!(
                    "state '{}': ItemsPath '{}' must select an array, got {other}",
                    state.name, items_path.text
                )))
            }
        };
        let n = items.len();
        let started = ("mapStateStartedEventDetails", json!({"length": n}));
        let make = |parent: &Lane| Iterations {
            state,
            processor,
            selector,
            eff: &eff,
            ctx,
            sem: (max_concurrency > 0).then(|| Semaphore::new(max_concurrency)),
            slots: Mutex::new(
                (0..max_concurrency.min(n))
                    .map(|_| Reverse(parent.now))
                    .collect(),
            ),
        };
        let results = self
            .fork_join(
                &MAP,
                Some(started),
                items.into_iter().enumerate(),
                make,
                lane,
            )
            .await?;
        finish(state, raw, Value::Array(results), ctx, true)
    }
}
