//! The planted truth: weeks of history the analyst views must recover. Each named user of the
//! history has a time zone (their device's) and a preferred local hour their opens cluster
//! around; each campaign group has a true uplift of its treated channels' 12-hour open rate over
//! its held-out ones. The events occurred over the past [`History::days`] and arrive, like a
//! vendor backfill, within the profile's minutes, so a few windows load them all.
//!
//! Off by default ([`History::default`] plants nothing), so every other profile's traffic stays
//! byte for byte what it was.

use serde::Serialize;

use chrono::{LocalResult, TimeZone};

use super::{
    device, naive_utc, Ctx, Ev, Kind, Planner, Platform, Push, Zone, DAY, HOUR, MINUTE, SECOND,
};
use crate::rng::Rng;

/// How much history to plant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct History {
    /// How far back the history reaches (at most 60, the send-hour view's look-back).
    pub days: u32,
    /// Named users with 20 to 40 opens each.
    pub users: u32,
    /// Campaign groups, each one push sent to part of its channels and held out from the rest.
    pub groups: u32,
    /// Channels per group.
    pub channels_per_group: u32,
}

impl History {
    fn active(&self) -> bool {
        self.days >= 3 && (self.users > 0 || (self.groups > 0 && self.channels_per_group > 0))
    }
}

/// What was planted, for a test (or `pushfeed generate --truth FILE`) to hold the views to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlantedTruth {
    pub users: Vec<PlantedUser>,
    pub groups: Vec<PlantedGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlantedUser {
    pub named_user_id: String,
    pub iana_timezone: String,
    /// 0-23, in the user's zone.
    pub preferred_local_hour: u32,
    /// The opens planted (re-deliveries not counted).
    pub opens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlantedGroup {
    pub group_id: String,
    pub push_id: String,
    /// The chance that a held-out channel opens the app within 12 hours of its CONTROL.
    pub control_rate: f64,
    /// The same for a treated channel after its SEND: `control_rate + uplift`.
    pub treated_rate: f64,
    /// The true absolute uplift, which `push_holdout_uplift`'s interval should contain.
    pub uplift: f64,
    pub channels: u32,
}

const S_HISTORY_USERS: u64 = 101;
const S_HISTORY_GROUPS: u64 = 102;
const S_HISTORY_CHANNELS: u64 = 103;
/// History devices sit far above any pool (at most a million devices), so they never meet the
/// base traffic's.
const USER_DEVICES: u32 = 2_000_000_000;
const GROUP_DEVICES: u32 = 2_500_000_000;
const CHANNELS_PER_GROUP_MAX: u32 = 100_000;
const HELD_OUT_SHARE: f64 = 0.2;

/// When people like to open a retailer's app (weights per local hour).
const PREFERRED_HOURS: [(u32, u32); 16] = [
    (7, 8),
    (8, 10),
    (9, 4),
    (10, 3),
    (11, 3),
    (12, 9),
    (13, 6),
    (14, 2),
    (15, 2),
    (16, 3),
    (17, 6),
    (18, 9),
    (19, 12),
    (20, 14),
    (21, 10),
    (22, 5),
];

/// The history's users: their device index and truth (without the open count's draws).
fn users(seed: u64, h: &History) -> Vec<(u32, u32, &'static Zone, u32)> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut idx = USER_DEVICES;
    while out.len() < h.users.min(1_000_000) as usize {
        let d = device(seed, idx);
        idx += 1;
        let Some(n) = d.named_user else { continue };
        if d.platform == Platform::Web || !seen.insert(n) {
            continue;
        }
        let mut r = Rng::keyed(seed, S_HISTORY_USERS, u64::from(idx));
        let hour = r.pick(&PREFERRED_HOURS);
        out.push((idx - 1, n, d.zone, hour));
    }
    out
}

struct Group {
    push: Push,
    control_rate: f64,
    uplift: f64,
    /// When its sends and controls went out (UTC ms).
    at: i64,
}

fn groups(seed: u64, h: &History, start: i64) -> Vec<Group> {
    (0..h.groups.min(10_000))
        .map(|g| {
            let mut r = Rng::keyed(seed, S_HISTORY_GROUPS, u64::from(g));
            let group = r.uuid4();
            let id = r.uuid4();
            let control_rate = 0.10 + 0.25 * r.unit();
            let uplift = 0.02 + 0.10 * r.unit();
            let day = start.div_euclid(DAY) - 2 - r.below(u64::from(h.days.max(3) - 2)) as i64;
            let at = day * DAY + 9 * HOUR + r.below(10 * HOUR as u64) as i64;
            Group {
                push: Push {
                    id,
                    group: Some(group),
                    variants: 0,
                    categories: vec!["loyalty"],
                },
                control_rate,
                uplift,
                at,
            }
        })
        .collect()
}

/// The pushes the history's groups send, appended to the context's (after the base traffic's,
/// which keep their indices).
pub(super) fn pushes(p: &super::TrafficProfile) -> Vec<Push> {
    if !p.history.active() {
        return Vec::new();
    }
    groups(p.seed, &p.history, p.start_ms)
        .into_iter()
        .map(|g| g.push)
        .collect()
}

/// What [`super::generate`] plants for this profile.
pub fn planted_truth(p: &super::TrafficProfile) -> PlantedTruth {
    let h = &p.history;
    if !h.active() || p.minutes == 0 || p.rate_per_second.is_nan() || p.rate_per_second <= 0.0 {
        return PlantedTruth {
            users: Vec::new(),
            groups: Vec::new(),
        };
    }
    PlantedTruth {
        users: users(p.seed, h)
            .into_iter()
            .map(|(idx, n, zone, hour)| PlantedUser {
                named_user_id: format!("cust-{n:07}"),
                iana_timezone: zone.tz.name().to_string(),
                preferred_local_hour: hour,
                opens: open_count(p.seed, idx),
            })
            .collect(),
        groups: groups(p.seed, h, p.start_ms)
            .into_iter()
            .map(|g| PlantedGroup {
                group_id: super::uuid_string(g.push.group.expect("history groups have one")),
                push_id: super::uuid_string(g.push.id),
                control_rate: g.control_rate,
                treated_rate: g.control_rate + g.uplift,
                uplift: g.uplift,
                channels: h.channels_per_group.min(CHANNELS_PER_GROUP_MAX),
            })
            .collect(),
    }
}

fn open_count(seed: u64, idx: u32) -> u32 {
    20 + Rng::keyed(seed, S_HISTORY_USERS ^ 0xA5, u64::from(idx)).below(21) as u32
}

/// UTC ms of a local wall-clock time in `zone`. The hour the clocks go back happens twice: the
/// second one is taken, on standard time. The hour they skip is read on summer time, as if the
/// clocks had gone forward already.
fn utc_of_local(zone: &Zone, local_ms: i64) -> i64 {
    let at = |ms: i64| zone.tz.from_local_datetime(&naive_utc(ms));
    match at(local_ms) {
        LocalResult::Single(t) | LocalResult::Ambiguous(_, t) => t.timestamp_millis(),
        LocalResult::None => at(local_ms + HOUR)
            .earliest()
            .map_or(local_ms, |t| t.timestamp_millis() - HOUR),
    }
}

/// Plans the history's events, arriving in the profile's span.
pub(super) fn plan(planner: &mut Planner<'_>, p: &super::TrafficProfile) {
    let h = &p.history;
    let ctx: &Ctx = planner.ctx;
    if !h.active() {
        return;
    }
    let span = (ctx.end - ctx.start).max(1) as u64;
    let start_day = ctx.start.div_euclid(DAY);
    for (idx, _, zone, preferred) in users(ctx.seed, h) {
        let mut r = Rng::keyed(ctx.seed, S_HISTORY_USERS ^ 0x5A, u64::from(idx));
        for _ in 0..open_count(ctx.seed, idx) {
            let day = start_day - 2 - r.below(u64::from(h.days.min(60) - 2)) as i64;
            let x = r.unit();
            let hour = if x < 0.55 {
                preferred as i64
            } else if x < 0.7 {
                (preferred as i64 + 23) % 24
            } else if x < 0.85 {
                (preferred as i64 + 1) % 24
            } else {
                r.below(24) as i64
            };
            let local = day * DAY + hour * HOUR + r.below(HOUR as u64) as i64;
            let occurred = utc_of_local(zone, local);
            let ev = history_event(&mut r, Kind::Open, idx, 0, occurred, false);
            let arrival = ctx.start + r.below(span) as i64;
            planner.valid(&[ev], arrival, &mut r);
        }
    }
    let first_push = ctx.pushes.len() - h.groups.min(10_000) as usize;
    for (g, group) in groups(ctx.seed, h, ctx.start).iter().enumerate() {
        let push = (first_push + g) as u32;
        for c in 0..h.channels_per_group.min(CHANNELS_PER_GROUP_MAX) {
            let idx = GROUP_DEVICES + g as u32 * CHANNELS_PER_GROUP_MAX + c;
            if device(ctx.seed, idx).platform == Platform::Web {
                continue;
            }
            let mut r = Rng::keyed(ctx.seed, S_HISTORY_CHANNELS, u64::from(idx));
            let held_out = r.chance(HELD_OUT_SHARE);
            let t = group.at + r.below(MINUTE as u64) as i64;
            let (kind, rate) = if held_out {
                (Kind::Control, group.control_rate)
            } else {
                (Kind::Send, group.control_rate + group.uplift)
            };
            let ev = history_event(&mut r, kind, idx, push, t, false);
            planner.valid(&[ev], ctx.start + r.below(span) as i64, &mut r);
            if r.chance(rate) {
                // Within the 12 hours the view counts, most of them soon.
                let delay = 30 * SECOND + r.exp_ms(HOUR as f64, 11 * HOUR);
                let direct = !held_out && r.chance(0.6);
                let mut open = history_event(&mut r, Kind::Open, idx, push, t + delay, direct);
                open.pushed = t;
                planner.valid(&[open], ctx.start + r.below(span) as i64, &mut r);
            }
        }
    }
}

fn history_event(
    r: &mut Rng,
    kind: Kind,
    device: u32,
    push: u32,
    occurred: i64,
    direct: bool,
) -> Ev {
    let processed = occurred + 200 + r.below(3_000) as i64;
    Ev {
        id: r.uuid1(processed),
        occurred,
        processed,
        pushed: occurred - 5 * SECOND,
        seed: r.next_u64(),
        device,
        push,
        kind,
        direct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate, TrafficProfile, Truth};

    fn profile() -> TrafficProfile {
        TrafficProfile {
            minutes: 2,
            rate_per_second: 2.0,
            seed: 3,
            history: History {
                days: 28,
                users: 30,
                groups: 3,
                channels_per_group: 50,
            },
            ..TrafficProfile::default()
        }
    }

    #[test]
    fn the_history_is_planted_and_arrives_in_the_span() {
        let p = profile();
        let truth = planted_truth(&p);
        assert_eq!((truth.users.len(), truth.groups.len()), (30, 3));
        assert!(truth.users.iter().all(|u| (20..=40).contains(&u.opens)));
        assert!(truth
            .groups
            .iter()
            .all(|g| (g.treated_rate - g.control_rate - g.uplift).abs() < 1e-12));
        let records = generate(&p);
        let plain = generate(&TrafficProfile {
            history: History::default(),
            ..p.clone()
        });
        let events = |rs: &[crate::GeneratedRecord]| {
            rs.iter()
                .map(|r| match &r.truth {
                    Truth::Valid { events } => events.len(),
                    _ => 0,
                })
                .sum::<usize>()
        };
        let planted: u32 = truth.users.iter().map(|u| u.opens).sum();
        assert!(events(&records) >= events(&plain) + planted as usize + 3 * 40);
        let end = p.start_ms + 2 * MINUTE;
        assert!(records
            .iter()
            .all(|r| r.arrival_ms >= p.start_ms && r.arrival_ms < end));
        // Without history, the traffic is what it always was.
        assert_eq!(
            plain,
            generate(&TrafficProfile {
                history: History::default(),
                ..p
            })
        );
    }

    #[test]
    fn local_times_convert_across_the_clock_change() {
        let london = &crate::ZONES[0];
        let ms = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        // 2026-07-01 19:30 BST is 18:30Z; 2026-12-01 19:30 GMT is 19:30Z.
        let summer = ms("2026-07-01T19:30:00Z");
        assert_eq!(utc_of_local(london, summer), summer - HOUR);
        let winter = ms("2026-12-01T19:30:00Z");
        assert_eq!(utc_of_local(london, winter), winter);
        // 01:30 on 2026-10-25 happens twice (BST, then GMT): the second. 01:30 on 2026-03-29 never
        // happens: read on BST.
        let twice = ms("2026-10-25T01:30:00Z");
        assert_eq!(utc_of_local(london, twice), twice);
        let skipped = ms("2026-03-29T01:30:00Z");
        assert_eq!(utc_of_local(london, skipped), skipped - HOUR);
        let new_york = &crate::ZONES[4];
        let twice = ms("2026-11-01T01:30:00Z");
        assert_eq!(utc_of_local(new_york, twice), twice + 5 * HOUR);
        let skipped = ms("2026-03-08T02:30:00Z");
        assert_eq!(utc_of_local(new_york, skipped), skipped + 4 * HOUR);
    }
}
