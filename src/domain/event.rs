//! One vendor event: parse, validate and extract the typed fields, or say exactly why not.
//!
//! The fast path deserializes straight into borrowed structs. Only a failing event pays for a
//! second, generic parse that names the offending field.

use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::rejection::Rejection;
use super::schema::{ColumnType, Profile, MAX_ID_LEN};
use super::window::parse_timestamp_ms;

/// Limits applied to every event. The defaults suit the vendor's feed: events are about 1 KB.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest single event, in bytes. Firehose takes records up to 1,000 KiB; staying far below
    /// leaves room for the normalized columns beside the raw event.
    pub max_event_bytes: usize,
    /// Largest gzip record once inflated: stops a gzip bomb.
    pub max_inflated_bytes: usize,
    /// How far `occurred` may lie after the arrival time. The vendor clamps to a few minutes.
    pub future_tolerance_ms: i64,
    /// How far `occurred` may lie before the arrival time. The vendor drops events after 90 days.
    pub max_age_ms: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_event_bytes: 256 * 1024,
            max_inflated_bytes: 1024 * 1024,
            future_tolerance_ms: 60 * 60 * 1000,
            max_age_ms: 400 * 24 * 60 * 60 * 1000,
        }
    }
}

/// A valid event with its typed fields. Borrows from the record's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    pub id: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    pub occurred_ms: i64,
    pub processed_ms: i64,
    pub channel_id: Option<Cow<'a, str>>,
    pub device_type: Option<Cow<'a, str>>,
    pub named_user_id: Option<Cow<'a, str>>,
    pub iana_timezone: Option<Cow<'a, str>>,
    pub locale_country_code: Option<Cow<'a, str>>,
    pub app_version: Option<Cow<'a, str>>,
    pub push_id: Option<Cow<'a, str>>,
    pub group_id: Option<Cow<'a, str>>,
    pub variant_id: Option<i32>,
    pub reason: Option<Cow<'a, str>>,
    pub session_id: Option<Cow<'a, str>>,
    /// `direct` (the push was tapped), `influenced` (opened after a delivery) or `organic`.
    pub open_kind: Option<&'static str>,
    pub campaign_categories: Option<String>,
    /// The event's JSON text exactly as received.
    pub raw: &'a str,
}

/// A string that borrows from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text<'a>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    event_type: Option<Text<'a>>,
    #[serde(borrow)]
    occurred: Option<Text<'a>>,
    #[serde(borrow)]
    processed: Option<Text<'a>>,
    #[serde(borrow)]
    device: Option<DeviceDoc<'a>>,
    #[serde(borrow)]
    user: Option<UserDoc<'a>>,
    #[serde(borrow)]
    body: Option<&'a RawValue>,
    #[serde(borrow)]
    offset: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct DeviceDoc<'a> {
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    device_type: Option<Text<'a>>,
    #[serde(borrow)]
    ios_channel: Option<Text<'a>>,
    #[serde(borrow)]
    android_channel: Option<Text<'a>>,
    #[serde(borrow)]
    amazon_channel: Option<Text<'a>>,
    #[serde(borrow)]
    named_user_id: Option<Text<'a>>,
    #[serde(borrow)]
    attributes: Option<AttributesDoc<'a>>,
}

/// Only the attributes that become columns; other keys (and their types) are the vendor's business
/// and stay in the raw event.
#[derive(Deserialize)]
struct AttributesDoc<'a> {
    #[serde(borrow)]
    iana_timezone: Option<Text<'a>>,
    #[serde(borrow)]
    locale_country_code: Option<Text<'a>>,
    #[serde(borrow)]
    app_version: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct UserDoc<'a> {
    #[serde(borrow)]
    named_user_id: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct PushBody<'a> {
    #[serde(borrow)]
    push_id: Option<Text<'a>>,
    #[serde(borrow)]
    group_id: Option<Text<'a>>,
    variant_id: Option<i32>,
    #[serde(borrow)]
    reason: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct OpenBody<'a> {
    #[serde(borrow)]
    session_id: Option<Text<'a>>,
    #[serde(borrow)]
    triggering_push: Option<PushRef<'a>>,
    #[serde(borrow)]
    last_delivered: Option<PushRef<'a>>,
}

#[derive(Deserialize)]
struct PushRef<'a> {
    #[serde(borrow)]
    push_id: Option<Text<'a>>,
    #[serde(borrow)]
    group_id: Option<Text<'a>>,
    variant_id: Option<i32>,
    #[serde(borrow)]
    campaigns: Option<Campaigns<'a>>,
}

#[derive(Deserialize)]
struct Campaigns<'a> {
    #[serde(borrow)]
    categories: Option<Vec<Text<'a>>>,
}

/// The JSON shape the typed structs expect, for naming the field when the fast path fails.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    StrOrNum,
    Obj,
    Int32,
    StrArray,
}

const ENVELOPE_SHAPE: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("type", Kind::Str),
    ("occurred", Kind::Str),
    ("processed", Kind::Str),
    ("offset", Kind::StrOrNum),
    ("device", Kind::Obj),
    ("device.channel", Kind::Str),
    ("device.device_type", Kind::Str),
    ("device.ios_channel", Kind::Str),
    ("device.android_channel", Kind::Str),
    ("device.amazon_channel", Kind::Str),
    ("device.named_user_id", Kind::Str),
    ("device.attributes", Kind::Obj),
    ("device.attributes.iana_timezone", Kind::Str),
    ("device.attributes.locale_country_code", Kind::Str),
    ("device.attributes.app_version", Kind::Str),
    ("user", Kind::Obj),
    ("user.named_user_id", Kind::Str),
    ("body", Kind::Obj),
];

const PUSH_BODY_SHAPE: &[(&str, Kind)] = &[
    ("body.push_id", Kind::Str),
    ("body.group_id", Kind::Str),
    ("body.variant_id", Kind::Int32),
    ("body.reason", Kind::Str),
];

const OPEN_BODY_SHAPE: &[(&str, Kind)] = &[
    ("body.session_id", Kind::Str),
    ("body.triggering_push", Kind::Obj),
    ("body.triggering_push.push_id", Kind::Str),
    ("body.triggering_push.group_id", Kind::Str),
    ("body.triggering_push.variant_id", Kind::Int32),
    ("body.triggering_push.campaigns", Kind::Obj),
    ("body.triggering_push.campaigns.categories", Kind::StrArray),
    ("body.last_delivered", Kind::Obj),
    ("body.last_delivered.push_id", Kind::Str),
    ("body.last_delivered.group_id", Kind::Str),
    ("body.last_delivered.variant_id", Kind::Int32),
    ("body.last_delivered.campaigns", Kind::Obj),
    ("body.last_delivered.campaigns.categories", Kind::StrArray),
];

/// Parses and validates one event (one line of a record). `arrival_ms` is the record's Kinesis
/// arrival time, against which `occurred` is judged.
pub fn parse_event<'a>(
    line: &'a str,
    arrival_ms: i64,
    limits: &Limits,
) -> Result<Event<'a>, Rejection> {
    let line = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\u{feff}');
    if line.is_empty() {
        return Err(Rejection::Empty);
    }
    if line.len() > limits.max_event_bytes {
        return Err(Rejection::TooLarge);
    }
    let env: Envelope<'a> = serde_json::from_str(line).map_err(|e| diagnose(line, &e))?;
    let id = required(env.id, "id")?;
    let event_type = required(env.event_type, "type")?;
    let occurred = required(env.occurred, "occurred")?;
    let processed = required(env.processed, "processed")?;
    check_id(&id, "id")?;
    if !super::routes::is_event_type(&event_type) {
        return Err(Rejection::BadValue("type".into()));
    }
    let occurred_ms = timestamp(&occurred, "occurred", arrival_ms, limits)?;
    let processed_ms = timestamp(&processed, "processed", arrival_ms, limits)?;
    // Escapes are only decoded for the fields above; the raw event goes to jsonb/SUPER whole,
    // and one NUL or lone surrogate there would fail the entire load.
    check_escapes(line)?;
    check_super_limits(line)?;
    let _ = env.offset;

    let mut event = Event {
        id,
        event_type,
        occurred_ms,
        processed_ms,
        channel_id: None,
        device_type: None,
        named_user_id: None,
        iana_timezone: None,
        locale_country_code: None,
        app_version: None,
        push_id: None,
        group_id: None,
        variant_id: None,
        reason: None,
        session_id: None,
        open_kind: None,
        campaign_categories: None,
        raw: line,
    };
    if let Some(device) = env.device {
        fill_device(&mut event, device)?;
    }
    if event.named_user_id.is_none() {
        event.named_user_id = env.user.and_then(|u| u.named_user_id).map(|t| t.0);
        if let Some(user) = &event.named_user_id {
            check_id(user, "user.named_user_id")?;
        }
    }
    let body = env.body.map(RawValue::get).unwrap_or("{}");
    // Kept whole for every type, so its shape is checked even where no column comes from it.
    if !body.starts_with('{') && body != "null" {
        return Err(Rejection::WrongType("body".into()));
    }
    let body = if body == "null" { "{}" } else { body };
    fill_body(&mut event, body)?;
    check_column_sizes(&event)?;
    Ok(event)
}

/// Every text value fits its column, counted in bytes as Redshift's VARCHAR counts them. The
/// load never truncates (no TRUNCATECOLUMNS), so a value that does not fit is refused here, with
/// its path, rather than altered or left to fail the whole batch's COPY.
fn check_column_sizes(event: &Event<'_>) -> Result<(), Rejection> {
    let values: [(&'static str, ColumnType, Option<&str>); 12] = [
        ("id", ColumnType::Id, Some(&event.id)),
        (
            "device.channel",
            ColumnType::Id,
            event.channel_id.as_deref(),
        ),
        (
            "device.device_type",
            ColumnType::Id,
            event.device_type.as_deref(),
        ),
        (
            "device.named_user_id",
            ColumnType::Id,
            event.named_user_id.as_deref(),
        ),
        (
            "device.attributes.iana_timezone",
            ColumnType::Id,
            event.iana_timezone.as_deref(),
        ),
        (
            "device.attributes.locale_country_code",
            ColumnType::Id,
            event.locale_country_code.as_deref(),
        ),
        (
            "device.attributes.app_version",
            ColumnType::Id,
            event.app_version.as_deref(),
        ),
        ("body.push_id", ColumnType::Id, event.push_id.as_deref()),
        ("body.group_id", ColumnType::Id, event.group_id.as_deref()),
        (
            "body.session_id",
            ColumnType::Id,
            event.session_id.as_deref(),
        ),
        (
            "body.campaigns.categories",
            ColumnType::Text,
            event.campaign_categories.as_deref(),
        ),
        ("body.reason", ColumnType::Text, event.reason.as_deref()),
    ];
    for (path, ty, value) in values {
        if let (Some(value), Some(max)) = (value, ty.max_bytes()) {
            if value.len() > max {
                return Err(Rejection::BadValue(path.into()));
            }
        }
    }
    Ok(())
}

fn required<'a>(field: Option<Text<'a>>, name: &'static str) -> Result<Cow<'a, str>, Rejection> {
    field
        .map(|t| t.0)
        .ok_or(Rejection::MissingField(name.into()))
}

fn check_id(value: &str, field: &'static str) -> Result<(), Rejection> {
    if value.is_empty() || value.len() > MAX_ID_LEN || has_control(value) {
        return Err(Rejection::BadValue(field.into()));
    }
    Ok(())
}

/// Whether the text holds a control character (Unicode `Cc`). A branch-free pass over the bytes
/// first: ids are nearly always ASCII without one, and only a byte below 0x20 or from 0x7F up
/// needs the per-`char` check.
fn has_control(value: &str) -> bool {
    let suspect = value
        .bytes()
        .fold(false, |seen, b| seen | !(0x20..0x7f).contains(&b));
    suspect && value.chars().any(char::is_control)
}

fn optional_id<'a>(
    field: Option<Text<'a>>,
    name: &'static str,
) -> Result<Option<Cow<'a, str>>, Rejection> {
    match field {
        Some(t) => {
            check_id(&t.0, name)?;
            Ok(Some(t.0))
        }
        None => Ok(None),
    }
}

fn timestamp(
    text: &str,
    field: &'static str,
    arrival_ms: i64,
    limits: &Limits,
) -> Result<i64, Rejection> {
    let ms = parse_timestamp_ms(text).ok_or(Rejection::BadTimestamp(field.into()))?;
    if ms > arrival_ms.saturating_add(limits.future_tolerance_ms) {
        return Err(Rejection::FutureTimestamp(field.into()));
    }
    if ms < arrival_ms.saturating_sub(limits.max_age_ms) {
        return Err(Rejection::AncientTimestamp(field.into()));
    }
    Ok(ms)
}

fn fill_device<'a>(event: &mut Event<'a>, device: DeviceDoc<'a>) -> Result<(), Rejection> {
    // Older events carry only a platform key; it names the channel and the platform at once.
    let (platform_channel, platform) = if let Some(c) = device.ios_channel {
        (Some(c), Some("IOS"))
    } else if let Some(c) = device.android_channel {
        (Some(c), Some("ANDROID"))
    } else if let Some(c) = device.amazon_channel {
        (Some(c), Some("AMAZON"))
    } else {
        (None, None)
    };
    event.channel_id = optional_id(device.channel.or(platform_channel), "device.channel")?;
    event.device_type = match optional_id(device.device_type, "device.device_type")? {
        Some(t) => Some(t),
        None => platform.map(Cow::Borrowed),
    };
    event.named_user_id = optional_id(device.named_user_id, "device.named_user_id")?;
    if let Some(attrs) = device.attributes {
        event.iana_timezone = optional_id(attrs.iana_timezone, "device.attributes.iana_timezone")?;
        event.locale_country_code = optional_id(
            attrs.locale_country_code,
            "device.attributes.locale_country_code",
        )?;
        event.app_version = optional_id(attrs.app_version, "device.attributes.app_version")?;
    }
    Ok(())
}

fn fill_body<'a>(event: &mut Event<'a>, body: &'a str) -> Result<(), Rejection> {
    let profile = Profile::for_event_type(&event.event_type);
    match profile {
        Profile::Uninstall | Profile::Generic => Ok(()),
        Profile::Open => {
            let open: OpenBody<'a> =
                serde_json::from_str(body).map_err(|e| diagnose(event.raw, &e))?;
            event.session_id = optional_id(open.session_id, "body.session_id")?;
            let (push, kind, path) = match (open.triggering_push, open.last_delivered) {
                (Some(p), _) => (Some(p), "direct", "body.triggering_push.push_id"),
                (None, Some(p)) => (Some(p), "influenced", "body.last_delivered.push_id"),
                (None, None) => (None, "organic", ""),
            };
            event.open_kind = Some(kind);
            if let Some(push) = push {
                event.push_id = Some(required(push.push_id, path)?);
                event.group_id = optional_id(push.group_id, "body.group_id")?;
                event.variant_id = push.variant_id;
                event.campaign_categories = push.campaigns.and_then(|c| c.categories).map(|cats| {
                    cats.iter()
                        .map(|c| c.0.as_ref())
                        .collect::<Vec<_>>()
                        .join(",")
                });
            }
            Ok(())
        }
        Profile::Send
        | Profile::SendRejected
        | Profile::SendAborted
        | Profile::Control
        | Profile::WebClick => {
            let push: PushBody<'a> =
                serde_json::from_str(body).map_err(|e| diagnose(event.raw, &e))?;
            event.push_id = Some(required(push.push_id, "body.push_id")?);
            check_id(event.push_id.as_deref().unwrap_or_default(), "body.push_id")?;
            event.group_id = optional_id(push.group_id, "body.group_id")?;
            event.variant_id = push.variant_id;
            if matches!(profile, Profile::SendRejected | Profile::SendAborted) {
                event.reason = push.reason.map(|r| r.0);
            }
            Ok(())
        }
    }
}

/// Redshift, "SUPER type": "The maximum nesting depth for arrays and structures of the SUPER
/// data type is 1,000." (the outermost object counts as level 1).
pub const MAX_SUPER_DEPTH: usize = 1000;

/// Redshift, `enable_large_strings_opt_in`: "Individual strings in SUPER columns have a limit of
/// 65,535 bytes." (counted as the string's UTF-8 bytes once its escapes are decoded).
pub const MAX_SUPER_STRING_BYTES: usize = 65_535;

/// The raw event goes whole into a SUPER column: an event SUPER cannot hold would fail its whole
/// batch's COPY, so it is refused here, with its reason, like any other bad event.
///
/// Both checks cost a SIMD count or nothing for ordinary events: nesting deeper than the limit
/// needs more brackets than the limit, and a string over the limit a longer event.
fn check_super_limits(json: &str) -> Result<(), Rejection> {
    let bytes = json.as_bytes();
    let deep = memchr::memchr2_iter(b'{', b'[', bytes).count() > MAX_SUPER_DEPTH;
    let long = bytes.len() > MAX_SUPER_STRING_BYTES;
    if !deep && !long {
        return Ok(());
    }
    let (mut depth, mut in_string, mut string_bytes) = (0usize, false, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => {
                    // One decoded byte, except \uXXXX: 1 to 3 bytes (a surrogate pair, 12 text
                    // bytes, decodes to 4, so counting 3 per half only overestimates by 2).
                    let (text, decoded) = match bytes.get(i + 1) {
                        Some(b'u') => {
                            let hex = std::str::from_utf8(&bytes[i + 2..(i + 6).min(bytes.len())])
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .unwrap_or(0);
                            (
                                6,
                                if hex < 0x80 {
                                    1
                                } else if hex < 0x800 {
                                    2
                                } else {
                                    3
                                },
                            )
                        }
                        _ => (2, 1),
                    };
                    string_bytes += decoded;
                    i += text;
                    if string_bytes > MAX_SUPER_STRING_BYTES {
                        return Err(Rejection::StringTooLong);
                    }
                    continue;
                }
                _ => string_bytes += 1,
            }
            if string_bytes > MAX_SUPER_STRING_BYTES {
                return Err(Rejection::StringTooLong);
            }
        } else {
            match b {
                b'"' => {
                    in_string = true;
                    string_bytes = 0;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_SUPER_DEPTH {
                        return Err(Rejection::TooDeep);
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    Ok(())
}

/// Checks every `\u` escape: no NUL, and surrogates only in valid pairs.
///
/// Jumps from backslash to backslash with `memchr`: most events have none, and a byte-at-a-time
/// walk over every event was ~16% of the transform. A byte other than a backslash right after a
/// high surrogate is an unpaired surrogate, as before.
fn check_escapes(json: &str) -> Result<(), Rejection> {
    let bytes = json.as_bytes();
    let mut i = 0;
    let mut pending_high = false;
    while let Some(skipped) = memchr::memchr(b'\\', &bytes[i..]) {
        if pending_high && skipped > 0 {
            return Err(Rejection::BadValue("unicode_escape".into()));
        }
        i += skipped;
        let Some(&next) = bytes.get(i + 1) else {
            return Ok(());
        };
        if next != b'u' {
            if pending_high {
                return Err(Rejection::BadValue("unicode_escape".into()));
            }
            i += 2;
            continue;
        }
        let code = bytes
            .get(i + 2..i + 6)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u16::from_str_radix(h, 16).ok())
            .ok_or(Rejection::NotJson)?;
        match code {
            0 => return Err(Rejection::NulCharacter),
            0xD800..=0xDBFF if !pending_high => pending_high = true,
            0xDC00..=0xDFFF if pending_high => pending_high = false,
            0xD800..=0xDFFF => return Err(Rejection::BadValue("unicode_escape".into())),
            _ if pending_high => return Err(Rejection::BadValue("unicode_escape".into())),
            _ => {}
        }
        i += 6;
    }
    if pending_high {
        return Err(Rejection::BadValue("unicode_escape".into()));
    }
    Ok(())
}

/// Names what is wrong with an event the typed parse refused.
fn diagnose(line: &str, error: &serde_json::Error) -> Rejection {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("recursion limit") => return Rejection::TooDeep,
        Err(_) => return Rejection::NotJson,
    };
    if !value.is_object() {
        return Rejection::NotObject;
    }
    let body_shape = match value
        .get("type")
        .and_then(Value::as_str)
        .map(Profile::for_event_type)
    {
        Some(Profile::Open) => OPEN_BODY_SHAPE,
        Some(Profile::Uninstall | Profile::Generic) | None => &[],
        Some(_) => PUSH_BODY_SHAPE,
    };
    for (path, kind) in ENVELOPE_SHAPE.iter().chain(body_shape) {
        if let Some(v) = lookup(&value, path) {
            if !v.is_null() && !fits(v, *kind) {
                return Rejection::WrongType(Cow::Borrowed(path));
            }
        }
    }
    let message = error.to_string();
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return Rejection::DuplicateField(Cow::Owned(name.to_string()));
    }
    if message.contains("recursion limit") {
        return Rejection::TooDeep;
    }
    Rejection::NotJson
}

fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(value, |v, key| v.as_object()?.get(key))
}

fn fits(v: &Value, kind: Kind) -> bool {
    match kind {
        Kind::Str => v.is_string(),
        Kind::StrOrNum => v.is_string() || v.is_number(),
        Kind::Obj => v.is_object(),
        Kind::Int32 => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        Kind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::window::parse_timestamp_ms;

    const SEND: &str = r#"{"id":"9c1e3f80-5b7a-11ef-8000-00000000a001","offset":"1000001","occurred":"2026-11-26T10:00:58.120Z","processed":"2026-11-26T10:00:58.990Z","type":"SEND","device":{"channel":"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","device_type":"IOS","ios_channel":"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","named_user_id":"cust-0042017","attributes":{"app_version":"8.14.0","device_os":"18.1","iana_timezone":"Europe/London","locale_country_code":"GB","push_opt_in":"true"}},"body":{"push_id":"5d1c2b3a-0000-4000-8000-0000000000aa","group_id":"77aa66bb-0000-4000-8000-0000000000bb","variant_id":2}}"#;
    const OPEN: &str = r#"{"id":"9c1e3f80-5b7a-11ef-8000-00000000a002","occurred":"2026-11-26T10:01:03.500Z","processed":"2026-11-26T10:01:04.010Z","type":"OPEN","device":{"channel":"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","device_type":"IOS","named_user_id":"cust-0042017"},"body":{"session_id":"e0e0e0e0-1111-4222-8333-444455556666","triggering_push":{"push_id":"5d1c2b3a-0000-4000-8000-0000000000aa","group_id":"77aa66bb-0000-4000-8000-0000000000bb","variant_id":2,"time":"2026-11-26T10:00:58.120Z","campaigns":{"categories":["black-friday","womens"]}}}}"#;
    const REJECTED: &str = r#"{"id":"9c1e3f80-5b7a-11ef-8000-00000000a003","occurred":"2026-11-26T10:01:05.000Z","processed":"2026-11-26T10:01:05.200Z","type":"SEND_REJECTED","device":{"android_channel":"aa00bb11-cc22-4d33-8e44-ff5566778899","named_user_id":"cust-0099881"},"body":{"push_id":"5d1c2b3a-0000-4000-8000-0000000000aa","reason":"Unregistered"}}"#;
    const UNINSTALL: &str = r#"{"id":"9c1e3f80-5b7a-11ef-8000-00000000a004","occurred":"2026-11-23T19:42:00.000Z","processed":"2026-11-26T10:01:07.000Z","type":"UNINSTALL","device":{"channel":"0f0e0d0c-0b0a-4909-8807-060504030201","device_type":"ANDROID"},"body":{}}"#;

    fn arrival() -> i64 {
        parse_timestamp_ms("2026-11-26T10:01:30Z").unwrap()
    }

    fn parse(line: &str) -> Result<Event<'_>, Rejection> {
        parse_event(line, arrival(), &Limits::default())
    }

    fn reason(line: &str) -> String {
        parse(line).expect_err("should be rejected").code()
    }

    #[test]
    fn send_with_current_device_shape() {
        let e = parse(SEND).unwrap();
        assert_eq!(e.id, "9c1e3f80-5b7a-11ef-8000-00000000a001");
        assert_eq!(e.event_type, "SEND");
        assert_eq!(
            e.channel_id.as_deref(),
            Some("1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
        );
        assert_eq!(e.device_type.as_deref(), Some("IOS"));
        assert_eq!(e.named_user_id.as_deref(), Some("cust-0042017"));
        assert_eq!(e.iana_timezone.as_deref(), Some("Europe/London"));
        assert_eq!(
            e.push_id.as_deref(),
            Some("5d1c2b3a-0000-4000-8000-0000000000aa")
        );
        assert_eq!(e.variant_id, Some(2));
        assert_eq!(
            e.occurred_ms,
            parse_timestamp_ms("2026-11-26T10:00:58.120Z").unwrap()
        );
        assert_eq!(e.raw, SEND);
    }

    #[test]
    fn older_device_shape_names_channel_and_platform() {
        let e = parse(REJECTED).unwrap();
        assert_eq!(
            e.channel_id.as_deref(),
            Some("aa00bb11-cc22-4d33-8e44-ff5566778899")
        );
        assert_eq!(e.device_type.as_deref(), Some("ANDROID"));
        assert_eq!(e.reason.as_deref(), Some("Unregistered"));
    }

    #[test]
    fn open_direct_influenced_and_organic() {
        let e = parse(OPEN).unwrap();
        assert_eq!(e.open_kind, Some("direct"));
        assert_eq!(
            e.session_id.as_deref(),
            Some("e0e0e0e0-1111-4222-8333-444455556666")
        );
        assert_eq!(
            e.campaign_categories.as_deref(),
            Some("black-friday,womens")
        );
        let influenced = OPEN.replace("triggering_push", "last_delivered");
        assert_eq!(parse(&influenced).unwrap().open_kind, Some("influenced"));
        let organic = r#"{"id":"x","type":"OPEN","occurred":"2026-11-26T10:01:03Z","processed":"2026-11-26T10:01:03Z","body":{"session_id":"s"}}"#;
        let e = parse(organic).unwrap();
        assert_eq!((e.open_kind, e.push_id), (Some("organic"), None));
    }

    #[test]
    fn days_old_events_are_valid() {
        let e = parse(UNINSTALL).unwrap();
        assert_eq!(e.event_type, "UNINSTALL");
        assert!(e.occurred_ms < arrival() - 2 * 24 * 3600 * 1000);
    }

    #[test]
    fn unknown_attribute_keys_and_fields_are_accepted() {
        let line = SEND
            .replace(
                "\"push_opt_in\":\"true\"",
                "\"push_opt_in\":\"true\",\"brand_new\":{\"x\":[1,2]}",
            )
            .replace(
                "\"type\":\"SEND\"",
                "\"type\":\"SEND\",\"future_field\":[true]",
            );
        assert!(parse(&line).is_ok());
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let line = SEND.replace("cust-0042017", r#"cust-\u00e9\"q"#);
        assert_eq!(
            parse(&line).unwrap().named_user_id.as_deref(),
            Some("cust-é\"q")
        );
    }

    /// Every text column, filled to its byte limit with multi-byte characters, passes; one byte
    /// more is refused with the value's path. Nothing is ever left for the load to cut.
    #[test]
    fn every_text_value_fits_its_column_in_bytes() {
        use crate::domain::schema::{ColumnType, MAX_ID_LEN, MAX_TEXT_BYTES};
        // "é" is two bytes; an odd limit gets one ASCII byte in front.
        let fill = |bytes: usize| format!("{}{}", "x".repeat(bytes % 2), "é".repeat(bytes / 2));
        let open = |push: &str, cats: &str| {
            format!(
                r#"{{"id":"a","type":"OPEN","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","device":{{"channel":"c","attributes":{{"app_version":"1"}}}},"body":{{"session_id":"s","triggering_push":{{"push_id":"{push}","campaigns":{{"categories":["{cats}"]}}}}}}}}"#
            )
        };
        let rejected = |reason: &str| {
            format!(
                r#"{{"id":"a","type":"SEND_REJECTED","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","device":{{"attributes":{{"iana_timezone":"{reason}"}}}},"body":{{"push_id":"p","reason":"{reason}"}}}}"#
            )
        };
        assert_eq!(ColumnType::Id.max_bytes(), Some(MAX_ID_LEN));
        assert_eq!(ColumnType::Text.max_bytes(), Some(MAX_TEXT_BYTES));
        let full = open(&fill(MAX_ID_LEN), &fill(MAX_TEXT_BYTES));
        let ok = parse(&full).unwrap();
        assert_eq!(ok.push_id.as_deref().map(str::len), Some(MAX_ID_LEN));
        assert_eq!(
            ok.campaign_categories.as_deref().map(str::len),
            Some(MAX_TEXT_BYTES)
        );
        assert_eq!(
            reason(&open(&fill(MAX_ID_LEN + 1), "c")),
            "bad_value:body.push_id"
        );
        assert_eq!(
            reason(&open("p", &fill(MAX_TEXT_BYTES + 1))),
            "bad_value:body.campaigns.categories"
        );
        // An over-long zone is refused before the reason is looked at; a reason alone is too.
        assert_eq!(
            reason(&rejected(&fill(MAX_ID_LEN + 1))),
            "bad_value:device.attributes.iana_timezone"
        );
        let long_reason = rejected(&fill(MAX_TEXT_BYTES + 1)).replacen(
            &format!("\"iana_timezone\":\"{}\"", fill(MAX_TEXT_BYTES + 1)),
            "\"iana_timezone\":\"Europe/London\"",
            1,
        );
        assert_eq!(reason(&long_reason), "bad_value:body.reason");
        assert!(parse(&rejected(&fill(MAX_ID_LEN))).is_ok());
    }

    /// What SUPER cannot hold is refused at the limits, exactly: depth 1,000 and strings of
    /// 65,535 bytes once decoded.
    #[test]
    fn the_raw_event_fits_redshifts_super() {
        let with = |extra: &str| {
            format!(
                r#"{{"id":"a","type":"SEND","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","body":{{"push_id":"p"}},"x":{extra}}}"#
            )
        };
        // The event is level 1, so `"x"` may hold 999 more.
        let nest = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(parse(&with(&nest(MAX_SUPER_DEPTH - 1))).is_ok());
        assert_eq!(reason(&with(&nest(MAX_SUPER_DEPTH))), "too_deep");
        // Brackets inside strings are text, not depth.
        assert!(parse(&with(&format!("\"{}\"", "[".repeat(5000)))).is_ok());
        let long = |n: usize| format!("\"{}\"", "n".repeat(n));
        assert!(parse(&with(&long(MAX_SUPER_STRING_BYTES))).is_ok());
        assert_eq!(
            reason(&with(&long(MAX_SUPER_STRING_BYTES + 1))),
            "string_too_long"
        );
        // Escapes count as what they decode to: \u00e9 is two bytes, \n one.
        let escaped = |n: usize| format!("\"{}\"", "\\u00e9".repeat(n));
        assert!(parse(&with(&escaped(MAX_SUPER_STRING_BYTES / 2))).is_ok());
        assert_eq!(
            reason(&with(&escaped(MAX_SUPER_STRING_BYTES / 2 + 1))),
            "string_too_long"
        );
        let newlines = format!("\"{}\"", "\\n".repeat(MAX_SUPER_STRING_BYTES));
        assert!(parse(&with(&newlines)).is_ok());
    }

    #[test]
    fn each_rejection_reason() {
        let base = |extra: &str| -> String {
            format!(
                r#"{{"id":"a","type":"SEND","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","body":{{"push_id":"p"}}{extra}}}"#
            )
        };
        assert!(parse(&base("")).is_ok());
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "empty"),
            ("   ".into(), "empty"),
            ("{\"id\":".into(), "not_json"),
            ("{} trailing".into(), "not_json"),
            ("[1,2]".into(), "not_object"),
            ("42".into(), "not_object"),
            (base("").replace(r#""id":"a","#, ""), "missing_field:id"),
            (
                base("").replace(r#""type":"SEND","#, ""),
                "missing_field:type",
            ),
            (
                base("").replace(r#""occurred":"2026-11-26T10:01:00Z","#, ""),
                "missing_field:occurred",
            ),
            (
                base("").replace(r#","processed":"2026-11-26T10:01:00Z""#, ""),
                "missing_field:processed",
            ),
            (
                base("").replace(r#""id":"a""#, r#""id":null"#),
                "missing_field:id",
            ),
            (
                base("").replace(r#""id":"a""#, r#""id":7"#),
                "wrong_type:id",
            ),
            (base(r#","device":"phone""#), "wrong_type:device"),
            (
                base("").replace(r#""body":{"push_id":"p"}"#, r#""body":[1]"#),
                "wrong_type:body",
            ),
            (
                base("")
                    .replace(r#""type":"SEND","#, r#""type":"CLOSE","#)
                    .replace(r#""body":{"push_id":"p"}"#, r#""body":"x""#),
                "wrong_type:body",
            ),
            (
                base("").replace(r#""push_id":"p""#, r#""push_id":"p","variant_id":"2""#),
                "wrong_type:body.variant_id",
            ),
            (
                base("").replace(r#""push_id":"p""#, r#""push_id":"p","variant_id":2.5"#),
                "wrong_type:body.variant_id",
            ),
            (
                base("").replace(
                    r#""push_id":"p""#,
                    r#""push_id":"p","variant_id":99999999999"#,
                ),
                "wrong_type:body.variant_id",
            ),
            (
                base("").replace(r#""push_id":"p""#, r#""group_id":"g""#),
                "missing_field:body.push_id",
            ),
            (
                base("").replace(r#""body":{"push_id":"p"}"#, r#""x":1"#),
                "missing_field:body.push_id",
            ),
            (
                base(r#","device":{"channel":5}"#),
                "wrong_type:device.channel",
            ),
            (
                base(r#","device":{"attributes":{"iana_timezone":1}}"#),
                "wrong_type:device.attributes.iana_timezone",
            ),
            (
                base("").replace("2026-11-26T10:01:00Z\",\"body", "yesterday\",\"body"),
                "bad_timestamp:processed",
            ),
            (
                base("").replacen("2026-11-26T10:01:00Z", "2026-13-45T99:00:00Z", 1),
                "bad_timestamp:occurred",
            ),
            (
                base("").replacen("2026-11-26T10:01:00Z", "2031-01-01T00:00:00Z", 1),
                "future_timestamp:occurred",
            ),
            (
                base("").replacen("2026-11-26T10:01:00Z", "1999-01-01T00:00:00Z", 1),
                "ancient_timestamp:occurred",
            ),
            (
                base("").replace(r#""id":"a""#, r#""id":"a","id":"b""#),
                "duplicate_field:id",
            ),
            (
                base("").replace(r#""id":"a""#, r#""id":"""#),
                "bad_value:id",
            ),
            (
                base("").replace(r#""type":"SEND""#, r#""type":"send me""#),
                "bad_value:type",
            ),
            (base(r#","note":"a\u0000b""#), "nul_character"),
            (base(r#","note":"\ud800x""#), "bad_value:unicode_escape"),
            (
                format!("{}{}{}", "[".repeat(200), "1", "]".repeat(200)),
                "too_deep",
            ),
            (
                base(&format!(r#","pad":"{}""#, "x".repeat(300 * 1024))),
                "too_large",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(reason(&line), want, "for {}", &line[..line.len().min(120)]);
        }
    }

    #[test]
    fn valid_surrogate_pairs_and_escaped_backslashes_pass() {
        let base = r#"{"id":"a","type":"CLOSE","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","note":"\ud83d\ude00 \\u0000"}"#;
        assert!(parse(base).is_ok());
    }

    /// `check_escapes` as it was, byte by byte: the `memchr` version must agree with it.
    fn check_escapes_bytewise(json: &str) -> Result<(), Rejection> {
        let bytes = json.as_bytes();
        let mut i = 0;
        let mut pending_high = false;
        while i < bytes.len() {
            if bytes[i] != b'\\' {
                if pending_high {
                    return Err(Rejection::BadValue("unicode_escape".into()));
                }
                i += 1;
                continue;
            }
            let Some(&next) = bytes.get(i + 1) else {
                return Ok(());
            };
            if next != b'u' {
                if pending_high {
                    return Err(Rejection::BadValue("unicode_escape".into()));
                }
                i += 2;
                continue;
            }
            let code = bytes
                .get(i + 2..i + 6)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u16::from_str_radix(h, 16).ok())
                .ok_or(Rejection::NotJson)?;
            match code {
                0 => return Err(Rejection::NulCharacter),
                0xD800..=0xDBFF if !pending_high => pending_high = true,
                0xDC00..=0xDFFF if pending_high => pending_high = false,
                0xD800..=0xDFFF => return Err(Rejection::BadValue("unicode_escape".into())),
                _ if pending_high => return Err(Rejection::BadValue("unicode_escape".into())),
                _ => {}
            }
            i += 6;
        }
        if pending_high {
            return Err(Rejection::BadValue("unicode_escape".into()));
        }
        Ok(())
    }

    #[test]
    fn escape_check_agrees_with_the_bytewise_walk() {
        let parts = [
            "\\", "u", "ud800", "udbff", "udc00", "udfff", "u0000", "u0041", "uzz", "x", "é", "n",
        ];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            texts = texts
                .iter()
                .flat_map(|t| parts.iter().map(move |p| format!("{t}{p}")))
                .collect();
            for t in &texts {
                assert_eq!(check_escapes(t), check_escapes_bytewise(t), "{t:?}");
            }
        }
    }

    #[test]
    fn control_check_matches_char_is_control() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            for text in [format!("{c}"), format!("ab{c}cd"), format!("é{c}")] {
                assert_eq!(
                    has_control(&text),
                    text.chars().any(char::is_control),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn byte_order_mark_is_tolerated() {
        let line = format!("\u{feff}{SEND}");
        assert_eq!(parse(&line).unwrap().raw, SEND);
    }
}
