//! Synthetic vendor traffic: Airship Real-Time Data Streaming events as they land in Kinesis,
//! each record labelled with the truth (valid, duplicate or malformed, and why) the pipeline must find.
//! pushfeed's CLI (`generate`, the demo), load generator, chaos runs, tests and benchmarks all feed
//! on it; it knows nothing of pushfeed.
//!
//! The stream is built in three passes. First every record is *planned* (arrival time, events, fault)
//! from a random generator keyed by (seed, stream, index), so a record's content does not depend on
//! how many random draws other records used. Then the plans are sorted by arrival. Last they are
//! *rendered* to bytes in arrival order, which is when the vendor's `offset` counter is handed out.
//!
//! Determinism does not lean on the platform's libm: the generator is SplitMix64 ([`rng`]), and the
//! one transcendental function needed (`ln`, for exponential delays) is computed here from
//! `+ - * /` only, which IEEE 754 rounds the same everywhere. Two dependencies can move bytes on an
//! upgrade: the deflate encoder, whose choice the gzip-compressed records are (what they decompress
//! to does not change), and chrono-tz's copy of the IANA time zone database, should a release
//! change a zone's rules for the profile's dates (the `locale_timezone` offsets and the history's
//! UTC times follow it).

use chrono::{DateTime, Datelike, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

mod history;
pub mod rng;

pub use history::{planted_truth, History, PlantedGroup, PlantedTruth, PlantedUser};
use rng::{mix64, Rng};

/// The event types the pipeline routes to tables by default.
pub const ROUTED_TYPES: [&str; 7] = [
    "SEND",
    "OPEN",
    "SEND_REJECTED",
    "SEND_ABORTED",
    "UNINSTALL",
    "CONTROL",
    "WEB_CLICK",
];

/// Every reason code a [`Truth::Malformed`] record can carry.
pub const MALFORMED_REASONS: [&str; 14] = [
    "not_utf8",
    "not_json",
    "not_object",
    "missing_field:id",
    "missing_field:type",
    "missing_field:occurred",
    "missing_field:processed",
    "wrong_type:id",
    "wrong_type:device",
    "wrong_type:body",
    "bad_timestamp:occurred",
    "missing_field:body.push_id",
    "wrong_type:body.variant_id",
    "empty",
];

/// Upper bound on the records drawn at the base rate (the campaign burst and re-deliveries come on
/// top). It keeps an absurd profile from exhausting memory instead of failing: each record costs
/// about a kilobyte.
pub const MAX_BASE_RECORDS: u64 = 5_000_000;

/// What traffic to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficProfile {
    /// Arrival time of the first minute (UTC epoch ms, a minute boundary).
    pub start_ms: i64,
    /// Arrival times spread over `[start_ms, start_ms + minutes * 60_000)`.
    pub minutes: u32,
    /// Mean events per second, before the campaign burst. Strictly it is records per second at
    /// the base rate: 1% of them hold 2-3 events, and malformed ones replace events.
    pub rate_per_second: f64,
    pub seed: u64,
    /// Probability that a record is malformed (clamped to 0..1).
    pub malformed: f64,
    /// Probability that a valid record is re-delivered later as a duplicate (clamped to 0..1).
    pub duplicates: f64,
    /// Unused: partition keys are channel ids, which spread over any number of shards.
    pub shards_hint: u32,
    /// Weeks of planted truth for the analyst views ([`History`]); none by default.
    pub history: History,
}

impl Default for TrafficProfile {
    fn default() -> Self {
        TrafficProfile {
            start_ms: 1_795_687_200_000, // 2026-11-26T10:00:00Z
            minutes: 5,
            rate_per_second: 20.0,
            seed: 1,
            malformed: 0.01,
            duplicates: 0.01,
            shards_hint: 4,
            history: History::default(),
        }
    }
}

/// One Kinesis record and what it really is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedRecord {
    pub partition_key: String,
    /// The record bytes exactly as the vendor (or a broken producer) wrote them.
    pub data: Vec<u8>,
    /// Kinesis ApproximateArrivalTimestamp; non-decreasing across the returned Vec.
    pub arrival_ms: i64,
    pub truth: Truth,
}

/// The ground truth for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    /// First delivery. Several events when the record is newline-delimited; may be gzip-compressed.
    Valid { events: Vec<ValidEvent> },
    /// A re-delivery of an earlier valid record: same `id`, `type`, `occurred`, `device`, `body`;
    /// only `offset` and `processed` differ.
    Duplicate { events: Vec<ValidEvent> },
    /// The record must be rejected with this reason (one of [`MALFORMED_REASONS`]).
    Malformed { reason: &'static str },
}

/// An event the pipeline must accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent {
    pub id: String,
    pub event_type: String,
}

// ---------------------------------------------------------------------------------------------
// Shape of the traffic. Shares are per event unless said otherwise.

/// Devices in the pool per event/s of base rate. It sets the size of the campaign burst: reaching
/// ~60% of the pool puts ~120 s worth of base traffic into ~20 s.
const DEVICES_PER_RATE: f64 = 200.0;
/// A burst needs enough devices to stand out even at a trickle of base traffic.
const MIN_DEVICES: u64 = 64;
const MAX_DEVICES: u64 = 1_000_000;
const MULTI_EVENT_SHARE: f64 = 0.01;
const GZIP_SHARE: f64 = 0.01;
const OFFSET_ABSENT_SHARE: f64 = 0.03;
const DIRECT_OPEN_SHARE: f64 = 0.6;
/// Share of the pool the campaign targets (before opted-out devices are skipped).
const BURST_REACH: f64 = 0.7;
const BURST_SPREAD_MS: u64 = 20_000;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

// Independent random streams, so that e.g. the device pool stays the same when the rate of
// malformed records changes.
const S_DEVICE: u64 = 1;
const S_PUSH: u64 = 2;
const S_BASE: u64 = 3;
const S_BURST: u64 = 4;
const S_RENDER: u64 = 5;
const S_SETUP: u64 = 6;
/// Mixed into an event's seed for the per-event device variations, so they do not correlate with
/// the body drawn from the same seed.
const DEVICE_VARIATION: u64 = 0xD1B5_4A32_D192_ED03;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Send,
    Open,
    SendRejected,
    SendAborted,
    Uninstall,
    Control,
    WebClick,
    Close,
    FirstOpen,
    Custom,
    TagChange,
    InAppDisplay,
    Location,
    ScreenViewed,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Send => "SEND",
            Kind::Open => "OPEN",
            Kind::SendRejected => "SEND_REJECTED",
            Kind::SendAborted => "SEND_ABORTED",
            Kind::Uninstall => "UNINSTALL",
            Kind::Control => "CONTROL",
            Kind::WebClick => "WEB_CLICK",
            Kind::Close => "CLOSE",
            Kind::FirstOpen => "FIRST_OPEN",
            Kind::Custom => "CUSTOM",
            Kind::TagChange => "TAG_CHANGE",
            Kind::InAppDisplay => "IN_APP_MESSAGE_DISPLAY",
            Kind::Location => "LOCATION",
            Kind::ScreenViewed => "SCREEN_VIEWED",
        }
    }

    /// Events a device reports itself: those are the ones it buffers while offline.
    fn device_reported(self) -> bool {
        !matches!(
            self,
            Kind::Send | Kind::SendRejected | Kind::SendAborted | Kind::Control
        )
    }

    /// Events only an installed app produces, never a browser.
    fn app_only(self) -> bool {
        matches!(
            self,
            Kind::Open
                | Kind::Uninstall
                | Kind::Close
                | Kind::FirstOpen
                | Kind::InAppDisplay
                | Kind::Location
                | Kind::ScreenViewed
        )
    }
}

const ROUTED_KINDS: [Kind; 7] = [
    Kind::Send,
    Kind::Open,
    Kind::SendRejected,
    Kind::SendAborted,
    Kind::Uninstall,
    Kind::Control,
    Kind::WebClick,
];

/// Base traffic mix (weights out of 950): SEND ~63%, OPEN ~9%, the rare routed types ~1-3% each,
/// unrouted ~18%. The burst adds SENDs and OPENs on top.
const BASE_MIX: [(Kind, u32); 14] = [
    (Kind::Send, 600),
    (Kind::Open, 85),
    (Kind::SendRejected, 30),
    (Kind::SendAborted, 10),
    (Kind::Uninstall, 10),
    (Kind::Control, 30),
    (Kind::WebClick, 10),
    (Kind::Close, 50),
    (Kind::FirstOpen, 5),
    (Kind::Custom, 40),
    (Kind::TagChange, 15),
    (Kind::InAppDisplay, 20),
    (Kind::Location, 15),
    (Kind::ScreenViewed, 30),
];

// ---------------------------------------------------------------------------------------------
// Time zones

struct Zone {
    tz: Tz,
    country: &'static str,
    langs: &'static [(&'static str, u32)],
    carriers: &'static [&'static str],
    weight: u32,
}

impl Zone {
    /// The UTC offset in seconds at the instant `ms`.
    fn offset_s(&self, ms: i64) -> i64 {
        let offset = self.tz.offset_from_utc_datetime(&naive_utc(ms));
        i64::from(offset.fix().local_minus_utc())
    }
}

/// The UTC date and time of epoch milliseconds `ms`; beyond chrono's range (some 262,000 years
/// either way, reached by absurd profiles only) the nearest one it can represent.
fn naive_utc(ms: i64) -> NaiveDateTime {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.naive_utc(),
        None if ms < 0 => NaiveDateTime::MIN,
        None => NaiveDateTime::MAX,
    }
}

// A UK retailer's app: mostly British devices, a few abroad.
const ZONES: [Zone; 6] = [
    Zone {
        tz: Tz::Europe__London,
        country: "GB",
        langs: &[("en", 96), ("pl", 2), ("cy", 1), ("ro", 1)],
        carriers: &[
            "EE",
            "Vodafone UK",
            "O2 - UK",
            "Three",
            "giffgaff",
            "Tesco Mobile",
            "Sky",
            "Lebara",
        ],
        weight: 880,
    },
    Zone {
        tz: Tz::Europe__Dublin,
        country: "IE",
        langs: &[("en", 95), ("ga", 5)],
        carriers: &["Vodafone IE", "Three IE", "eir"],
        weight: 40,
    },
    Zone {
        tz: Tz::Europe__Paris,
        country: "FR",
        langs: &[("fr", 90), ("en", 10)],
        carriers: &["Orange F", "SFR", "Bouygues Telecom", "Free"],
        weight: 30,
    },
    Zone {
        tz: Tz::Europe__Berlin,
        country: "DE",
        langs: &[("de", 85), ("en", 15)],
        carriers: &["Telekom.de", "Vodafone.de", "o2 - de"],
        weight: 20,
    },
    Zone {
        tz: Tz::America__New_York,
        country: "US",
        langs: &[("en", 90), ("es", 10)],
        carriers: &["T-Mobile", "Verizon", "AT&T"],
        weight: 20,
    },
    Zone {
        tz: Tz::Asia__Dubai,
        country: "AE",
        langs: &[("en", 70), ("ar", 30)],
        carriers: &["Etisalat", "du"],
        weight: 10,
    },
];

// ---------------------------------------------------------------------------------------------
// Devices: derived from (seed, index) on demand, so a pool of a million costs no memory.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Ios,
    Android,
    Amazon,
    Web,
}

impl Platform {
    fn name(self) -> &'static str {
        match self {
            Platform::Ios => "IOS",
            Platform::Android => "ANDROID",
            Platform::Amazon => "AMAZON",
            Platform::Web => "WEB",
        }
    }

    fn channel_key(self) -> Option<&'static str> {
        match self {
            Platform::Ios => Some("ios_channel"),
            Platform::Android => Some("android_channel"),
            Platform::Amazon => Some("amazon_channel"),
            Platform::Web => None,
        }
    }
}

const APP_VERSIONS: [(&str, u32); 5] = [
    ("8.14.0", 45),
    ("8.13.2", 25),
    ("8.12.1", 15),
    ("8.10.0", 10),
    ("7.31.4", 5),
];
const IOS_MODELS: [&str; 10] = [
    "iPhone17,3",
    "iPhone17,1",
    "iPhone16,2",
    "iPhone16,1",
    "iPhone15,4",
    "iPhone15,2",
    "iPhone14,7",
    "iPhone14,5",
    "iPhone13,2",
    "iPhone12,1",
];
const IOS_OS: [(&str, u32); 6] = [
    ("18.1", 30),
    ("18.1.1", 10),
    ("18.0.1", 15),
    ("17.6.1", 20),
    ("17.5.1", 10),
    ("16.7.10", 15),
];
const IOS_SDK: [&str; 3] = ["18.7.2", "18.5.0", "17.10.1"];
const ANDROID_MODELS: [&str; 10] = [
    "SM-S921B",
    "SM-S928B",
    "SM-A546B",
    "SM-A155F",
    "Pixel 8",
    "Pixel 7a",
    "Pixel 9 Pro",
    "moto g84 5G",
    "23124RA7EO",
    "CPH2581",
];
const ANDROID_OS: [(&str, u32); 5] = [("15", 20), ("14", 40), ("13", 20), ("12", 12), ("11", 8)];
const ANDROID_SDK: [&str; 3] = ["18.4.1", "18.1.6", "17.8.1"];
const AMAZON_MODELS: [&str; 4] = ["KFTRWI", "KFRAWI", "KFSNWI", "KFQUWI"];
const AMAZON_OS: [(&str, u32); 2] = [("11", 60), ("9", 40)];
const WEB_BROWSERS: [&str; 4] = ["Chrome", "Safari", "Firefox", "Edge"];
const WEB_OS: [(&str, u32); 4] = [
    ("Windows", 45),
    ("macOS", 35),
    ("Android", 15),
    ("Linux", 5),
];
const WEB_SDK: [&str; 2] = ["2.4.0", "2.3.1"];

#[derive(Clone, Copy)]
struct Device {
    channel: u128,
    contact: u128,
    platform: Platform,
    /// Older Android SDKs: only `android_channel`, no `channel` or `device_type`.
    legacy: bool,
    /// Whether this SDK repeats the channel under its platform key.
    platform_key: bool,
    named_user: Option<u32>,
    app_version: &'static str,
    os: &'static str,
    model: &'static str,
    sdk: &'static str,
    zone: &'static Zone,
    lang: &'static str,
    carrier: Option<&'static str>,
    opt_in: bool,
    bg_push: bool,
    location: bool,
}

fn platform_from(draw: u64, idx: u32) -> Platform {
    // Device 0 is always a browser, so a WEB_CLICK always has a device even in a tiny pool.
    if idx == 0 {
        return Platform::Web;
    }
    match draw % 1000 {
        0..=549 => Platform::Ios,
        550..=949 => Platform::Android,
        950..=979 => Platform::Amazon,
        _ => Platform::Web,
    }
}

fn device_platform(seed: u64, idx: u32) -> Platform {
    platform_from(Rng::keyed(seed, S_DEVICE, u64::from(idx)).next_u64(), idx)
}

fn device(seed: u64, idx: u32) -> Device {
    let mut r = Rng::keyed(seed, S_DEVICE, u64::from(idx));
    let platform = platform_from(r.next_u64(), idx);
    let channel = r.uuid4();
    let contact = r.uuid4();
    let legacy = platform == Platform::Android && r.chance(0.15);
    let platform_key = r.chance(0.5);
    let named_user = if r.chance(0.7) {
        Some(r.below(10_000_000) as u32)
    } else {
        None
    };
    let (model, os, sdk) = match platform {
        Platform::Ios => (r.one(&IOS_MODELS), r.pick(&IOS_OS), r.one(&IOS_SDK)),
        Platform::Android => (
            r.one(&ANDROID_MODELS),
            r.pick(&ANDROID_OS),
            r.one(&ANDROID_SDK),
        ),
        Platform::Amazon => (
            r.one(&AMAZON_MODELS),
            r.pick(&AMAZON_OS),
            r.one(&ANDROID_SDK),
        ),
        Platform::Web => (r.one(&WEB_BROWSERS), r.pick(&WEB_OS), r.one(&WEB_SDK)),
    };
    let app_version = r.pick(&APP_VERSIONS);
    let zone_weights: [(usize, u32); 6] = [
        (0, ZONES[0].weight),
        (1, ZONES[1].weight),
        (2, ZONES[2].weight),
        (3, ZONES[3].weight),
        (4, ZONES[4].weight),
        (5, ZONES[5].weight),
    ];
    let zone = &ZONES[r.pick(&zone_weights)];
    let lang = r.pick(zone.langs);
    let carrier = if platform == Platform::Web || r.chance(0.1) {
        None
    } else {
        Some(r.one(zone.carriers))
    };
    Device {
        channel,
        contact,
        platform,
        legacy,
        platform_key,
        named_user,
        app_version,
        os,
        model,
        sdk,
        zone,
        lang,
        carrier,
        opt_in: r.chance(0.85),
        bg_push: r.chance(0.9),
        location: r.chance(0.35),
    }
}

// ---------------------------------------------------------------------------------------------
// Pushes

const CATEGORIES: [&str; 12] = [
    "black-friday",
    "womens",
    "mens",
    "kids",
    "home",
    "beauty",
    "sale",
    "new-in",
    "back-in-stock",
    "price-drop",
    "order-update",
    "loyalty",
];

struct Push {
    id: u128,
    group: Option<u128>,
    /// Number of A/B variants; 0 means the push carries no `variant_id`.
    variants: u8,
    categories: Vec<&'static str>,
}

impl Push {
    /// A device always lands in the same variant of a push, in its SEND and in its OPEN.
    fn variant_for(&self, device: u32) -> Option<u64> {
        if self.variants == 0 {
            None
        } else {
            Some(1 + mix64(self.id as u64 ^ u64::from(device)) % u64::from(self.variants))
        }
    }
}

fn make_push(r: &mut Rng, groups: &[u128], force_group: bool) -> Push {
    let group = if force_group || r.chance(0.8) {
        Some(r.one(groups))
    } else {
        None
    };
    let variants = if r.chance(0.25) {
        2 + r.below(2) as u8
    } else {
        0
    };
    let mut categories = Vec::new();
    if r.chance(0.85) {
        for _ in 0..1 + r.below(3) {
            let c = r.one(&CATEGORIES);
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
    }
    Push {
        id: r.uuid4(),
        group,
        variants,
        categories,
    }
}

// ---------------------------------------------------------------------------------------------
// Planning

struct Ctx {
    seed: u64,
    start: i64,
    end: i64,
    pool: u32,
    pushes: Vec<Push>,
    /// Automation pushes are `pushes[..automation]`; the campaign push follows them.
    automation: u32,
    /// Indices of pushes with a group: CONTROL and WEB_CLICK need one.
    grouped: Vec<u32>,
    /// (campaign push index, first arrival of its SENDs)
    burst: Option<(u32, i64)>,
    malformed: f64,
    duplicates: f64,
}

/// One event as planned: everything its bytes are rendered from. A duplicate is a copy with
/// another `processed`, and renders the same device and body because those come from `seed`.
#[derive(Clone, Copy)]
struct Ev {
    id: u128,
    occurred: i64,
    processed: i64,
    /// When the associated push reached the device (OPEN's `time`).
    pushed: i64,
    seed: u64,
    device: u32,
    push: u32,
    kind: Kind,
    direct: bool,
}

#[derive(Clone, Copy)]
enum Form {
    Valid,
    Duplicate,
    Malformed { reason: u8, seed: u64 },
}

struct Plan {
    arrival: i64,
    first: u32,
    len: u8,
    gzip: bool,
    trailing_newline: bool,
    form: Form,
}

fn clamp_probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

impl Ctx {
    fn new(p: &TrafficProfile, rate: f64, end: i64) -> Ctx {
        let seed = p.seed;
        let pool = if rate > 0.0 {
            ((rate * DEVICES_PER_RATE).ceil() as u64).clamp(MIN_DEVICES, MAX_DEVICES) as u32
        } else {
            0
        };
        let mut r = Rng::keyed(seed, S_PUSH, 0);
        let automation = (6 + pool / 20_000).min(48);
        let groups: Vec<u128> = (0..automation / 2 + 1).map(|_| r.uuid4()).collect();
        let mut pushes: Vec<Push> = (0..automation)
            .map(|k| make_push(&mut r, &groups, k == 0))
            .collect();
        // The campaign: a fresh group, an A/B test, a seasonal category.
        let burst_minute = if p.minutes >= 2 { 1 } else { 0 };
        let burst_start = p
            .start_ms
            .saturating_add(burst_minute * MINUTE + 5 * SECOND + r.below(10_000) as i64);
        let burst = if pool > 0 && burst_start.saturating_add(BURST_SPREAD_MS as i64) < end {
            let campaign_group = r.uuid4();
            let mut campaign = make_push(&mut r, &[campaign_group], true);
            campaign.variants = 2;
            campaign.categories = vec!["black-friday", r.one(&CATEGORIES[1..6])];
            pushes.push(campaign);
            Some((automation, burst_start))
        } else {
            None
        };
        let grouped = (0..pushes.len() as u32)
            .filter(|&k| pushes[k as usize].group.is_some())
            .collect();
        // After `grouped`: the base traffic never picks the history's pushes.
        pushes.extend(history::pushes(p));
        Ctx {
            seed,
            start: p.start_ms,
            end,
            pool,
            pushes,
            automation,
            grouped,
            burst,
            malformed: clamp_probability(p.malformed),
            duplicates: clamp_probability(p.duplicates),
        }
    }

    fn pick_device(&self, r: &mut Rng, kind: Kind) -> u32 {
        let want_web = kind == Kind::WebClick;
        let mut d = 0;
        for _ in 0..64 {
            d = r.below(u64::from(self.pool)) as u32;
            let web = device_platform(self.seed, d) == Platform::Web;
            if web == want_web || (!want_web && !kind.app_only()) {
                return d;
            }
        }
        if want_web {
            0
        } else {
            d
        }
    }

    fn event(&self, r: &mut Rng, kind: Kind, arrival: i64) -> Ev {
        let device = self.pick_device(r, kind);
        let push = match kind {
            Kind::Control | Kind::WebClick => r.one(&self.grouped),
            _ => r.below(u64::from(self.automation)) as u32,
        };
        let (processed, occurred) = event_times(r, arrival, kind.device_reported());
        let pushed = occurred.saturating_sub(5 * SECOND + r.below(6 * HOUR as u64) as i64);
        let direct = r.chance(DIRECT_OPEN_SHARE);
        Ev {
            id: r.uuid1(processed),
            occurred,
            processed,
            pushed,
            seed: r.next_u64(),
            device,
            push,
            kind,
            direct,
        }
    }

    fn campaign_event(
        &self,
        r: &mut Rng,
        kind: Kind,
        device: u32,
        arrival: i64,
        pushed: i64,
    ) -> Ev {
        let (push, _) = self.burst.unwrap_or((0, 0));
        let (processed, occurred) = event_times(r, arrival, kind.device_reported());
        let direct = r.chance(DIRECT_OPEN_SHARE);
        Ev {
            id: r.uuid1(processed),
            occurred,
            processed,
            pushed,
            seed: r.next_u64(),
            device,
            push,
            kind,
            direct,
        }
    }
}

/// (processed, occurred) for an event arriving at `arrival`.
fn event_times(r: &mut Rng, arrival: i64, device_reported: bool) -> (i64, i64) {
    // The vendor batches its writes to Kinesis; now and then it falls behind.
    let ingest_lag = if r.chance(0.01) {
        2 * SECOND + r.below(28_000) as i64
    } else {
        80 + r.exp_ms(350.0, 5_000)
    };
    let processed = arrival.saturating_sub(ingest_lag);
    // Devices buffer offline for hours or days; the server-side types only on a vendor replay.
    let offline = if device_reported { 0.06 } else { 0.005 };
    let x = r.unit();
    let back = if x < offline {
        let u = r.unit();
        HOUR + ((7 * DAY - HOUR) as f64 * u * u * u) as i64
    } else if device_reported && x < offline + 0.005 {
        // A device clock running fast; the vendor clamps to a few minutes ahead.
        -(SECOND + r.below(119_000) as i64)
    } else if x < offline + 0.025 {
        // SDK retries after a flaky connection.
        5 * SECOND + r.below(595_000) as i64
    } else {
        30 + r.exp_ms(250.0, 3_000)
    };
    (processed, processed.saturating_sub(back))
}

struct Planner<'a> {
    ctx: &'a Ctx,
    events: Vec<Ev>,
    plans: Vec<Plan>,
}

impl Planner<'_> {
    /// Base record `i`: a uniform arrival in the span (so the base stream is a Poisson process).
    fn base(&mut self, i: u64) {
        let ctx = self.ctx;
        let mut r = Rng::keyed(ctx.seed, S_BASE, i);
        let span = (ctx.end - ctx.start) as u64;
        let arrival = ctx.start + r.below(span) as i64;
        // The first records carry one of each routed type, so every type is present in any window
        // with more than a handful of events; they are never corrupted, for the same reason.
        let forced = ROUTED_KINDS.get(i as usize).copied();
        let kind = match forced {
            Some(k) => k,
            None => r.pick(&BASE_MIX),
        };
        let ev = ctx.event(&mut r, kind, arrival);
        if forced.is_none() && self.corrupt(ev, arrival, &mut r) {
            return;
        }
        let mut evs = [ev; 3];
        let mut n = 1;
        if r.chance(MULTI_EVENT_SHARE) {
            n = 2 + r.index(2);
            for slot in evs.iter_mut().take(n).skip(1) {
                let kind = r.pick(&BASE_MIX);
                *slot = ctx.event(&mut r, kind, arrival);
            }
        }
        self.valid(&evs[..n], arrival, &mut r);
    }

    /// The campaign as seen from device `d`: maybe a SEND (or a holdout, rejection or abort),
    /// then maybe an OPEN or WEB_CLICK trailing it.
    fn campaign(&mut self, d: u32) {
        let ctx = self.ctx;
        let Some((_, burst_start)) = ctx.burst else {
            return;
        };
        let mut r = Rng::keyed(ctx.seed, S_BURST, u64::from(d));
        if !r.chance(BURST_REACH) {
            return;
        }
        let dev = device(ctx.seed, d);
        if !dev.opt_in {
            return;
        }
        // Front-loaded: the vendor's fan-out is fastest at the start.
        let u = r.unit();
        let arrival = burst_start + ((0.5 * u + 0.5 * u * u) * BURST_SPREAD_MS as f64) as i64;
        let x = r.unit();
        let kind = if x < 0.04 {
            Kind::Control
        } else if x < 0.065 {
            Kind::SendRejected
        } else if x < 0.07 {
            Kind::SendAborted
        } else {
            Kind::Send
        };
        let send = ctx.campaign_event(&mut r, kind, d, arrival, burst_start);
        if !self.corrupt(send, arrival, &mut r) {
            self.valid(&[send], arrival, &mut r);
        }
        if kind != Kind::Send {
            return;
        }
        let (kind, delay, direct) = if dev.platform == Platform::Web {
            if !r.chance(0.06) {
                return;
            }
            (
                Kind::WebClick,
                2 * SECOND + r.exp_ms(60_000.0, 30 * MINUTE),
                true,
            )
        } else {
            // A seasonal campaign to engaged customers: ~10% tap it, ~6% more open the app soon.
            if !r.chance(0.16) {
                return;
            }
            if r.chance(DIRECT_OPEN_SHARE) {
                (
                    Kind::Open,
                    2 * SECOND + r.exp_ms(50_000.0, 30 * MINUTE),
                    true,
                )
            } else {
                (
                    Kind::Open,
                    15 * SECOND + r.exp_ms(150_000.0, 60 * MINUTE),
                    false,
                )
            }
        };
        let arrival = arrival.saturating_add(delay);
        if arrival >= ctx.end {
            return;
        }
        let mut ev = ctx.campaign_event(&mut r, kind, d, arrival, send.occurred);
        ev.direct = direct;
        if !self.corrupt(ev, arrival, &mut r) {
            self.valid(&[ev], arrival, &mut r);
        }
    }

    /// With the profile's probability, plans the event as a malformed record instead.
    fn corrupt(&mut self, mut ev: Ev, arrival: i64, r: &mut Rng) -> bool {
        if !r.chance(self.ctx.malformed) {
            return false;
        }
        let reason = r.below(MALFORMED_REASONS.len() as u64) as u8;
        if matches!(
            MALFORMED_REASONS[reason as usize],
            "missing_field:body.push_id" | "wrong_type:body.variant_id"
        ) {
            ev.kind = Kind::Send;
        }
        let seed = r.next_u64();
        self.push(
            arrival,
            &[ev],
            false,
            false,
            Form::Malformed { reason, seed },
        );
        true
    }

    fn valid(&mut self, evs: &[Ev], arrival: i64, r: &mut Rng) {
        let gzip = r.chance(GZIP_SHARE);
        // An NDJSON writer usually ends its last line too.
        let trailing_newline = evs.len() > 1 && r.chance(0.5);
        self.push(arrival, evs, gzip, trailing_newline, Form::Valid);
        if !r.chance(self.ctx.duplicates) {
            return;
        }
        // Re-delivered seconds to a minute later; squeezed in at the end of the span rather than
        // dropped, so the duplicate rate holds for short profiles.
        let room = (self.ctx.end - 1 - arrival).max(0) as u64;
        let delay = if room >= 1_000 {
            1_000 + r.below(room.min(60_000) - 1_000 + 1)
        } else {
            r.below(room + 1)
        };
        let again = arrival + delay as i64;
        let mut copies = [evs[0]; 3];
        for (copy, ev) in copies.iter_mut().zip(evs) {
            *copy = *ev;
            // The vendor processes the re-delivery after the first delivery, never at the same ms.
            let processed = again.saturating_sub(80 + r.exp_ms(350.0, 5_000));
            copy.processed = processed.max(ev.processed.saturating_add(1));
        }
        self.push(
            again,
            &copies[..evs.len()],
            gzip,
            trailing_newline,
            Form::Duplicate,
        );
    }

    fn push(&mut self, arrival: i64, evs: &[Ev], gzip: bool, trailing_newline: bool, form: Form) {
        self.plans.push(Plan {
            arrival,
            first: self.events.len() as u32,
            len: evs.len() as u8,
            gzip,
            trailing_newline,
            form,
        });
        self.events.extend_from_slice(evs);
    }
}

/// Generates the traffic of `profile`, sorted by arrival. The same profile gives the same bytes.
pub fn generate(profile: &TrafficProfile) -> Vec<GeneratedRecord> {
    let rate = if profile.rate_per_second.is_nan() || profile.rate_per_second <= 0.0 {
        0.0
    } else {
        profile.rate_per_second.min(1e9)
    };
    let end = profile
        .start_ms
        .saturating_add(i64::from(profile.minutes) * MINUTE);
    if rate == 0.0 || end <= profile.start_ms {
        return Vec::new();
    }
    let ctx = Ctx::new(profile, rate, end);

    // An exact count with the fractional part drawn, so the mean rate is exactly the profile's.
    let expected = rate * (end - profile.start_ms) as f64 / 1000.0;
    let whole = expected.floor();
    let mut r = Rng::keyed(ctx.seed, S_SETUP, 0);
    let base = (whole as u64 + u64::from(r.chance(expected - whole))).min(MAX_BASE_RECORDS);

    let mut planner = Planner {
        ctx: &ctx,
        events: Vec::with_capacity(base as usize + base as usize / 50),
        plans: Vec::with_capacity(base as usize + base as usize / 50),
    };
    for i in 0..base {
        planner.base(i);
    }
    for d in 0..ctx.pool {
        planner.campaign(d);
    }
    history::plan(&mut planner, profile);
    let Planner {
        events, mut plans, ..
    } = planner;
    // Stable: records arriving in the same millisecond keep their planning order, so a duplicate
    // never precedes its original.
    plans.sort_by_key(|p| p.arrival);
    render(&ctx, &plans, &events)
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The one defect a malformed event is rendered with; each maps to exactly one reason code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    OmitId,
    OmitType,
    OmitOccurred,
    OmitProcessed,
    IdNumber,
    DeviceString,
    BodyArray,
    BadOccurred(&'static str),
    SendWithoutPushId,
    VariantString,
    Latin1,
}

fn render(ctx: &Ctx, plans: &[Plan], events: &[Ev]) -> Vec<GeneratedRecord> {
    let mut r = Rng::keyed(ctx.seed, S_RENDER, 0);
    // The vendor's stream position: increasing, with gaps where other apps' events interleave.
    let mut offset = 1_000_000_000 + r.below(1_000_000_000);
    let mut next_offset = |r: &mut Rng| {
        offset += 1 + r.below(4);
        if r.chance(OFFSET_ABSENT_SHARE) {
            None
        } else {
            Some(offset)
        }
    };
    let mut out = Vec::with_capacity(plans.len());
    let mut gzip = Gzip::new();
    let mut scratch = Vec::with_capacity(4096);
    for plan in plans {
        let evs = &events[plan.first as usize..plan.first as usize + plan.len as usize];
        let partition_key = uuid_string(device(ctx.seed, evs[0].device).channel);
        let (data, truth) = match plan.form {
            Form::Valid | Form::Duplicate => {
                // Rendered into a reused buffer, then copied at its exact size: a generous
                // capacity per record would cost more memory than the copy costs time.
                scratch.clear();
                for (k, ev) in evs.iter().enumerate() {
                    if k > 0 {
                        scratch.push(b'\n');
                    }
                    render_event(&mut scratch, ctx, ev, next_offset(&mut r), Defect::None);
                }
                if plan.trailing_newline {
                    scratch.push(b'\n');
                }
                let data = if plan.gzip {
                    gzip.pack(&scratch)
                } else {
                    scratch.clone()
                };
                let events = evs
                    .iter()
                    .map(|ev| ValidEvent {
                        id: uuid_string(ev.id),
                        event_type: ev.kind.name().to_string(),
                    })
                    .collect();
                let truth = match plan.form {
                    Form::Duplicate => Truth::Duplicate { events },
                    _ => Truth::Valid { events },
                };
                (data, truth)
            }
            Form::Malformed { reason, seed } => {
                let data = malformed(ctx, &evs[0], next_offset(&mut r), reason, seed);
                let reason = MALFORMED_REASONS[reason as usize];
                (data, Truth::Malformed { reason })
            }
        };
        out.push(GeneratedRecord {
            partition_key,
            data,
            arrival_ms: plan.arrival,
            truth,
        });
    }
    out
}

/// Gzip with one reused deflate state: building a fresh encoder per record zeroes a few hundred
/// kilobytes of tables each time, which dominated the run time.
struct Gzip {
    deflate: Compress,
}

impl Gzip {
    fn new() -> Gzip {
        Gzip {
            deflate: Compress::new(Compression::default(), false),
        }
    }

    /// The whole record as one gzip member (RFC 1952: no name, mtime 0, OS unknown). Should deflate
    /// fail, the plain record is returned: its label is still true.
    fn pack(&mut self, plain: &[u8]) -> Vec<u8> {
        self.deflate.reset();
        let mut out = Vec::with_capacity(plain.len() / 2 + 64);
        out.extend_from_slice(&[0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]);
        let mut done = false;
        for _ in 0..64 {
            if out.capacity() - out.len() < 256 {
                out.reserve(plain.len() / 2 + 256);
            }
            let consumed = self.deflate.total_in() as usize;
            match self
                .deflate
                .compress_vec(&plain[consumed..], &mut out, FlushCompress::Finish)
            {
                Ok(Status::StreamEnd) => {
                    done = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if !done {
            return plain.to_vec();
        }
        let mut crc = Crc::new();
        crc.update(plain);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(plain.len() as u32).to_le_bytes());
        out
    }
}

fn malformed(ctx: &Ctx, ev: &Ev, offset: Option<u64>, reason: u8, seed: u64) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let with = |defect: Defect| {
        let mut v = Vec::with_capacity(1024);
        render_event(&mut v, ctx, ev, offset, defect);
        v
    };
    match MALFORMED_REASONS[reason as usize] {
        "not_utf8" => match r.below(3) {
            // A producer that wrote Latin-1.
            0 => with(Defect::Latin1),
            // A producer that wrote UTF-16LE with a byte-order mark.
            1 => {
                let text = with(Defect::None);
                let mut v = Vec::with_capacity(2 * text.len() + 2);
                v.extend_from_slice(&[0xFF, 0xFE]);
                for b in text {
                    v.extend_from_slice(&[b, 0]);
                }
                v
            }
            // Binary junk; 0xFF never occurs in UTF-8, and it is not the gzip magic.
            _ => {
                let mut v = vec![0xFF];
                for _ in 0..24 + r.below(40) {
                    v.push(r.next_u64() as u8);
                }
                v
            }
        },
        "not_json" => {
            if r.chance(0.8) {
                // Truncated: any proper prefix of an object is incomplete JSON.
                let mut v = with(Defect::None);
                let keep = v.len() / 3 + r.index(v.len() - v.len() / 3);
                v.truncate(keep);
                v
            } else {
                r.one(&[
                    &b"Internal Server Error"[..],
                    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                    b"id=9c1e3f80&type=SEND",
                ])
                .to_vec()
            }
        }
        "not_object" => match r.below(5) {
            0 | 1 => {
                let mut v = vec![b'['];
                v.extend_from_slice(&with(Defect::None));
                v.push(b']');
                v
            }
            2 => {
                let mut v = Vec::new();
                put_json(&mut v, &ev.processed.unsigned_abs());
                v
            }
            3 => b"\"SEND\"".to_vec(),
            _ => b"null".to_vec(),
        },
        "missing_field:id" => with(Defect::OmitId),
        "missing_field:type" => with(Defect::OmitType),
        "missing_field:occurred" => with(Defect::OmitOccurred),
        "missing_field:processed" => with(Defect::OmitProcessed),
        "wrong_type:id" => with(Defect::IdNumber),
        "wrong_type:device" => with(Defect::DeviceString),
        "wrong_type:body" => with(Defect::BodyArray),
        "bad_timestamp:occurred" => with(Defect::BadOccurred(r.one(&[
            "yesterday",
            "2026-13-45T99:00:00Z",
            "2026-02-30T10:00:00.000Z",
            "2026-11-26T25:61:00.000Z",
            "26/11/2026 10:00:58",
            "1764151258120",
            "not-a-date",
        ]))),
        "missing_field:body.push_id" => with(Defect::SendWithoutPushId),
        "wrong_type:body.variant_id" => with(Defect::VariantString),
        _ => Vec::new(), // "empty"
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_uuid(out: &mut Vec<u8>, u: u128) {
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push(b'-');
        }
        out.push(HEX[((u >> (124 - 4 * i)) & 0xF) as usize]);
    }
}

fn uuid_string(u: u128) -> String {
    let mut v = Vec::with_capacity(36);
    put_uuid(&mut v, u);
    String::from_utf8(v).unwrap_or_default()
}

/// A number or a string as serde_json writes it: the valid JSON of every record, the broken
/// records' pieces that are valid JSON too. Their defects (Latin-1, UTF-16, truncation, wrong
/// types) are made around it, by hand.
fn put_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("a string or a number serializes into a Vec");
}

fn put_digits(out: &mut Vec<u8>, n: i64, width: u32) {
    for k in (0..width).rev() {
        out.push(b'0' + ((n / 10i64.pow(k)) % 10) as u8);
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, without quotes.
fn put_iso(out: &mut Vec<u8>, ms: i64) {
    let t = naive_utc(ms);
    let y = i64::from(t.year());
    if (0..=9999).contains(&y) {
        put_digits(out, y, 4);
    } else {
        put_json(out, &y); // only for absurd profiles; never panics
    }
    let two = |out: &mut Vec<u8>, sep: u8, n: u32| {
        out.push(sep);
        put_digits(out, i64::from(n), 2);
    };
    two(out, b'-', t.month());
    two(out, b'-', t.day());
    two(out, b'T', t.hour());
    two(out, b':', t.minute());
    two(out, b':', t.second());
    out.push(b'.');
    put_digits(out, ms.rem_euclid(SECOND), 3);
    out.push(b'Z');
}

/// Writes `,"k":` (or `"k":` for the first member of an object).
fn key(out: &mut Vec<u8>, first: &mut bool, k: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    put_json(out, k);
    out.push(b':');
}

fn put_uuid_str(out: &mut Vec<u8>, u: u128) {
    out.push(b'"');
    put_uuid(out, u);
    out.push(b'"');
}

fn put_iso_str(out: &mut Vec<u8>, ms: i64) {
    out.push(b'"');
    put_iso(out, ms);
    out.push(b'"');
}

fn put_named_user(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(b"\"cust-");
    put_digits(out, i64::from(n), 7);
    out.push(b'"');
}

fn put_attr(out: &mut Vec<u8>, first: &mut bool, k: &str, v: &str) {
    key(out, first, k);
    put_json(out, v);
}

fn put_flag(out: &mut Vec<u8>, first: &mut bool, k: &str, v: bool) {
    put_attr(out, first, k, if v { "true" } else { "false" });
}

fn render_event(out: &mut Vec<u8>, ctx: &Ctx, ev: &Ev, offset: Option<u64>, defect: Defect) {
    let dev = device(ctx.seed, ev.device);
    let mut dr = Rng::new(ev.seed ^ DEVICE_VARIATION);
    let mut first = true;
    out.push(b'{');
    if defect != Defect::OmitId {
        key(out, &mut first, "id");
        if defect == Defect::IdNumber {
            put_json(out, &((ev.id as u64) % 10_000_000_000_000));
        } else {
            put_uuid_str(out, ev.id);
        }
    }
    if let Some(o) = offset {
        key(out, &mut first, "offset");
        out.push(b'"');
        put_json(out, &o);
        out.push(b'"');
    }
    if defect != Defect::OmitOccurred {
        key(out, &mut first, "occurred");
        match defect {
            Defect::BadOccurred(s) => put_json(out, s),
            _ => put_iso_str(out, ev.occurred),
        }
    }
    if defect != Defect::OmitProcessed {
        key(out, &mut first, "processed");
        put_iso_str(out, ev.processed);
    }
    if defect != Defect::OmitType {
        key(out, &mut first, "type");
        put_json(out, ev.kind.name());
    }
    key(out, &mut first, "device");
    if defect == Defect::DeviceString {
        put_uuid_str(out, dev.channel);
    } else {
        put_device(out, &dev, &mut dr, ev.occurred);
    }
    if let Some(n) = dev.named_user {
        // The newer `user` object, from SDKs with contacts.
        if dr.chance(0.25) {
            key(out, &mut first, "user");
            out.extend_from_slice(b"{\"contact_id\":");
            put_uuid_str(out, dev.contact);
            out.extend_from_slice(b",\"named_user_id\":");
            put_named_user(out, n);
            out.push(b'}');
        }
    }
    key(out, &mut first, "body");
    if defect == Defect::BodyArray {
        out.push(b'[');
    }
    put_body(out, ctx, ev, &dev, defect);
    if defect == Defect::BodyArray {
        out.push(b']');
    }
    out.push(b'}');
}

fn put_device(out: &mut Vec<u8>, dev: &Device, dr: &mut Rng, at: i64) {
    let mut first = true;
    out.push(b'{');
    if dev.legacy {
        key(out, &mut first, "android_channel");
        put_uuid_str(out, dev.channel);
    } else {
        key(out, &mut first, "channel");
        put_uuid_str(out, dev.channel);
        put_attr(out, &mut first, "device_type", dev.platform.name());
        if let (true, Some(k)) = (dev.platform_key, dev.platform.channel_key()) {
            key(out, &mut first, k);
            put_uuid_str(out, dev.channel);
        }
    }
    if let Some(n) = dev.named_user {
        key(out, &mut first, "named_user_id");
        put_named_user(out, n);
    }
    // A few events come without the attribute snapshot.
    if dr.chance(0.93) {
        key(out, &mut first, "attributes");
        let mut a = true;
        out.push(b'{');
        put_attr(out, &mut a, "app_version", dev.app_version);
        let web = dev.platform == Platform::Web;
        if !web {
            put_flag(out, &mut a, "background_push_enabled", dev.bg_push);
        }
        if let Some(c) = dev.carrier {
            put_attr(out, &mut a, "carrier", c);
        }
        if !web {
            let connection = if dr.chance(0.65) { "wifi" } else { "cell" };
            put_attr(out, &mut a, "connection_type", connection);
        }
        put_attr(out, &mut a, "device_model", dev.model);
        put_attr(out, &mut a, "device_os", dev.os);
        put_attr(out, &mut a, "iana_timezone", dev.zone.tz.name());
        put_attr(out, &mut a, "locale_country_code", dev.zone.country);
        put_attr(out, &mut a, "locale_language_code", dev.lang);
        key(out, &mut a, "locale_timezone");
        out.push(b'"');
        put_json(out, &dev.zone.offset_s(at));
        out.push(b'"');
        put_flag(out, &mut a, "location_enabled", dev.location);
        put_flag(out, &mut a, "push_opt_in", dev.opt_in);
        put_attr(out, &mut a, "ua_sdk_version", dev.sdk);
        out.push(b'}');
    }
    out.push(b'}');
}

fn put_push_ref(out: &mut Vec<u8>, push: &Push, variant: Option<u64>, time: i64) {
    let mut first = true;
    out.push(b'{');
    key(out, &mut first, "push_id");
    put_uuid_str(out, push.id);
    if let Some(g) = push.group {
        key(out, &mut first, "group_id");
        put_uuid_str(out, g);
    }
    if let Some(v) = variant {
        key(out, &mut first, "variant_id");
        put_json(out, &v);
    }
    key(out, &mut first, "time");
    put_iso_str(out, time);
    if !push.categories.is_empty() {
        out.extend_from_slice(b",\"campaigns\":{\"categories\":[");
        for (k, c) in push.categories.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            put_json(out, c);
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b'}');
}

fn put_push_ids(out: &mut Vec<u8>, first: &mut bool, push: &Push, variant: Option<u64>) {
    key(out, first, "push_id");
    put_uuid_str(out, push.id);
    if let Some(g) = push.group {
        key(out, first, "group_id");
        put_uuid_str(out, g);
    }
    if let Some(v) = variant {
        key(out, first, "variant_id");
        put_json(out, &v);
    }
}

const SCREENS: [&str; 8] = [
    "home",
    "product_list",
    "product_detail",
    "basket",
    "checkout",
    "order_confirmation",
    "search",
    "account",
];
const TAGS: [&str; 8] = [
    "newsletter",
    "bf_optin",
    "loyalty_gold",
    "loyalty_silver",
    "app_rated",
    "womens",
    "mens",
    "home",
];
/// (latitude, longitude) in 1e-5 degrees.
const CITIES: [(i64, i64); 6] = [
    (5_150_735, -12_776),
    (5_348_076, -224_263),
    (5_248_624, -189_040),
    (5_380_076, -154_907),
    (5_586_424, -425_181),
    (5_145_451, -258_791),
];
const CUSTOM_EVENTS: [(&str, u32); 7] = [
    ("product_viewed", 30),
    ("add_to_cart", 25),
    ("purchase", 15),
    ("wishlist_add", 10),
    ("email_open", 10),
    ("email_click", 5),
    ("sms_click", 5),
];

fn put_fixed5(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let a = v.unsigned_abs();
    put_json(out, &(a / 100_000));
    out.push(b'.');
    put_digits(out, (a % 100_000) as i64, 5);
}

fn put_body(out: &mut Vec<u8>, ctx: &Ctx, ev: &Ev, dev: &Device, defect: Defect) {
    let mut b = Rng::new(ev.seed);
    let push = &ctx.pushes[ev.push as usize];
    let variant = push.variant_for(ev.device);
    let mut first = true;
    out.push(b'{');
    if defect == Defect::Latin1 {
        key(out, &mut first, "campaign_name");
        // Latin-1 bytes, which no JSON writer emits: the producer this defect stands for had one
        // of its own.
        out.extend_from_slice(b"\"R\xe9ductions d'\xe9t\xe9\"");
    }
    match ev.kind {
        Kind::Send => {
            if defect != Defect::SendWithoutPushId {
                key(out, &mut first, "push_id");
                put_uuid_str(out, push.id);
            }
            if let Some(g) = push.group {
                key(out, &mut first, "group_id");
                put_uuid_str(out, g);
            }
            if defect == Defect::VariantString {
                key(out, &mut first, "variant_id");
                out.extend_from_slice(b"\"2\"");
            } else if let Some(v) = variant {
                key(out, &mut first, "variant_id");
                put_json(out, &v);
            }
            key(out, &mut first, "alerting");
            out.extend_from_slice(if dev.opt_in { b"true" } else { b"false" });
        }
        Kind::Open => {
            key(out, &mut first, "session_id");
            put_uuid_str(out, b.uuid4());
            if ev.direct {
                key(out, &mut first, "triggering_push");
                put_push_ref(out, push, variant, ev.pushed);
            }
            // A direct open usually names the same push as the last one delivered.
            if !ev.direct || b.chance(0.3) {
                key(out, &mut first, "last_delivered");
                put_push_ref(out, push, variant, ev.pushed);
            }
        }
        Kind::SendRejected => {
            put_push_ids(out, &mut first, push, None);
            let reason = match dev.platform {
                Platform::Ios => b.pick(&[
                    ("Unregistered", 60),
                    ("BadDeviceToken", 30),
                    ("DeviceTokenNotForTopic", 10),
                ]),
                Platform::Web => b.pick(&[("Unregistered", 70), ("ExpiredSubscription", 30)]),
                _ => b.pick(&[
                    ("Unregistered", 50),
                    ("NotRegistered", 25),
                    ("InvalidRegistration", 15),
                    ("MismatchSenderId", 10),
                ]),
            };
            put_attr(out, &mut first, "reason", reason);
        }
        Kind::SendAborted => {
            put_push_ids(out, &mut first, push, variant);
            let reason = b.pick(&[
                ("FEED_RESOLVE_FAILURE", 50),
                ("FEED_REQUEST_REJECTED", 30),
                ("UNKNOWN", 20),
            ]);
            put_attr(out, &mut first, "reason", reason);
        }
        Kind::Uninstall => {}
        Kind::Control => put_push_ids(out, &mut first, push, None),
        Kind::WebClick => put_push_ids(out, &mut first, push, variant),
        Kind::Close | Kind::FirstOpen => {
            key(out, &mut first, "session_id");
            put_uuid_str(out, b.uuid4());
        }
        Kind::Custom => {
            let name = b.pick(&CUSTOM_EVENTS);
            put_attr(out, &mut first, "name", name);
            if matches!(name, "purchase" | "add_to_cart") {
                let cents = 500 + b.below(25_000);
                key(out, &mut first, "value");
                put_json(out, &(cents / 100));
                out.push(b'.');
                put_digits(out, (cents % 100) as i64, 2);
            }
            if name == "purchase" {
                key(out, &mut first, "transaction");
                out.extend_from_slice(b"\"ord-");
                put_digits(out, b.below(100_000_000) as i64, 8);
                out.push(b'"');
            }
            if name.starts_with("email") || name.starts_with("sms") {
                let channel = if name.starts_with("email") {
                    "email"
                } else {
                    "sms"
                };
                put_attr(out, &mut first, "interaction_type", channel);
                key(out, &mut first, "interaction_id");
                put_uuid_str(out, b.uuid4());
            } else {
                key(out, &mut first, "session_id");
                put_uuid_str(out, b.uuid4());
                key(out, &mut first, "properties");
                let mut p = true;
                out.push(b'{');
                key(out, &mut p, "sku");
                out.extend_from_slice(b"\"SKU-");
                put_digits(out, b.below(1_000_000) as i64, 6);
                out.push(b'"');
                put_attr(out, &mut p, "category", b.one(&CATEGORIES[1..8]));
                put_attr(out, &mut p, "currency", "GBP");
                out.push(b'}');
            }
        }
        Kind::TagChange => {
            let added = b.one(&TAGS);
            let kept = b.one(&TAGS);
            key(out, &mut first, "add");
            out.extend_from_slice(b"{\"device\":[");
            put_json(out, added);
            out.extend_from_slice(b"]}");
            key(out, &mut first, "remove");
            out.extend_from_slice(b"{}");
            key(out, &mut first, "current");
            out.extend_from_slice(b"{\"device\":[");
            put_json(out, added);
            if kept != added {
                out.push(b',');
                put_json(out, kept);
            }
            out.extend_from_slice(b"]}");
        }
        Kind::InAppDisplay => {
            put_push_ids(out, &mut first, push, None);
            key(out, &mut first, "session_id");
            put_uuid_str(out, b.uuid4());
        }
        Kind::Location => {
            let (lat, lon) = b.one(&CITIES);
            key(out, &mut first, "latitude");
            out.push(b'"');
            put_fixed5(out, lat + b.below(10_001) as i64 - 5_000);
            out.push(b'"');
            key(out, &mut first, "longitude");
            out.push(b'"');
            put_fixed5(out, lon + b.below(10_001) as i64 - 5_000);
            out.push(b'"');
            key(out, &mut first, "foreground");
            out.extend_from_slice(if b.chance(0.7) { b"true" } else { b"false" });
            key(out, &mut first, "session_id");
            put_uuid_str(out, b.uuid4());
        }
        Kind::ScreenViewed => {
            let viewed = b.one(&SCREENS);
            put_attr(out, &mut first, "viewed_screen", viewed);
            put_attr(out, &mut first, "previous_screen", b.one(&SCREENS));
            key(out, &mut first, "duration");
            put_json(out, &(500 + b.below(120_000)));
            key(out, &mut first, "session_id");
            put_uuid_str(out, b.uuid4());
        }
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};
    use std::io::Read as _;

    const START: i64 = 1_795_687_200_000; // 2026-11-26T10:00:00Z

    fn profile(
        minutes: u32,
        rate: f64,
        seed: u64,
        malformed: f64,
        duplicates: f64,
    ) -> TrafficProfile {
        TrafficProfile {
            start_ms: START,
            minutes,
            rate_per_second: rate,
            seed,
            malformed,
            duplicates,
            shards_hint: 4,
            history: History::default(),
        }
    }

    fn unpack(data: &[u8]) -> Vec<u8> {
        if data.starts_with(&[0x1F, 0x8B]) {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut plain)
                .expect("gzip record decompresses");
            plain
        } else {
            data.to_vec()
        }
    }

    /// The events of a valid record, parsed.
    fn events_of(rec: &GeneratedRecord) -> Vec<serde_json::Map<String, Value>> {
        let plain = unpack(&rec.data);
        let text = std::str::from_utf8(&plain).expect("valid record is UTF-8");
        text.split('\n')
            .filter(|line| !line.is_empty())
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(m)) => m,
                other => panic!("not an object: {other:?} in {line}"),
            })
            .collect()
    }

    /// Strict parse of the vendor's timestamp shape.
    fn parse_iso(s: &str) -> Option<i64> {
        let b = s.as_bytes();
        if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
            return None;
        }
        if b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
        let date = NaiveDate::from_ymd_opt(n(0..4)? as i32, n(5..7)?, n(8..10)?)?;
        let t = date.and_hms_milli_opt(n(11..13)?, n(14..16)?, n(17..19)?, n(20..23)?)?;
        Some(t.and_utc().timestamp_millis())
    }

    fn truth_events(t: &Truth) -> &[ValidEvent] {
        match t {
            Truth::Valid { events } | Truth::Duplicate { events } => events,
            Truth::Malformed { .. } => &[],
        }
    }

    #[test]
    fn same_profile_same_bytes() {
        let p = profile(3, 30.0, 42, 0.05, 0.05);
        let a = generate(&p);
        let b = generate(&p);
        assert!(a.len() > 5000);
        assert_eq!(a, b);
        let c = generate(&TrafficProfile { seed: 43, ..p });
        assert_ne!(a, c);
    }

    #[test]
    fn pinned_traffic() {
        // A seed must reproduce the same traffic in later versions of this module: a change that
        // moves this fingerprint changes every test corpus built from a seed. Gzip records are
        // hashed decompressed, because their compressed bytes belong to the deflate encoder.
        let recs = generate(&profile(2, 5.0, 7, 0.05, 0.05));
        let fingerprint = recs.iter().fold(0u64, |h, r| {
            let h = mix64(h ^ r.arrival_ms as u64);
            let h = r
                .partition_key
                .bytes()
                .fold(h, |h, b| mix64(h ^ u64::from(b)));
            unpack(&r.data)
                .iter()
                .fold(h, |h, &b| mix64(h ^ u64::from(b)))
        });
        assert_eq!(recs.len(), 1293, "record count moved");
        assert_eq!(
            fingerprint, 0xb1b6_9fa6_ac49_fc7f,
            "fingerprint moved: {fingerprint:#x}"
        );
    }

    #[test]
    fn arrivals_are_sorted_and_inside_the_span() {
        let p = profile(4, 25.0, 3, 0.1, 0.2);
        let recs = generate(&p);
        let end = START + 4 * MINUTE;
        assert!(recs.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms));
        assert!(recs.iter().all(|r| (START..end).contains(&r.arrival_ms)));
        assert!(recs
            .iter()
            .all(|r| !r.partition_key.is_empty() && r.partition_key.len() <= 256));
    }

    #[test]
    fn every_routed_type_appears_in_a_few_hundred_events() {
        for seed in 0..20 {
            let recs = generate(&profile(1, 4.0, seed, 0.05, 0.0));
            let types: HashSet<&str> = recs
                .iter()
                .flat_map(|r| truth_events(&r.truth))
                .map(|e| e.event_type.as_str())
                .collect();
            for t in ROUTED_TYPES {
                assert!(types.contains(t), "seed {seed}: no {t}");
            }
        }
    }

    #[test]
    fn labels_match_the_bytes() {
        let recs = generate(&profile(5, 40.0, 11, 0.2, 0.05));
        let mut seen_gzip = 0;
        let mut reasons: HashMap<&str, usize> = HashMap::new();
        for rec in &recs {
            match &rec.truth {
                Truth::Valid { events } | Truth::Duplicate { events } => {
                    if rec.data.starts_with(&[0x1F, 0x8B]) {
                        seen_gzip += 1;
                    }
                    let parsed = events_of(rec);
                    assert_eq!(parsed.len(), events.len());
                    for (obj, truth) in parsed.iter().zip(events) {
                        assert_eq!(obj["id"].as_str(), Some(truth.id.as_str()));
                        assert_eq!(obj["type"].as_str(), Some(truth.event_type.as_str()));
                        let occurred = parse_iso(obj["occurred"].as_str().unwrap()).unwrap();
                        let processed = parse_iso(obj["processed"].as_str().unwrap()).unwrap();
                        assert!(processed < rec.arrival_ms);
                        assert!(occurred <= processed + 3 * MINUTE);
                        assert!(occurred > processed - 8 * DAY);
                        if let Some(o) = obj.get("offset") {
                            assert!(o.as_str().unwrap().parse::<u64>().is_ok());
                        }
                        assert!(obj["device"].is_object());
                        let body = obj["body"].as_object().expect("body is an object");
                        match truth.event_type.as_str() {
                            "SEND" | "SEND_REJECTED" | "SEND_ABORTED" | "CONTROL" | "WEB_CLICK" => {
                                assert!(body["push_id"].is_string(), "{obj:?}");
                                if let Some(v) = body.get("variant_id") {
                                    assert!(v.is_u64());
                                }
                            }
                            "OPEN" => {
                                let p = body
                                    .get("triggering_push")
                                    .or_else(|| body.get("last_delivered"))
                                    .unwrap();
                                assert!(p["push_id"].is_string());
                            }
                            _ => {}
                        }
                        if matches!(truth.event_type.as_str(), "CONTROL" | "WEB_CLICK") {
                            assert!(body["group_id"].is_string());
                        }
                    }
                }
                Truth::Malformed { reason } => {
                    *reasons.entry(reason).or_default() += 1;
                    check_malformed(reason, &rec.data);
                }
            }
        }
        assert!(seen_gzip > 0);
        let firsts = recs
            .iter()
            .filter(|r| !matches!(r.truth, Truth::Duplicate { .. }))
            .count() as f64;
        let bad = reasons.values().sum::<usize>() as f64 / firsts;
        assert!((0.18..0.22).contains(&bad), "malformed share {bad}");
        for r in MALFORMED_REASONS {
            assert!(reasons.get(r).copied().unwrap_or(0) > 5, "{r}: {reasons:?}");
        }
    }

    fn check_malformed(reason: &str, data: &[u8]) {
        assert!(!data.starts_with(&[0x1F, 0x8B]));
        if reason == "empty" {
            assert!(data.is_empty());
            return;
        }
        assert!(!data.is_empty());
        let text = std::str::from_utf8(data);
        if reason == "not_utf8" {
            assert!(text.is_err());
            return;
        }
        let text = text.expect("UTF-8");
        assert!(!text.contains('\n'));
        let value = serde_json::from_str::<Value>(text);
        if reason == "not_json" {
            assert!(value.is_err(), "{text}");
            return;
        }
        let value = value.expect("JSON");
        if reason == "not_object" {
            assert!(!value.is_object());
            return;
        }
        let obj = value.as_object().expect("object");
        let required = ["id", "type", "occurred", "processed"];
        let missing: Vec<_> = required.iter().filter(|k| !obj.contains_key(**k)).collect();
        if let Some(field) = reason.strip_prefix("missing_field:") {
            if field == "body.push_id" {
                assert!(missing.is_empty());
                assert_eq!(obj["type"], "SEND");
                assert!(obj["body"].is_object() && obj["body"].get("push_id").is_none());
            } else {
                assert_eq!(missing, vec![&field], "{text}");
            }
            return;
        }
        assert!(missing.is_empty(), "{reason}: {text}");
        let occurred_ok = parse_iso(obj["occurred"].as_str().unwrap()).is_some();
        assert_eq!(occurred_ok, reason != "bad_timestamp:occurred", "{text}");
        assert_eq!(!obj["id"].is_string(), reason == "wrong_type:id");
        assert_eq!(!obj["device"].is_object(), reason == "wrong_type:device");
        assert_eq!(!obj["body"].is_object(), reason == "wrong_type:body");
        if reason == "wrong_type:body.variant_id" {
            assert_eq!(obj["type"], "SEND");
            assert_eq!(obj["body"]["variant_id"], "2");
            assert!(obj["body"]["push_id"].is_string());
        }
    }

    #[test]
    fn duplicates_repeat_the_original_at_the_asked_rate() {
        let recs = generate(&profile(6, 30.0, 5, 0.02, 0.1));
        let mut first_seen: HashMap<&str, (i64, serde_json::Map<String, Value>)> = HashMap::new();
        let (mut valid, mut dups) = (0usize, 0usize);
        for rec in &recs {
            let duplicate = match &rec.truth {
                Truth::Valid { .. } => false,
                Truth::Duplicate { .. } => true,
                Truth::Malformed { .. } => continue,
            };
            for (obj, ev) in events_of(rec).into_iter().zip(truth_events(&rec.truth)) {
                if !duplicate {
                    assert!(first_seen
                        .insert(ev.id.as_str(), (rec.arrival_ms, obj))
                        .is_none());
                    continue;
                }
                let (at, orig) = &first_seen[ev.id.as_str()];
                assert!(rec.arrival_ms >= *at && rec.arrival_ms - *at <= MINUTE);
                for k in ["id", "type", "occurred", "device", "body", "user"] {
                    assert_eq!(obj.get(k), orig.get(k), "{k}");
                }
                let processed = |o: &serde_json::Map<String, Value>| {
                    parse_iso(o["processed"].as_str().unwrap()).unwrap()
                };
                assert!(processed(&obj) > processed(orig));
            }
            if duplicate {
                dups += 1;
            } else {
                valid += 1;
            }
        }
        let rate = dups as f64 / valid as f64;
        assert!((0.08..0.12).contains(&rate), "duplicate rate {rate}");
    }

    #[test]
    fn the_burst_minute_stands_out_and_opens_trail_it() {
        let recs = generate(&profile(6, 20.0, 9, 0.0, 0.0));
        let mut per_minute = [0usize; 6];
        let mut opens = [0usize; 6];
        for r in &recs {
            let m = ((r.arrival_ms - START) / MINUTE) as usize;
            per_minute[m] += 1;
            opens[m] += truth_events(&r.truth)
                .iter()
                .filter(|e| e.event_type == "OPEN")
                .count();
        }
        let others = (per_minute.iter().sum::<usize>() - per_minute[1]) as f64 / 5.0;
        assert!(per_minute[1] as f64 > 2.5 * others, "{per_minute:?}");
        assert!(
            opens[1] > 2 * opens[0] && 2 * opens[2] > 3 * opens[0],
            "{opens:?}"
        );
        assert!(opens[2] > opens[4] && opens[4] >= opens[5] / 2, "{opens:?}");
        // The campaign SENDs land within ~20 s of each other.
        let campaign_seconds: HashSet<i64> = recs
            .iter()
            .filter(|r| (START + MINUTE..START + 2 * MINUTE).contains(&r.arrival_ms))
            .map(|r| (r.arrival_ms - START) / SECOND)
            .collect();
        let busy = campaign_seconds
            .iter()
            .filter(|&&s| {
                recs.iter()
                    .filter(|r| (r.arrival_ms - START) / SECOND == s)
                    .count()
                    > 60
            })
            .count();
        assert!((15..=25).contains(&busy), "{busy} busy seconds");
    }

    #[test]
    fn the_mix_looks_like_the_vendor() {
        let recs = generate(&profile(10, 50.0, 21, 0.0, 0.0));
        let mut types: HashMap<String, usize> = HashMap::new();
        let (mut records, mut multi, mut gz, mut bytes, mut events) = (0, 0, 0, 0, 0);
        let (mut direct, mut opens, mut old, mut offset_absent) = (0, 0, 0, 0);
        let (mut android, mut legacy, mut web_clicks_on_web) = (0, 0, 0);
        let mut platforms: HashMap<String, usize> = HashMap::new();
        let mut named: HashMap<String, bool> = HashMap::new();
        let mut london = 0;
        for rec in &recs {
            records += 1;
            gz += usize::from(rec.data.starts_with(&[0x1F, 0x8B]));
            let evs = events_of(rec);
            multi += usize::from(evs.len() > 1);
            for obj in evs {
                events += 1;
                bytes += serde_json::to_vec(&obj).unwrap().len();
                let t = obj["type"].as_str().unwrap().to_string();
                let dev = obj["device"].as_object().unwrap();
                let channel = dev
                    .get("channel")
                    .or_else(|| dev.get("android_channel"))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string();
                named.insert(channel, dev.contains_key("named_user_id"));
                match dev.get("device_type").and_then(Value::as_str) {
                    Some(p) => *platforms.entry(p.to_string()).or_default() += 1,
                    None => {
                        assert!(dev.contains_key("android_channel"));
                        *platforms.entry("ANDROID".into()).or_default() += 1;
                        legacy += 1;
                    }
                }
                if dev.contains_key("android_channel")
                    || dev.get("device_type") == Some(&"ANDROID".into())
                {
                    android += 1;
                }
                if let Some(a) = dev.get("attributes") {
                    london += usize::from(a["iana_timezone"] == "Europe/London");
                    assert!(a.as_object().unwrap().values().all(Value::is_string));
                }
                if t == "WEB_CLICK" && dev.get("device_type") == Some(&"WEB".into()) {
                    web_clicks_on_web += 1;
                }
                if t == "OPEN" {
                    opens += 1;
                    direct += usize::from(obj["body"].get("triggering_push").is_some());
                }
                let occurred = parse_iso(obj["occurred"].as_str().unwrap()).unwrap();
                let processed = parse_iso(obj["processed"].as_str().unwrap()).unwrap();
                old += usize::from(processed - occurred >= HOUR);
                offset_absent += usize::from(!obj.contains_key("offset"));
                *types.entry(t).or_default() += 1;
            }
        }
        let share = |n: usize| n as f64 / events as f64;
        let of_type = |t: &str| share(types.get(t).copied().unwrap_or(0));
        let unrouted: usize = types
            .iter()
            .filter(|(t, _)| !ROUTED_TYPES.contains(&t.as_str()))
            .map(|(_, n)| n)
            .sum();
        assert!((0.55..0.8).contains(&of_type("SEND")), "{types:?}");
        assert!((0.05..0.12).contains(&of_type("OPEN")), "{types:?}");
        assert!(
            (0.02..0.05).contains(&of_type("SEND_REJECTED")),
            "{types:?}"
        );
        assert!((0.025..0.05).contains(&of_type("CONTROL")), "{types:?}");
        for t in ["SEND_ABORTED", "UNINSTALL", "WEB_CLICK"] {
            assert!((0.004..0.02).contains(&of_type(t)), "{t}: {types:?}");
        }
        assert!((0.1..0.2).contains(&share(unrouted)), "{types:?}");
        assert_eq!(web_clicks_on_web, types["WEB_CLICK"]);
        let direct_share = direct as f64 / opens as f64;
        assert!((0.5..0.7).contains(&direct_share), "{direct_share}");
        let multi_share = multi as f64 / records as f64;
        assert!((0.005..0.02).contains(&multi_share), "{multi_share}");
        let gz_share = gz as f64 / records as f64;
        assert!((0.005..0.02).contains(&gz_share), "{gz_share}");
        let mean = bytes / events;
        assert!((500..=1000).contains(&mean), "mean event {mean} bytes");
        assert!((0.01..0.035).contains(&share(old)), "old {}", share(old));
        assert!((0.015..0.05).contains(&share(offset_absent)));
        let ios = platforms["IOS"] as f64 / events as f64;
        assert!((0.45..0.65).contains(&ios), "{platforms:?}");
        let legacy_share = legacy as f64 / android as f64;
        assert!((0.1..0.2).contains(&legacy_share), "{legacy_share}");
        let named_share = named.values().filter(|&&n| n).count() as f64 / named.len() as f64;
        assert!((0.65..0.75).contains(&named_share), "{named_share}");
        assert!(share(london) > 0.75);
    }

    #[test]
    fn offsets_increase_in_arrival_order() {
        let recs = generate(&profile(2, 30.0, 4, 0.0, 0.05));
        let mut last = 0u64;
        for rec in &recs {
            for obj in events_of(rec) {
                if let Some(o) = obj.get("offset") {
                    let o: u64 = o.as_str().unwrap().parse().unwrap();
                    assert!(o > last);
                    last = o;
                }
            }
        }
        assert!(last > 0);
    }

    #[test]
    fn odd_profiles_do_not_panic() {
        let base = profile(2, 10.0, 1, 0.01, 0.01);
        let odd = [
            TrafficProfile {
                minutes: 0,
                ..base.clone()
            },
            TrafficProfile {
                rate_per_second: 0.0,
                ..base.clone()
            },
            TrafficProfile {
                rate_per_second: -3.0,
                ..base.clone()
            },
            TrafficProfile {
                rate_per_second: f64::NAN,
                ..base.clone()
            },
            TrafficProfile {
                rate_per_second: 0.001,
                ..base.clone()
            },
            TrafficProfile {
                malformed: 7.0,
                duplicates: -2.0,
                ..base.clone()
            },
            TrafficProfile {
                malformed: f64::NAN,
                duplicates: f64::INFINITY,
                ..base.clone()
            },
            TrafficProfile {
                minutes: 1,
                rate_per_second: 0.5,
                ..base.clone()
            },
            TrafficProfile {
                start_ms: i64::MAX - 1_000,
                ..base.clone()
            },
            TrafficProfile {
                start_ms: i64::MIN,
                ..base.clone()
            },
            TrafficProfile {
                start_ms: -1,
                minutes: 1,
                ..base.clone()
            },
            TrafficProfile {
                seed: u64::MAX,
                ..base.clone()
            },
        ];
        for p in &odd {
            let recs = generate(p);
            assert!(recs.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms));
        }
        assert!(generate(&odd[0]).is_empty());
        assert!(generate(&odd[1]).is_empty());
        // Probabilities clamp: everything malformed, nothing duplicated.
        assert!(generate(&odd[5])
            .iter()
            .skip(7)
            .all(
                |r| matches!(r.truth, Truth::Malformed { .. }) || truth_events(&r.truth).len() == 1
            ));
        assert!(!generate(&odd[5])
            .iter()
            .any(|r| matches!(r.truth, Truth::Duplicate { .. })));
        // Everything but the seven coverage records is malformed.
        let all_bad = generate(&odd[5]);
        let good = all_bad
            .iter()
            .filter(|r| !matches!(r.truth, Truth::Malformed { .. }))
            .count();
        assert_eq!(good, 7);
        // A trickle still has its campaign.
        assert!(!generate(&odd[4]).is_empty());
    }

    #[test]
    fn timestamps_and_zones() {
        let mut v = Vec::new();
        put_iso(&mut v, START + 58_120);
        assert_eq!(v, b"2026-11-26T10:00:58.120Z");
        v.clear();
        put_iso(&mut v, -1);
        assert_eq!(v, b"1969-12-31T23:59:59.999Z");
        v.clear();
        put_iso(&mut v, 951_782_400_000); // leap day
        assert_eq!(v, b"2000-02-29T00:00:00.000Z");
        let london = &ZONES[0];
        assert_eq!(london.offset_s(1_774_746_000_000 - 1), 0); // 2026-03-29T00:59:59.999Z
        assert_eq!(london.offset_s(1_774_746_000_000), 3600);
        assert_eq!(london.offset_s(1_792_890_000_000 - 1), 3600); // 2026-10-25T00:59:59.999Z
        assert_eq!(london.offset_s(1_792_890_000_000), 0);
        let new_york = &ZONES[4];
        assert_eq!(new_york.offset_s(START), -18_000);
        assert_eq!(new_york.offset_s(START - 150 * DAY), -14_400);
        assert_eq!(ZONES[2].offset_s(START), 3600);
    }

    #[test]
    fn ids_are_unique_v1_uuids() {
        let recs = generate(&profile(3, 50.0, 8, 0.0, 0.0));
        let mut ids = HashSet::new();
        for rec in &recs {
            for e in truth_events(&rec.truth) {
                assert_eq!(e.id.len(), 36);
                assert_eq!(&e.id[14..15], "1");
                assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
            }
        }
    }
}
