//! The normalized staging row of a routed event: typed columns plus the raw event, one JSON line.
//! Its keys are the table's column names, so Redshift's jsonpaths and PostgreSQL's
//! `jsonb_populate_record` both map it by name.

use serde::Serialize;

use super::event::Event;
use super::keys::BatchId;
use super::window::{format_timestamp_ms, Window};

/// Per-record values shared by every event of the record, formatted once.
pub struct RowContext<'a> {
    pub window: Window,
    pub window_start: &'a str,
    pub arrived_at: &'a str,
    pub batch: &'a BatchId,
}

#[derive(Serialize)]
struct Row<'r> {
    event_id: &'r str,
    /// Not a column: Firehose's dynamic partitioning reads it to pick `window=W/`.
    window: Window,
    /// Not a column: the row's number in its batch, 0..count, so AwaitObjects counts rows
    /// delivered (Firehose may repeat one) without holding every event id.
    row: u64,
    window_start: &'r str,
    occurred_at: String,
    processed_at: String,
    arrived_at: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_type: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    named_user_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iana_timezone: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale_country_code: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_version: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_kind: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign_categories: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'r str>,
    batch_id: &'r str,
}

/// Appends the event's staging row, number `row` of its batch, and a newline to `out`.
pub fn write_row(out: &mut Vec<u8>, event: &Event<'_>, ctx: &RowContext<'_>, row: u64) {
    let row = Row {
        event_id: &event.id,
        window: ctx.window,
        row,
        window_start: ctx.window_start,
        occurred_at: format_timestamp_ms(event.occurred_ms),
        processed_at: format_timestamp_ms(event.processed_ms),
        arrived_at: ctx.arrived_at,
        channel_id: event.channel_id.as_deref(),
        device_type: event.device_type.as_deref(),
        named_user_id: event.named_user_id.as_deref(),
        iana_timezone: event.iana_timezone.as_deref(),
        locale_country_code: event.locale_country_code.as_deref(),
        app_version: event.app_version.as_deref(),
        push_id: event.push_id.as_deref(),
        group_id: event.group_id.as_deref(),
        variant_id: event.variant_id,
        open_kind: event.open_kind,
        session_id: event.session_id.as_deref(),
        campaign_categories: event.campaign_categories.as_deref(),
        reason: event.reason.as_deref(),
        batch_id: ctx.batch.as_str(),
    };
    let start = out.len();
    serde_json::to_writer(&mut *out, &row).expect("serializing to a Vec cannot fail");
    // The raw event is already valid JSON text: splice it in rather than parse and re-encode it.
    debug_assert_eq!(out.last(), Some(&b'}'));
    out.pop();
    out.extend_from_slice(b",\"raw\":");
    out.extend_from_slice(event.raw.as_bytes());
    out.extend_from_slice(b"}\n");
    debug_assert!(out.len() > start);
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
