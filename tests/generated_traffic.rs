//! The generator's ground truth agrees with the validator: every record it labels malformed is
//! rejected with exactly that reason, and every valid one parses into the events it names.

use pushfeed::domain::event::Limits;
use pushfeed::domain::record::{for_each_item, Item};
use vendor_sim::{generate, TrafficProfile, Truth};

fn outcome(data: &[u8], arrival_ms: i64) -> Vec<Result<(String, String), String>> {
    let mut out = Vec::new();
    for_each_item(data, arrival_ms, &Limits::default(), |item| {
        out.push(match item {
            Item::Event(e) => Ok((e.id.into_owned(), e.event_type.into_owned())),
            Item::Rejected { reason, .. } => Err(reason.code()),
        })
    });
    out
}

#[test]
fn labels_match_the_validator() {
    let profile = TrafficProfile {
        minutes: 3,
        rate_per_second: 40.0,
        seed: 11,
        malformed: 0.05,
        duplicates: 0.05,
        ..TrafficProfile::default()
    };
    let records = generate(&profile);
    let (mut valid, mut malformed) = (0, 0);
    for (i, r) in records.iter().enumerate() {
        let got = outcome(&r.data, r.arrival_ms);
        match &r.truth {
            Truth::Valid { events } | Truth::Duplicate { events } => {
                let want: Vec<Result<(String, String), String>> = events
                    .iter()
                    .map(|e| Ok((e.id.clone(), e.event_type.clone())))
                    .collect();
                assert_eq!(
                    got,
                    want,
                    "record {i}: {}",
                    String::from_utf8_lossy(&r.data)
                );
                valid += 1;
            }
            Truth::Malformed { reason } => {
                assert_eq!(
                    got,
                    vec![Err(reason.to_string())],
                    "record {i}: {}",
                    String::from_utf8_lossy(&r.data)
                );
                malformed += 1;
            }
        }
    }
    assert!(
        valid > 5_000 && malformed > 200,
        "valid {valid}, malformed {malformed}"
    );
}
