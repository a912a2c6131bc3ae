//! The bad-input corpus (`tests/corpus/`) through the real ReadWindow step on the local stream and
//! object store: every record is accounted for, each expected rejection reason is kept in
//! `rejected/` with the record's bytes, and nothing panics or hangs.
//!
//! No timers bound this test: its time is bounded by construction. The corpus is a fixed set of
//! records of at most 1 MiB each, the stream holds only them, a read stops at the tip of each
//! shard, and the parser's own limits (256 KiB per event, 1 MiB inflated per gzip record,
//! serde_json's recursion limit) bound the work per record. A hang would be a bug in one of those
//! bounds, and would show as this test never finishing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::event::Limits;
use pushfeed::domain::record::inflate;
use pushfeed::domain::window::{parse_timestamp_ms, Window};
use pushfeed::ports::{Clock, ObjectStore};
use pushfeed::steps::contract::{ReadWindowInput, ReadWindowOutput};
use pushfeed::steps::{read_window, Settings};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Manifest {
    arrival: String,
    window: String,
    kinds: Vec<Kind>,
}

#[derive(Debug, Clone, Deserialize)]
struct Kind {
    file: String,
    what: String,
    rejected: Vec<String>,
    routed: u64,
    unrouted: u64,
    duplicates: u64,
    /// The record is refused whole: the kept bytes are exactly the record's.
    line0: bool,
}

struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn manifest() -> Manifest {
    let bytes =
        std::fs::read(corpus_dir().join("expected.json")).expect("tests/corpus/expected.json");
    serde_json::from_slice(&bytes).expect("expected.json parses")
}

fn record_bytes(kind: &Kind) -> Vec<u8> {
    std::fs::read(corpus_dir().join("records").join(&kind.file))
        .unwrap_or_else(|e| panic!("{}: {e}", kind.file))
}

/// One kept rejection, decoded.
#[derive(Debug)]
struct KeptRejection {
    reason: String,
    line: u64,
    bytes: Vec<u8>,
    sequence_number: String,
}

async fn kept_rejections(store: &LocalObjectStore, out: &ReadWindowOutput) -> Vec<KeptRejection> {
    let Some(key) = &out.rejected.key else {
        return Vec::new();
    };
    let text = store.get(key).await.expect("rejected object is readable");
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_slice(l).expect("a rejected line is JSON");
            let bytes = match (&v["data"], &v["data_base64"]) {
                (Value::String(s), _) => s.as_bytes().to_vec(),
                (_, Value::String(b)) => base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .expect("data_base64 decodes"),
                _ => panic!("a rejected line keeps no bytes: {v}"),
            };
            KeptRejection {
                reason: v["reason"].as_str().expect("reason").to_string(),
                line: v["line"].as_u64().expect("line"),
                bytes,
                sequence_number: v["sequence_number"].as_str().expect("sequence").to_string(),
            }
        })
        .collect()
}

fn staged_rows(home: &Path, out: &ReadWindowOutput) -> u64 {
    out.routes
        .iter()
        .map(|r| {
            let text = std::fs::read(home.join("s3").join(&r.staging_key)).expect("staging object");
            let n = text
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count() as u64;
            assert_eq!(
                n, r.count,
                "staging object {} holds its count",
                r.staging_key
            );
            n
        })
        .sum()
}

struct Setup {
    _dir: tempfile::TempDir,
    home: PathBuf,
    stream: LocalStream,
    store: LocalObjectStore,
    window: Window,
    arrival: i64,
}

fn setup(shards: u32) -> Setup {
    let m = manifest();
    let dir = tempfile::Builder::new()
        .prefix("pf-corpus-")
        .tempdir()
        .unwrap();
    let home = dir.path().to_path_buf();
    Setup {
        stream: LocalStream::open_or_create(home.join("stream"), shards).unwrap(),
        store: LocalObjectStore::new(home.join("s3"), "corpus"),
        window: m.window.parse().unwrap(),
        arrival: parse_timestamp_ms(&m.arrival).unwrap(),
        _dir: dir,
        home,
    }
}

async fn read(s: &Setup) -> ReadWindowOutput {
    let clock = FixedClock(s.window.end_ms() + 10 * 60_000);
    let input = ReadWindowInput {
        window: Some(s.window),
        ..ReadWindowInput::default()
    };
    read_window(&s.stream, &s.store, &clock, &Settings::default(), input)
        .await
        .unwrap_or_else(|e| panic!("ReadWindow failed: {} {e}", e.name()))
}

/// ReadWindow stages every valid routed event, later copies included (the load drops those).
fn adds_up(out: &ReadWindowOutput) -> bool {
    let staged: u64 = out.routes.iter().map(|r| r.count).sum();
    out.read.events == out.rejected.count + out.unrouted.count + staged
}

/// Distinct event ids in objects of JSON lines that each lead with an `event_id` (staging rows,
/// unrouted events).
fn distinct_ids<'k>(home: &Path, keys: impl IntoIterator<Item = &'k str>) -> u64 {
    #[derive(Deserialize)]
    struct Id {
        event_id: String,
    }
    let mut ids = std::collections::BTreeSet::new();
    for key in keys {
        let text = std::fs::read(home.join("s3").join(key)).expect("a kept object");
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // Only the id: a raw event may hold numbers serde_json's Value refuses (1e999).
            let row: Id = serde_json::from_slice(line).expect("a line with an event_id");
            ids.insert(row.event_id);
        }
    }
    ids.len() as u64
}

#[test]
fn the_corpus_has_at_least_thirty_kinds_of_bad_input() {
    let m = manifest();
    let bad = m.kinds.iter().filter(|k| !k.rejected.is_empty()).count();
    assert!(bad >= 30, "only {bad} kinds of bad input");
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for k in &m.kinds {
        assert!(!k.what.is_empty(), "{} says what it is", k.file);
        assert!(
            corpus_dir().join("records").join(&k.file).is_file(),
            "{} exists",
            k.file
        );
        for r in &k.rejected {
            *reasons
                .entry(r.split(':').next().unwrap().to_string())
                .or_default() += 1;
        }
    }
    // Every family of rejection code is represented.
    for family in [
        "empty",
        "not_utf8",
        "not_json",
        "too_deep",
        "not_object",
        "missing_field",
        "wrong_type",
        "bad_timestamp",
        "future_timestamp",
        "ancient_timestamp",
        "duplicate_field",
        "bad_value",
        "nul_character",
        "too_large",
        "bad_gzip",
    ] {
        assert!(
            reasons.contains_key(family),
            "no corpus record is rejected as {family}"
        );
    }
}

/// Each record alone in its own window: its exact outcome.
#[tokio::test]
async fn each_kind_alone_is_accounted_for_and_kept_with_its_reason() {
    let m = manifest();
    let mut failures = Vec::new();
    for kind in &m.kinds {
        let data = record_bytes(kind);
        let s = setup(1);
        let put = s
            .stream
            .put_records(vec![PutRecord {
                partition_key: "corpus".into(),
                data: data.clone(),
                arrival_ms: Some(s.arrival),
            }])
            .unwrap();
        let out = read(&s).await;
        let kept = kept_rejections(&s.store, &out).await;
        let reasons: Vec<&str> = kept.iter().map(|k| k.reason.as_str()).collect();
        let staged = staged_rows(&s.home, &out);
        let routed = distinct_ids(&s.home, out.routes.iter().map(|r| r.staging_key.as_str()));
        let unrouted = distinct_ids(&s.home, out.unrouted.key.as_deref());
        let mut problems = Vec::new();
        if out.read.records != 1 {
            problems.push(format!("read {} records", out.read.records));
        }
        if !adds_up(&out) {
            problems.push(format!("does not add up: {:?}", out));
        }
        if reasons != kind.rejected {
            problems.push(format!(
                "rejected {reasons:?}, expected {:?}",
                kind.rejected
            ));
        }
        // Copies are staged (or kept as unrouted) like any event; the load drops them.
        let copies = (staged - routed) + (out.unrouted.count - unrouted);
        if (routed, unrouted, copies) != (kind.routed, kind.unrouted, kind.duplicates) {
            problems.push(format!(
                "routed/unrouted/copies {routed}/{unrouted}/{copies} (in {staged} staged rows), expected {}/{}/{}",
                kind.routed, kind.unrouted, kind.duplicates
            ));
        }
        let payload =
            inflate(&data, &Limits::default()).unwrap_or(std::borrow::Cow::Borrowed(&data[..]));
        for k in &kept {
            if k.sequence_number != put[0].sequence_number {
                problems.push(format!("kept under sequence {}", k.sequence_number));
            }
            if k.line == 0 {
                if k.bytes != data {
                    problems
                        .push("a whole-record rejection does not keep the record's bytes".into());
                }
            } else {
                let found = payload
                    .split(|&b| b == b'\n')
                    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                    .nth(k.line as usize - 1);
                if found != Some(&k.bytes[..]) {
                    problems.push(format!("line {} is not kept byte for byte", k.line));
                }
            }
        }
        if kind.line0 && !kept.iter().all(|k| k.line == 0) {
            problems.push("expected the whole record to be refused (line 0)".into());
        }
        // The raw archive holds the record byte for byte.
        let raw = s.store.get(&out.raw_key).await.unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut text)
            .unwrap();
        let archived: Value = serde_json::from_slice(text.split(|&b| b == b'\n').next().unwrap())
            .expect("one archived record");
        let archived = base64::engine::general_purpose::STANDARD
            .decode(archived["data_base64"].as_str().unwrap())
            .unwrap();
        if archived != data {
            problems.push("the raw archive does not hold the record byte for byte".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}): {}",
                kind.file,
                kind.what,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus kinds misbehave:\n{}",
        failures.len(),
        m.kinds.len(),
        failures.join("\n")
    );
}

/// The whole corpus in one window over four shards, then replayed from the checkpoint and from
/// the raw archive: the same accounting every time.
#[tokio::test]
async fn the_whole_corpus_in_one_window_adds_up_and_replays_identically() {
    let m = manifest();
    let s = setup(4);
    let puts: Vec<PutRecord> = m
        .kinds
        .iter()
        .enumerate()
        .map(|(i, k)| PutRecord {
            partition_key: format!("corpus-{i}"),
            data: record_bytes(k),
            arrival_ms: Some(s.arrival + i as i64),
        })
        .collect();
    s.stream.put_records(puts).unwrap();

    let first = read(&s).await;
    assert_eq!(first.read.source, "stream");
    assert_eq!(first.read.records, m.kinds.len() as u64);
    assert!(adds_up(&first), "{first:?}");
    let mut want: Vec<String> = m.kinds.iter().flat_map(|k| k.rejected.clone()).collect();
    want.sort();
    let mut got: Vec<String> = kept_rejections(&s.store, &first)
        .await
        .into_iter()
        .map(|k| k.reason)
        .collect();
    got.sort();
    assert_eq!(got, want);
    // Kinds share event ids on purpose (the control SEND recurs), so across records some valid
    // events become duplicates: the sum of the three is what must match.
    let valid: u64 = m
        .kinds
        .iter()
        .map(|k| k.routed + k.unrouted + k.duplicates)
        .sum();
    assert_eq!(staged_rows(&s.home, &first) + first.unrouted.count, valid);

    let summary = |o: &ReadWindowOutput| {
        (
            o.read.records,
            o.read.events,
            o.rejected.count,
            o.unrouted.count,
            o.routes
                .iter()
                .map(|r| (r.event_type.clone(), r.count))
                .collect::<Vec<_>>(),
        )
    };
    let again = read(&s).await;
    assert_eq!(again.read.source, "checkpoint");
    assert_eq!(summary(&again), summary(&first));

    // Past the stream's retention: the raw archive gives the same window.
    std::fs::remove_dir_all(s.stream.dir()).unwrap();
    std::fs::create_dir_all(s.stream.dir()).unwrap();
    let stream = LocalStream::open_or_create(s.stream.dir(), 4).unwrap();
    let s2 = Setup { stream, ..s };
    let replay = read(&s2).await;
    assert_eq!(replay.read.source, "archive");
    assert_eq!(summary(&replay), summary(&first));
}

/// One bad command line of `tests/corpus/cli/cases.json`.
#[derive(Debug, Deserialize)]
struct CliCase {
    what: String,
    args: Vec<String>,
    stderr: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    setup: Option<String>,
    exit: Option<i32>,
}

#[derive(Debug, Deserialize)]
struct CliCorpus {
    cases: Vec<CliCase>,
}

/// Runs the binary on one case in a fresh home; returns its exit code and stderr.
fn run_cli_case(case: &CliCase) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut home = dir.path().join("home");
    match case.setup.as_deref() {
        None => {}
        Some("home_is_a_file") => {
            home = dir.path().join("a-file");
            std::fs::write(&home, b"not a directory").unwrap();
        }
        Some("stream_json_garbage") => {
            let stream = home.join("stream/pushfeed");
            std::fs::create_dir_all(&stream).unwrap();
            std::fs::write(stream.join("stream.json"), b"\x00garbage{").unwrap();
            std::fs::write(stream.join("shardId-000000000000.log"), b"").unwrap();
        }
        Some(other) => panic!("{}: unknown setup `{other}`", case.what),
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pushfeed"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PUSHFEED_DATABASE_URL")
        .env_remove("PUSHFEED_ROUTES")
        .env_remove("PUSHFEED_FIREHOSE_INTERVAL_MS");
    if case.env.contains_key("PUSHFEED_HOME") {
        cmd.args(&case.args);
    } else {
        cmd.arg("--home").arg(&home).args(&case.args);
    }
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("pushfeed runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bad_command_line_gets_one_sentence_with_the_cause_and_the_fix() {
    let bytes = std::fs::read(corpus_dir().join("cli/cases.json")).expect("cli/cases.json");
    let corpus: CliCorpus = serde_json::from_slice(&bytes).expect("cli/cases.json parses");
    assert!(corpus.cases.len() >= 30, "{} cases", corpus.cases.len());
    let mut failures = Vec::new();
    for case in &corpus.cases {
        let (code, err) = run_cli_case(case);
        let one_line = err.trim_end().lines().count() == 1 && err.starts_with("pushfeed: ");
        let missing: Vec<&String> = case.stderr.iter().filter(|f| !err.contains(*f)).collect();
        let code_ok = match case.exit {
            Some(want) => code == Some(want),
            None => code.is_some_and(|c| c != 0),
        };
        if !one_line || !missing.is_empty() || !code_ok || err.contains("panicked") {
            failures.push(format!(
                "{} ({:?}): exit {code:?}, missing {missing:?}, stderr:\n{err}",
                case.what, case.args
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Hostile state machine definitions (`tests/corpus/statemachines/`) through
/// `pushfeed states run`: each ends with the quota AWS applies, never a runaway.
mod state_machines {
    use serde::Deserialize;
    use serde_json::Value;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    #[derive(Debug, Deserialize)]
    struct Cases {
        cases: Vec<Case>,
    }

    #[derive(Debug, Deserialize)]
    struct Case {
        file: String,
        input: Value,
        clocks: Vec<String>,
        status: Option<String>,
        error: Option<String>,
        cause: Option<String>,
        events: Option<usize>,
        output: Option<Value>,
        message: Option<String>,
    }

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/statemachines")
    }

    fn states_run(definition: &Path, input: &str, fast: bool) -> Output {
        let home = std::env::temp_dir().join(format!("pushfeed-sm-corpus-{}", std::process::id()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushfeed"));
        cmd.args(["--home", home.to_str().unwrap(), "--json", "states", "run"])
            .arg(definition)
            .args(["--input", input]);
        if fast {
            cmd.arg("--fast");
        }
        cmd.output().expect("pushfeed runs")
    }

    #[test]
    fn every_hostile_definition_ends_with_the_quota_aws_applies() {
        let cases: Cases = serde_json::from_slice(
            &std::fs::read(dir().join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json parses");
        assert!(cases.cases.len() >= 8);
        for case in &cases.cases {
            for clock in &case.clocks {
                let what = format!("{} ({clock} clock)", case.file);
                let out = states_run(
                    &dir().join(&case.file),
                    &case.input.to_string(),
                    clock == "fast",
                );
                let stderr = String::from_utf8_lossy(&out.stderr);
                let Some(status) = &case.status else {
                    assert!(!out.status.success(), "{what}: refused");
                    let message = case.message.as_deref().unwrap();
                    assert!(stderr.contains(message), "{what}: {stderr}");
                    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
                    continue;
                };
                let result: Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("{what}: {e}: {stderr}"));
                assert_eq!(
                    result["status"],
                    status.as_str(),
                    "{what}: {}",
                    result["cause"]
                );
                let expected_code = if status == "SUCCEEDED" { 0 } else { 3 };
                assert_eq!(out.status.code(), Some(expected_code), "{what}");
                if let Some(error) = &case.error {
                    assert_eq!(result["error"], error.as_str(), "{what}");
                }
                if let Some(cause) = &case.cause {
                    let got = result["cause"].as_str().unwrap_or_default();
                    assert!(got.contains(cause.as_str()), "{what}: {got}");
                }
                if let Some(events) = case.events {
                    assert_eq!(
                        result["history"].as_array().unwrap().len(),
                        events,
                        "{what}"
                    );
                }
                if let Some(output) = &case.output {
                    assert_eq!(&result["output"], output, "{what}");
                }
            }
        }
    }

    #[test]
    fn an_input_or_definition_over_the_quota_is_refused_before_it_runs() {
        let tmp = std::env::temp_dir().join(format!("pushfeed-sm-big-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        // 50 MB of input: refused without reading past the quota.
        let input = tmp.join("input.json");
        let blob = format!("{{\"blob\": \"{}\"}}", "x".repeat(50 * 1024 * 1024));
        std::fs::write(&input, blob).unwrap();
        let def = dir().join("filter.asl.json");
        let at = format!("@{}", input.display());
        let out = states_run(&def, &at, true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("262144 bytes") && stderr.contains("pass a smaller input"),
            "{stderr}"
        );
        // Exactly 256 KiB of input runs.
        let padding = 262_144 - r#"{"users":[],"pad":""}"#.len();
        let exact = format!(r#"{{"users":[],"pad":"{}"}}"#, "x".repeat(padding));
        assert_eq!(exact.len(), 262_144);
        std::fs::write(&input, exact).unwrap();
        let out = states_run(&def, &at, true);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A definition over 1 MB.
        let big_def = tmp.join("big.asl.json");
        let comment = "x".repeat(1_048_576);
        std::fs::write(
            &big_def,
            format!(r#"{{"Comment":"{comment}","StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}}"#),
        )
        .unwrap();
        let out = states_run(&big_def, "{}", true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("1048576 bytes"), "{stderr}");
        std::fs::remove_dir_all(&tmp).ok();
    }
}
