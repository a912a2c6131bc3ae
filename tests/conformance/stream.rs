//! Stream scenarios: Kinesis's read semantics as ReadWindow relies on them.

use pushfeed::ports::{ErrorKind, StartingPosition, Stream, StreamRecord};

/// Reads a whole shard from TRIM_HORIZON, `limit` records at a time.
pub async fn read_all(stream: &dyn Stream, shard: &str, limit: usize) -> Vec<StreamRecord> {
    let mut out = Vec::new();
    let mut pos = StartingPosition::TrimHorizon;
    loop {
        let b = stream.read(shard, &pos, limit).await.unwrap();
        assert!(b.records.len() <= limit);
        let empty = b.records.is_empty();
        out.extend(b.records);
        match b.next {
            Some(next) if !empty => pos = next,
            _ => break,
        }
    }
    out
}

fn seq_lt(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

/// `data` holds the payloads put into `shard`, in order (at least 5); nothing else is in it.
pub async fn reads(stream: &dyn Stream, shard: &str, data: &[Vec<u8>]) {
    assert!(data.len() >= 5);
    let shards = stream.list_shards().await.unwrap();
    assert!(shards.iter().any(|s| s.shard_id == shard), "{shards:?}");

    // TRIM_HORIZON in pages of 2 reads everything, in order, exactly once.
    let all = read_all(stream, shard, 2).await;
    let got: Vec<&[u8]> = all.iter().map(|r| r.data.as_slice()).collect();
    let want: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
    assert_eq!(got, want);
    assert!(
        all.windows(2)
            .all(|w| seq_lt(&w[0].sequence_number, &w[1].sequence_number)),
        "sequence numbers increase"
    );
    assert!(
        all.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms),
        "arrival times never go back"
    );
    assert!(all
        .iter()
        .all(|r| !r.partition_key.is_empty() && r.arrival_ms > 0));

    // At the tip: no records, not behind, and a position to continue from.
    let last = &all[all.len() - 1];
    let tip = stream
        .read(
            shard,
            &StartingPosition::AfterSequenceNumber(last.sequence_number.clone()),
            10,
        )
        .await
        .unwrap();
    assert!(tip.records.is_empty());
    assert_eq!(tip.millis_behind_latest, 0);
    assert!(
        tip.next.is_some(),
        "an open shard always has a next position"
    );

    // A page that stops short of the tip says how far behind it is, and where to go on.
    let first = stream
        .read(shard, &StartingPosition::TrimHorizon, 1)
        .await
        .unwrap();
    assert_eq!(first.records.len(), 1);
    assert_eq!(
        first.next,
        Some(StartingPosition::AfterSequenceNumber(
            all[0].sequence_number.clone()
        ))
    );

    // AT_ and AFTER_SEQUENCE_NUMBER.
    let k = 2;
    let at = stream
        .read(
            shard,
            &StartingPosition::AtSequenceNumber(all[k].sequence_number.clone()),
            1,
        )
        .await
        .unwrap();
    assert_eq!(at.records[0].data, data[k]);
    let after = stream
        .read(
            shard,
            &StartingPosition::AfterSequenceNumber(all[k].sequence_number.clone()),
            100,
        )
        .await
        .unwrap();
    assert_eq!(after.records[0].data, data[k + 1]);
    assert_eq!(after.records.len(), data.len() - k - 1);

    // AT_TIMESTAMP: the first record that arrived at or after the instant.
    let t = all[k].arrival_ms;
    let from_t = stream
        .read(shard, &StartingPosition::AtTimestamp(t), 100)
        .await
        .unwrap();
    let expected_first = all.iter().position(|r| r.arrival_ms >= t).unwrap();
    assert_eq!(
        from_t.records[0].sequence_number,
        all[expected_first].sequence_number
    );
    assert_eq!(from_t.records.len(), all.len() - expected_first);
    let future = stream
        .read(
            shard,
            &StartingPosition::AtTimestamp(last.arrival_ms + 3_600_000),
            100,
        )
        .await
        .unwrap();
    assert!(future.records.is_empty());

    // A shard that does not exist.
    let e = stream
        .read("shardId-000000000999", &StartingPosition::TrimHorizon, 1)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(
        e.to_string().contains("shardId-000000000999"),
        "the error names the shard: {e}"
    );
}
