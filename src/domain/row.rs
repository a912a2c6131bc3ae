//! The normalized staging row of a routed event: typed columns plus the raw event, one JSON line.
//! Its keys are the table's column names, so Redshift's jsonpaths and the PostgreSQL stand-in's
//! COPY (adapters/local/copy_text.rs) both map it by name. `raw` comes last, so readers of the
//! other keys can stop before it (steps/await_objects.rs).

use super::event::Event;
use super::keys::BatchId;
use super::local_time::local_ms;
use super::window::{format_timestamp_ms, timestamp_ms_bytes, Window};

/// Per-record values shared by every event of the record, formatted once.
pub struct RowContext<'a> {
    pub window: Window,
    pub window_start: &'a str,
    pub arrived_at: &'a str,
    pub batch: &'a BatchId,
}

/// Appends the event's staging row, number `row` of its batch, and a newline to `out`.
///
/// Written by hand rather than through a `#[derive(Serialize)]` struct: the keys are constant
/// text, and the timestamps need no `String` each. The bytes are exactly what serde_json made of
/// that struct (the `rows_are_byte_identical_to_the_pinned_ones` test holds them): keys in the
/// table's column order, absent optional columns left out, strings and numbers as serde_json writes them.
pub fn write_row(out: &mut Vec<u8>, event: &Event<'_>, ctx: &RowContext<'_>, row: u64) {
    out.extend_from_slice(b"{\"event_id\":");
    write_str(out, &event.id);
    out.extend_from_slice(b",\"window\":");
    match ctx.window.name_bytes() {
        Some(name) => {
            out.push(b'"');
            out.extend_from_slice(&name);
            out.push(b'"');
        }
        None => write_str(out, &ctx.window.to_string()),
    }
    // Not a column: the row's number in its batch, 0..count, so AwaitObjects counts the rows
    // delivered (Firehose may repeat one) without holding every event id.
    out.extend_from_slice(b",\"row\":");
    write_json(out, &row);
    out.extend_from_slice(b",\"window_start\":");
    write_str(out, ctx.window_start);
    out.extend_from_slice(b",\"occurred_at\":");
    write_timestamp(out, event.occurred_ms);
    out.extend_from_slice(b",\"occurred_local\":");
    write_local_timestamp(
        out,
        local_ms(event.occurred_ms, event.iana_timezone.as_deref()),
    );
    out.extend_from_slice(b",\"processed_at\":");
    write_timestamp(out, event.processed_ms);
    out.extend_from_slice(b",\"arrived_at\":");
    write_str(out, ctx.arrived_at);
    let optional: [(&[u8], Option<&str>); 8] = [
        (b",\"channel_id\":", event.channel_id.as_deref()),
        (b",\"device_type\":", event.device_type.as_deref()),
        (b",\"named_user_id\":", event.named_user_id.as_deref()),
        (b",\"iana_timezone\":", event.iana_timezone.as_deref()),
        (
            b",\"locale_country_code\":",
            event.locale_country_code.as_deref(),
        ),
        (b",\"app_version\":", event.app_version.as_deref()),
        (b",\"push_id\":", event.push_id.as_deref()),
        (b",\"group_id\":", event.group_id.as_deref()),
    ];
    write_optional(out, &optional);
    if let Some(variant) = event.variant_id {
        out.extend_from_slice(b",\"variant_id\":");
        write_json(out, &variant);
    }
    let optional: [(&[u8], Option<&str>); 4] = [
        (b",\"open_kind\":", event.open_kind),
        (b",\"session_id\":", event.session_id.as_deref()),
        (
            b",\"campaign_categories\":",
            event.campaign_categories.as_deref(),
        ),
        (b",\"reason\":", event.reason.as_deref()),
    ];
    write_optional(out, &optional);
    out.extend_from_slice(b",\"batch_id\":");
    write_str(out, ctx.batch.as_str());
    // The raw event is already valid JSON text: splice it in rather than parse and re-encode it.
    out.extend_from_slice(b",\"raw\":");
    out.extend_from_slice(event.raw.as_bytes());
    out.extend_from_slice(b"}\n");
}

fn write_optional(out: &mut Vec<u8>, columns: &[(&[u8], Option<&str>)]) {
    for (key, value) in columns {
        if let Some(value) = value {
            out.extend_from_slice(key);
            write_str(out, value);
        }
    }
}

fn write_timestamp(out: &mut Vec<u8>, ms: i64) {
    match timestamp_ms_bytes(ms) {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(&text);
            out.push(b'"');
        }
        None => write_str(out, &format_timestamp_ms(ms)),
    }
}

/// A wall-clock reading without a zone, `2026-11-26 10:00:58.120`: a form both Redshift's COPY
/// (TIMEFORMAT 'auto' lists `YYYY-MM-DD HH:MI:SS.SSS`) and PostgreSQL read into a TIMESTAMP.
fn write_local_timestamp(out: &mut Vec<u8>, ms: i64) {
    out.push(b'"');
    match timestamp_ms_bytes(ms) {
        Some(mut text) => {
            text[10] = b' ';
            out.extend_from_slice(&text[..23]);
        }
        None => {
            let text = format_timestamp_ms(ms).replacen('T', " ", 1);
            out.extend_from_slice(text.trim_end_matches('Z').as_bytes());
        }
    }
    out.push(b'"');
}

/// A JSON string as serde_json writes it.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Column values almost never need escaping: one pass without early exit (which the compiler
    // vectorizes) is quicker than serde_json's table lookup and branch per byte.
    let plain = !bytes.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        write_json(out, s);
    }
}

/// A number, or a string that needs escaping, as serde_json writes it.
fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("a string or a number serializes into a Vec");
}

/// The `window` and `batch_id` of a staging row, read back without parsing the raw event.
/// Borrowed where the JSON has no escapes; an event id may well contain a quote.
#[derive(serde::Deserialize)]
pub struct RowTags<'a> {
    #[serde(borrow)]
    pub window: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub batch_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub event_id: std::borrow::Cow<'a, str>,
    pub row: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{parse_event, Limits};
    use crate::domain::window::parse_timestamp_ms;

    /// Events of every shape the row writer handles, for the byte-exact pin below.
    const PINNED_EVENTS: &[&str] = &[
        // Current device shape, attributes, fractional timestamps, `offset` as a number.
        r#"{"id":"9c1e3f80-5b7a-11ef-8000-00000000a001","offset":1000001,"occurred":"2026-11-26T10:00:58.120Z","processed":"2026-11-26T10:00:58.990Z","type":"SEND","device":{"channel":"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","device_type":"IOS","named_user_id":"cust-0042017","attributes":{"app_version":"8.14.0","iana_timezone":"Europe/London","locale_country_code":"GB"}},"body":{"push_id":"5d1c2b3a-0000-4000-8000-0000000000aa","group_id":"77aa66bb-0000-4000-8000-0000000000bb","variant_id":2}}"#,
        // Older device shape, whole-second timestamps, an offset other than Z, a reason with
        // escapes that must be re-escaped (quote, backslash, newline, tab, a control character).
        r#"{"id":"e-2","occurred":"2026-11-26T11:01:05+01:00","processed":"2026-11-26T10:01:05Z","type":"SEND_REJECTED","device":{"android_channel":"aa00bb11","named_user_id":"cust-\"q\"\\x"},"body":{"push_id":"p\u00e9","reason":"Un\"reg\\is\ntered\t\u0001\u001f/\u007f"}}"#,
        // Amazon channel, user named outside the device, unicode (raw and escaped, a pair),
        // more than three fractional digits (truncated) and a lower-case `t`/`z`.
        r#"{"id":"e-3 ünï","occurred":"2026-11-26t10:00:59.123987z","processed":"2026-11-26T10:00:59.9999999Z","type":"WEB_CLICK","device":{"amazon_channel":"amz-1"},"user":{"named_user_id":"\ud83d\ude00 Zoë"},"body":{"push_id":"p3","variant_id":-7}}"#,
        // Open: direct with categories, then influenced, then organic with nothing optional.
        r#"{"id":"o-1","occurred":"2026-11-26T10:01:03.5Z","processed":"2026-11-26T10:01:04.01Z","type":"OPEN","device":{"channel":"c-1","device_type":"ANDROID","ios_channel":"ignored"},"body":{"session_id":"s-1","triggering_push":{"push_id":"tp","group_id":"tg","variant_id":0,"campaigns":{"categories":["black-friday","wo\"mens","é\\"]}}}}"#,
        r#"{"id":"o-2","occurred":"2026-11-26T10:01:03Z","processed":"2026-11-26T10:01:03Z","type":"OPEN","body":{"last_delivered":{"push_id":"ld"}}}"#,
        r#"{"id":"o-3","occurred":"2026-11-25T23:59:59.001-00:30","processed":"2026-11-26T10:01:03.000Z","type":"OPEN","body":null}"#,
        // No device, no body; a generic type; a year boundary and a month end in the past.
        r#"{"id":"u-1","occurred":"2025-12-31T23:59:59.999Z","processed":"2026-01-01T00:00:00Z","type":"UNINSTALL"}"#,
        r#"{"id":"g-1","occurred":"2026-02-28T12:00:00.5Z","processed":"2026-11-26T10:01:00Z","type":"CUSTOM_2","device":{"device_type":"WEB"},"body":{"anything":[1,{"x":"\u0041"}]}}"#,
        // Aborted with no reason, control with a group only.
        r#"{"id":"a-1","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","type":"SEND_ABORTED","body":{"push_id":"pa"}}"#,
        r#"{"id":"c-1","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","type":"CONTROL","body":{"push_id":"pc","group_id":"gc","reason":"not kept"}}"#,
        // Local times in summer: New York (EDT, -4 h), and a zone not in the database (London, BST).
        r#"{"id":"z-1","occurred":"2026-07-01T12:00:00.250Z","processed":"2026-07-01T12:00:01Z","type":"OPEN","device":{"channel":"c-ny","attributes":{"iana_timezone":"America/New_York"}},"body":{}}"#,
        r#"{"id":"z-2","occurred":"2026-07-01T12:00:00Z","processed":"2026-07-01T12:00:00Z","type":"UNINSTALL","device":{"channel":"c-x","attributes":{"iana_timezone":"Mars/Olympus_Mons"}}}"#,
    ];

    /// What `write_row` made of `PINNED_EVENTS` before it was hand-written (serde_json's `Row`
    /// serializer and chrono's formatting), with `occurred_local` worked out by hand from the
    /// zones' rules; any drift in a byte of a staging row fails here.
    const PINNED_ROWS: &str = concat!(
        "{\"event_id\":\"9c1e3f80-5b7a-11ef-8000-00000000a001\",\"window\":\"2026-11-26T10:01Z\",\"row\":0,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:00:58.120Z\",\"occurred_local\":\"2026-11-26 10:00:58.120\",\"processed_at\":\"2026-11-26T10:00:58.990Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"channel_id\":\"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b\",\"device_type\":\"IOS\",\"named_user_id\":\"cust-0042017\",\"iana_timezone\":\"Europe/London\",\"locale_country_code\":\"GB\",\"app_version\":\"8.14.0\",\"push_id\":\"5d1c2b3a-0000-4000-8000-0000000000aa\",\"group_id\":\"77aa66bb-0000-4000-8000-0000000000bb\",\"variant_id\":2,\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"9c1e3f80-5b7a-11ef-8000-00000000a001\",\"offset\":1000001,\"occurred\":\"2026-11-26T10:00:58.120Z\",\"processed\":\"2026-11-26T10:00:58.990Z\",\"type\":\"SEND\",\"device\":{\"channel\":\"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b\",\"device_type\":\"IOS\",\"named_user_id\":\"cust-0042017\",\"attributes\":{\"app_version\":\"8.14.0\",\"iana_timezone\":\"Europe/London\",\"locale_country_code\":\"GB\"}},\"body\":{\"push_id\":\"5d1c2b3a-0000-4000-8000-0000000000aa\",\"group_id\":\"77aa66bb-0000-4000-8000-0000000000bb\",\"variant_id\":2}}}\n",
        "{\"event_id\":\"e-2\",\"window\":\"2026-11-26T10:01Z\",\"row\":1,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:01:05.000Z\",\"occurred_local\":\"2026-11-26 10:01:05.000\",\"processed_at\":\"2026-11-26T10:01:05.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"channel_id\":\"aa00bb11\",\"device_type\":\"ANDROID\",\"named_user_id\":\"cust-\\\"q\\\"\\\\x\",\"push_id\":\"pé\",\"reason\":\"Un\\\"reg\\\\is\\ntered\\t\\u0001\\u001f/\u{7f}\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"e-2\",\"occurred\":\"2026-11-26T11:01:05+01:00\",\"processed\":\"2026-11-26T10:01:05Z\",\"type\":\"SEND_REJECTED\",\"device\":{\"android_channel\":\"aa00bb11\",\"named_user_id\":\"cust-\\\"q\\\"\\\\x\"},\"body\":{\"push_id\":\"p\\u00e9\",\"reason\":\"Un\\\"reg\\\\is\\ntered\\t\\u0001\\u001f/\\u007f\"}}}\n",
        "{\"event_id\":\"e-3 ünï\",\"window\":\"2026-11-26T10:01Z\",\"row\":2,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:00:59.123Z\",\"occurred_local\":\"2026-11-26 10:00:59.123\",\"processed_at\":\"2026-11-26T10:00:59.999Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"channel_id\":\"amz-1\",\"device_type\":\"AMAZON\",\"named_user_id\":\"😀 Zoë\",\"push_id\":\"p3\",\"variant_id\":-7,\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"e-3 ünï\",\"occurred\":\"2026-11-26t10:00:59.123987z\",\"processed\":\"2026-11-26T10:00:59.9999999Z\",\"type\":\"WEB_CLICK\",\"device\":{\"amazon_channel\":\"amz-1\"},\"user\":{\"named_user_id\":\"\\ud83d\\ude00 Zoë\"},\"body\":{\"push_id\":\"p3\",\"variant_id\":-7}}}\n",
        "{\"event_id\":\"o-1\",\"window\":\"2026-11-26T10:01Z\",\"row\":3,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:01:03.500Z\",\"occurred_local\":\"2026-11-26 10:01:03.500\",\"processed_at\":\"2026-11-26T10:01:04.010Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"channel_id\":\"c-1\",\"device_type\":\"ANDROID\",\"push_id\":\"tp\",\"group_id\":\"tg\",\"variant_id\":0,\"open_kind\":\"direct\",\"session_id\":\"s-1\",\"campaign_categories\":\"black-friday,wo\\\"mens,é\\\\\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"o-1\",\"occurred\":\"2026-11-26T10:01:03.5Z\",\"processed\":\"2026-11-26T10:01:04.01Z\",\"type\":\"OPEN\",\"device\":{\"channel\":\"c-1\",\"device_type\":\"ANDROID\",\"ios_channel\":\"ignored\"},\"body\":{\"session_id\":\"s-1\",\"triggering_push\":{\"push_id\":\"tp\",\"group_id\":\"tg\",\"variant_id\":0,\"campaigns\":{\"categories\":[\"black-friday\",\"wo\\\"mens\",\"é\\\\\"]}}}}}\n",
        "{\"event_id\":\"o-2\",\"window\":\"2026-11-26T10:01Z\",\"row\":4,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:01:03.000Z\",\"occurred_local\":\"2026-11-26 10:01:03.000\",\"processed_at\":\"2026-11-26T10:01:03.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"push_id\":\"ld\",\"open_kind\":\"influenced\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"o-2\",\"occurred\":\"2026-11-26T10:01:03Z\",\"processed\":\"2026-11-26T10:01:03Z\",\"type\":\"OPEN\",\"body\":{\"last_delivered\":{\"push_id\":\"ld\"}}}}\n",
        "{\"event_id\":\"o-3\",\"window\":\"2026-11-26T10:01Z\",\"row\":5,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T00:29:59.001Z\",\"occurred_local\":\"2026-11-26 00:29:59.001\",\"processed_at\":\"2026-11-26T10:01:03.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"open_kind\":\"organic\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"o-3\",\"occurred\":\"2026-11-25T23:59:59.001-00:30\",\"processed\":\"2026-11-26T10:01:03.000Z\",\"type\":\"OPEN\",\"body\":null}}\n",
        "{\"event_id\":\"u-1\",\"window\":\"2026-11-26T10:01Z\",\"row\":6,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2025-12-31T23:59:59.999Z\",\"occurred_local\":\"2025-12-31 23:59:59.999\",\"processed_at\":\"2026-01-01T00:00:00.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"u-1\",\"occurred\":\"2025-12-31T23:59:59.999Z\",\"processed\":\"2026-01-01T00:00:00Z\",\"type\":\"UNINSTALL\"}}\n",
        "{\"event_id\":\"g-1\",\"window\":\"2026-11-26T10:01Z\",\"row\":7,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-02-28T12:00:00.500Z\",\"occurred_local\":\"2026-02-28 12:00:00.500\",\"processed_at\":\"2026-11-26T10:01:00.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"device_type\":\"WEB\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"g-1\",\"occurred\":\"2026-02-28T12:00:00.5Z\",\"processed\":\"2026-11-26T10:01:00Z\",\"type\":\"CUSTOM_2\",\"device\":{\"device_type\":\"WEB\"},\"body\":{\"anything\":[1,{\"x\":\"\\u0041\"}]}}}\n",
        "{\"event_id\":\"a-1\",\"window\":\"2026-11-26T10:01Z\",\"row\":8,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:01:00.000Z\",\"occurred_local\":\"2026-11-26 10:01:00.000\",\"processed_at\":\"2026-11-26T10:01:00.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"push_id\":\"pa\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"a-1\",\"occurred\":\"2026-11-26T10:01:00Z\",\"processed\":\"2026-11-26T10:01:00Z\",\"type\":\"SEND_ABORTED\",\"body\":{\"push_id\":\"pa\"}}}\n",
        "{\"event_id\":\"c-1\",\"window\":\"2026-11-26T10:01Z\",\"row\":9,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-11-26T10:01:00.000Z\",\"occurred_local\":\"2026-11-26 10:01:00.000\",\"processed_at\":\"2026-11-26T10:01:00.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"push_id\":\"pc\",\"group_id\":\"gc\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"c-1\",\"occurred\":\"2026-11-26T10:01:00Z\",\"processed\":\"2026-11-26T10:01:00Z\",\"type\":\"CONTROL\",\"body\":{\"push_id\":\"pc\",\"group_id\":\"gc\",\"reason\":\"not kept\"}}}\n",
        "{\"event_id\":\"z-1\",\"window\":\"2026-11-26T10:01Z\",\"row\":10,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-07-01T12:00:00.250Z\",\"occurred_local\":\"2026-07-01 08:00:00.250\",\"processed_at\":\"2026-07-01T12:00:01.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"channel_id\":\"c-ny\",\"iana_timezone\":\"America/New_York\",\"open_kind\":\"organic\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"z-1\",\"occurred\":\"2026-07-01T12:00:00.250Z\",\"processed\":\"2026-07-01T12:00:01Z\",\"type\":\"OPEN\",\"device\":{\"channel\":\"c-ny\",\"attributes\":{\"iana_timezone\":\"America/New_York\"}},\"body\":{}}}\n",
        "{\"event_id\":\"z-2\",\"window\":\"2026-11-26T10:01Z\",\"row\":11,\"window_start\":\"2026-11-26T10:01:00.000Z\",\"occurred_at\":\"2026-07-01T12:00:00.000Z\",\"occurred_local\":\"2026-07-01 13:00:00.000\",\"processed_at\":\"2026-07-01T12:00:00.000Z\",\"arrived_at\":\"2026-11-26T10:01:00.500Z\",\"channel_id\":\"c-x\",\"iana_timezone\":\"Mars/Olympus_Mons\",\"batch_id\":\"b-pin\",\"raw\":{\"id\":\"z-2\",\"occurred\":\"2026-07-01T12:00:00Z\",\"processed\":\"2026-07-01T12:00:00Z\",\"type\":\"UNINSTALL\",\"device\":{\"channel\":\"c-x\",\"attributes\":{\"iana_timezone\":\"Mars/Olympus_Mons\"}}}}\n",
    );

    #[test]
    fn rows_are_byte_identical_to_the_pinned_ones() {
        let arrival = parse_timestamp_ms("2026-11-26T10:01:00.5Z").unwrap();
        let window = Window::containing(arrival);
        let batch: BatchId = "b-pin".parse().unwrap();
        let ctx = RowContext {
            window,
            window_start: &window.start_rfc3339(),
            arrived_at: &format_timestamp_ms(arrival),
            batch: &batch,
        };
        let mut out = Vec::new();
        for (i, line) in PINNED_EVENTS.iter().enumerate() {
            let event = parse_event(line, arrival, &Limits::default())
                .unwrap_or_else(|r| panic!("{line} rejected: {r}"));
            write_row(&mut out, &event, &ctx, i as u64);
        }
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, PINNED_ROWS);
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut text: String = (0u8..0x80).map(char::from).collect();
        text.push_str("é😀\u{80}\u{9f}\u{2028}\u{feff}");
        for s in [text.as_str(), "", "plain", "\"", "\\\\", "end\u{1}"] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn row_has_columns_by_name_and_the_raw_event() {
        let line = r#"{"id":"e1","type":"SEND","occurred":"2026-11-26T10:00:58.12Z","processed":"2026-11-26T10:00:59Z","device":{"ios_channel":"c1"},"body":{"push_id":"p1","variant_id":3}}"#;
        let arrival = parse_timestamp_ms("2026-11-26T10:01:00.5Z").unwrap();
        let event = parse_event(line, arrival, &Limits::default()).unwrap();
        let window = Window::containing(arrival);
        let batch: BatchId = "b1".parse().unwrap();
        let ctx = RowContext {
            window,
            window_start: &window.start_rfc3339(),
            arrived_at: &format_timestamp_ms(arrival),
            batch: &batch,
        };
        let mut out = Vec::new();
        write_row(&mut out, &event, &ctx, 41);
        assert_eq!(out.last(), Some(&b'\n'));
        let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["event_id"], "e1");
        assert_eq!(row["window"], "2026-11-26T10:01Z");
        assert_eq!(row["window_start"], "2026-11-26T10:01:00.000Z");
        assert_eq!(row["occurred_at"], "2026-11-26T10:00:58.120Z");
        assert_eq!(row["arrived_at"], "2026-11-26T10:01:00.500Z");
        assert_eq!(row["channel_id"], "c1");
        assert_eq!(row["device_type"], "IOS");
        assert_eq!(row["push_id"], "p1");
        assert_eq!(row["variant_id"], 3);
        assert_eq!(row["batch_id"], "b1");
        assert_eq!(row["row"], 41);
        assert_eq!(row["raw"]["body"]["variant_id"], 3);
        assert!(row.get("group_id").is_none());
        let tags: RowTags = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            (&*tags.window, &*tags.batch_id, &*tags.event_id, tags.row),
            ("2026-11-26T10:01Z", "b1", "e1", 41)
        );
    }
}
