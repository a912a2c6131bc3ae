//! Delivery scenarios: what Deliver relies on from Firehose's PutRecordBatch and from its local
//! stand-in. `received` returns the records that reached the delivery stream since it was last
//! called, in order; `fails_marked` says whether the service under test fails the records holding
//! `"fail":true` (the SDK's mocks stage that; the stand-in never fails a record).

use pushfeed::ports::{
    Delivery, ErrorKind, DELIVERY_MAX_BATCH_BYTES, DELIVERY_MAX_BATCH_RECORDS,
    DELIVERY_MAX_RECORD_BYTES,
};

/// The streams a scenario puts into.
pub struct Streams<'a> {
    /// A delivery stream the adapter knows (a route's).
    pub known: &'a str,
    pub unknown: &'a str,
}

pub async fn all(
    d: &dyn Delivery,
    streams: &Streams<'_>,
    fails_marked: bool,
    received: impl AsyncFn() -> Vec<Vec<u8>>,
) {
    delivers_in_order(d, streams, &received).await;
    an_empty_batch_sends_nothing(d, streams, &received).await;
    batch_limits_are_enforced(d, streams, &received).await;
    per_record_failures_are_reported_in_order(d, streams, fails_marked, &received).await;
    an_unknown_stream_is_refused_by_name(d, streams, &received).await;
}

/// A record as Deliver sends it: one JSON line with the window Firehose partitions on.
fn record(n: usize, extra: &str) -> Vec<u8> {
    format!("{{\"window\":\"2026-11-26T10:01Z\",\"n\":{n}{extra}}}\n").into_bytes()
}

/// A record of exactly `len` bytes.
fn sized(n: usize, len: usize) -> Vec<u8> {
    let bare = record(n, ",\"pad\":\"\"").len();
    assert!(len >= bare);
    record(n, &format!(",\"pad\":\"{}\"", "p".repeat(len - bare)))
}

pub async fn delivers_in_order(
    d: &dyn Delivery,
    s: &Streams<'_>,
    received: &impl AsyncFn() -> Vec<Vec<u8>>,
) {
    let records: Vec<Vec<u8>> = (0..3)
        .map(|i| record(i, ",\"text\":\"é ☃ 🎉 \\\"q\\\" \\\\ \\n\""))
        .collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let out = d.put_batch(s.known, &refs).await.unwrap();
    assert_eq!(
        out.failed,
        vec![None; 3],
        "every record accepted, one entry each in order"
    );
    assert_eq!(
        received().await,
        records,
        "the records arrive byte for byte, in order"
    );
}

pub async fn an_empty_batch_sends_nothing(
    d: &dyn Delivery,
    s: &Streams<'_>,
    received: &impl AsyncFn() -> Vec<Vec<u8>>,
) {
    let out = d.put_batch(s.known, &[]).await.unwrap();
    assert!(out.failed.is_empty());
    assert!(received().await.is_empty());
}

/// PutRecordBatch's limits, as the port states them: 500 records, 4 MiB a call, 1,000 KiB a
/// record. A batch at each limit is accepted; one byte or record over is refused before it
/// reaches the service, naming the stream.
pub async fn batch_limits_are_enforced(
    d: &dyn Delivery,
    s: &Streams<'_>,
    received: &impl AsyncFn() -> Vec<Vec<u8>>,
) {
    let many: Vec<Vec<u8>> = (0..DELIVERY_MAX_BATCH_RECORDS)
        .map(|i| record(i, ""))
        .collect();
    let refs: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
    assert_eq!(d.put_batch(s.known, &refs).await.unwrap().failed_count(), 0);
    assert_eq!(received().await.len(), DELIVERY_MAX_BATCH_RECORDS);
    let over: Vec<Vec<u8>> = (0..=DELIVERY_MAX_BATCH_RECORDS)
        .map(|i| record(i, ""))
        .collect();
    let refs: Vec<&[u8]> = over.iter().map(Vec::as_slice).collect();
    let e = d.put_batch(s.known, &refs).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent, "{e}");
    assert!(
        e.to_string().contains(s.known),
        "the error names the stream: {e}"
    );

    let largest = sized(0, DELIVERY_MAX_RECORD_BYTES);
    assert_eq!(
        d.put_batch(s.known, &[&largest])
            .await
            .unwrap()
            .failed_count(),
        0
    );
    assert_eq!(received().await, vec![largest]);
    let too_large = sized(1, DELIVERY_MAX_RECORD_BYTES + 1);
    let e = d
        .put_batch(
            s.known,
            &[b"{\"window\":\"2026-11-26T10:01Z\"}\n", &too_large],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent, "{e}");
    assert!(
        e.to_string().contains("record 1"),
        "the error names the record: {e}"
    );

    // Four records of 1,000 KiB and one that brings the call to exactly 4 MiB.
    let mut full: Vec<Vec<u8>> = (0..4)
        .map(|i| sized(i, DELIVERY_MAX_RECORD_BYTES))
        .collect();
    full.push(sized(
        4,
        DELIVERY_MAX_BATCH_BYTES - 4 * DELIVERY_MAX_RECORD_BYTES,
    ));
    let refs: Vec<&[u8]> = full.iter().map(Vec::as_slice).collect();
    assert_eq!(
        refs.iter().map(|r| r.len()).sum::<usize>(),
        DELIVERY_MAX_BATCH_BYTES
    );
    assert_eq!(d.put_batch(s.known, &refs).await.unwrap().failed_count(), 0);
    assert_eq!(received().await.len(), 5);
    full[4] = sized(
        4,
        DELIVERY_MAX_BATCH_BYTES - 4 * DELIVERY_MAX_RECORD_BYTES + 1,
    );
    let refs: Vec<&[u8]> = full.iter().map(Vec::as_slice).collect();
    let e = d.put_batch(s.known, &refs).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent, "{e}");

    assert!(
        received().await.is_empty(),
        "refused batches never reach the stream"
    );
}

/// A partial failure is not an error: each record's outcome comes back in input order, and only
/// the accepted ones arrive.
pub async fn per_record_failures_are_reported_in_order(
    d: &dyn Delivery,
    s: &Streams<'_>,
    fails_marked: bool,
    received: &impl AsyncFn() -> Vec<Vec<u8>>,
) {
    let records: Vec<Vec<u8>> = (0..5)
        .map(|i| record(i, if i % 2 == 1 { ",\"fail\":true" } else { "" }))
        .collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let out = d.put_batch(s.known, &refs).await.unwrap();
    assert_eq!(out.failed.len(), 5);
    let arrived = received().await;
    if fails_marked {
        let failed: Vec<bool> = out.failed.iter().map(Option::is_some).collect();
        assert_eq!(
            failed,
            [false, true, false, true, false],
            "{:?}",
            out.failed
        );
        assert!(out.failed[1]
            .as_deref()
            .unwrap()
            .starts_with("ServiceUnavailableException"));
        assert_eq!(
            arrived,
            vec![records[0].clone(), records[2].clone(), records[4].clone()]
        );
    } else {
        assert_eq!(out.failed_count(), 0);
        assert_eq!(arrived, records);
    }
}

pub async fn an_unknown_stream_is_refused_by_name(
    d: &dyn Delivery,
    s: &Streams<'_>,
    received: &impl AsyncFn() -> Vec<Vec<u8>>,
) {
    let e = d.put_batch(s.unknown, &[&record(0, "")]).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(
        e.to_string().contains(s.unknown),
        "the error names the stream: {e}"
    );
    assert!(received().await.is_empty());
}
