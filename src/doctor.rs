//! `pushfeed doctor`: checks that a stage (or the local stack) is set up the way the task code
//! assumes, without sending data. Each check is one line, ok or FAIL with what to do; the AWS
//! probing lives in `adapters/aws/doctor.rs`, the comparisons that need no AWS live here.

use serde::Serialize;
use serde_json::Value;

use crate::domain::routes::Route;
use crate::domain::sql::LEDGER_TABLE;
use crate::ports::Warehouse;

/// One check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// Short and stable, e.g. `stream`, `firehose push_sends`, `table push_opens`.
    pub name: String,
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Every check of one run, in the order they ran.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn ok(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        });
    }

    pub fn fail(
        &mut self,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    /// Records `result` as ok (its detail) or FAIL (its detail and fix).
    pub fn record(&mut self, name: impl Into<String>, result: Result<String, (String, String)>) {
        match result {
            Ok(detail) => self.ok(name, detail),
            Err((detail, fix)) => self.fail(name, detail, fix),
        }
    }

    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| !c.ok).count()
    }

    /// One line per check: `ok    name: detail` or `FAIL  name: detail -> fix`.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| match &c.fix {
                None => format!("ok    {}: {}", c.name, c.detail),
                Some(fix) => format!("FAIL  {}: {} -> {}", c.name, c.detail, fix),
            })
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::json!({
            "ok": self.failures() == 0,
            "failures": self.failures(),
            "checks": self.checks,
        })
    }
}

/// Where a deployed definition differs from the file it was made from, as a JSON path and the
/// two values; None when it matches. In `template`, a string holding `${Name}` placeholders
/// (CloudFormation's DefinitionSubstitutions) matches any string with the placeholders' text
/// filled in and everything around them unchanged.
pub fn definition_difference(template: &Value, deployed: &Value) -> Option<String> {
    fn walk(path: &str, t: &Value, d: &Value) -> Option<String> {
        match (t, d) {
            (Value::Object(a), Value::Object(b)) => {
                for k in a.keys() {
                    if !b.contains_key(k) {
                        return Some(format!("{path}.{k} is missing"));
                    }
                }
                for k in b.keys() {
                    if !a.contains_key(k) {
                        return Some(format!("{path}.{k} is not in the file"));
                    }
                }
                a.iter()
                    .find_map(|(k, v)| walk(&format!("{path}.{k}"), v, &b[k]))
            }
            (Value::Array(a), Value::Array(b)) => {
                if a.len() != b.len() {
                    return Some(format!(
                        "{path} has {} entries, the file {}",
                        b.len(),
                        a.len()
                    ));
                }
                a.iter()
                    .zip(b)
                    .enumerate()
                    .find_map(|(i, (x, y))| walk(&format!("{path}[{i}]"), x, y))
            }
            (Value::String(a), Value::String(b)) if a.contains("${") => {
                (!placeholders_match(a, b)).then(|| format!("{path} is `{b}`, the file `{a}`"))
            }
            // A placeholder that stands for a whole number is filled into a string only.
            _ if t == d => None,
            _ => Some(format!("{path} is {d}, the file {t}")),
        }
    }
    walk("$", template, deployed)
}

/// True when `text` is `template` with each `${...}` replaced by some non-empty text.
fn placeholders_match(template: &str, text: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        literals.push(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => return template == text,
        }
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut middle = &text[first.len()..text.len() - last.len()];
    for lit in &literals[1..literals.len() - 1] {
        // Each placeholder fills at least one character before the next literal.
        match middle.get(1..).and_then(|m| m.find(lit)) {
            Some(i) => middle = &middle[1 + i + lit.len()..],
            None => return false,
        }
    }
    literals.len() == 1 || !middle.is_empty()
}

/// The state machine definition every stage runs (the CDK app inlines this file).
pub const DEFINITION: &str = include_str!("../statemachines/ingest-window.asl.json");

/// The warehouse checks, alike for Redshift (through the Data API, as the stage's identity) and
/// the local PostgreSQL: reachable, the ledger and every route's table with each column the
/// load writes, and each analyst view. Each probe selects no rows (`WHERE 1 = 0`), so it costs
/// nothing and changes nothing.
pub async fn warehouse_checks(
    warehouse: &dyn Warehouse,
    routes: &[Route],
    fix_schema: &str,
    report: &mut Report,
) {
    match warehouse.query("SELECT 1").await {
        Ok(_) => report.ok("warehouse", "reachable, and runs a query"),
        Err(e) => {
            report.fail(
                "warehouse",
                format!("cannot run a query: {e}"),
                "check the workgroup or cluster, the database, and that the secret or database user exists (see README, Deploy)",
            );
            return;
        }
    }
    let ledger = [
        "window_start",
        "event_type",
        "table_name",
        "batch_id",
        "object_count",
        "rows_staged",
        "rows_inserted",
        "rows_replaced",
        "execution",
        "loaded_at",
    ];
    probe(
        warehouse,
        "ledger",
        LEDGER_TABLE,
        &ledger,
        fix_schema,
        report,
    )
    .await;
    for r in routes {
        let columns: Vec<&str> = r.profile().columns().iter().map(|c| c.name).collect();
        probe(
            warehouse,
            &format!("table {}", r.table),
            &r.table,
            &columns,
            fix_schema,
            report,
        )
        .await;
    }
    for v in crate::domain::views::views(routes) {
        probe(
            warehouse,
            &format!("view {}", v.name),
            v.name,
            &["*"],
            fix_schema,
            report,
        )
        .await;
    }
}

async fn probe(
    warehouse: &dyn Warehouse,
    name: &str,
    relation: &str,
    columns: &[&str],
    fix_schema: &str,
    report: &mut Report,
) {
    let sql = format!("SELECT {} FROM {relation} WHERE 1 = 0", columns.join(", "));
    match warehouse.query(&sql).await {
        Ok(_) if columns == ["*"] => report.ok(name, "exists and can be read"),
        Ok(_) => report.ok(name, format!("has all {} columns", columns.len())),
        Err(e) => report.fail(
            name,
            format!("`{sql}` failed: {e}"),
            format!("create it (and any missing column) with `{fix_schema}`"),
        ),
    }
}

/// The local stack's doctor: the stream, the definition, and the warehouse.
pub async fn local(
    home: &crate::adapters::local::stack::Home,
    table: &crate::domain::routes::RoutingTable,
) -> Report {
    let routes = table.routes();
    use crate::adapters::local::stack::{self, Database, LocalStack};
    let mut report = Report::default();
    match crate::adapters::local::stream::LocalStream::open(home.stream_dir()) {
        Ok(s) => report.ok(
            "stream",
            format!(
                "{} with {} shards",
                home.stream_dir().display(),
                s.shard_count()
            ),
        ),
        Err(e) => report.fail(
            "stream",
            format!("{e}"),
            "put records first: `pushfeed produce --file F` or `pushfeed generate`",
        ),
    }
    match serde_json::from_str::<Value>(DEFINITION)
        .map_err(|e| e.to_string())
        .and_then(|_| asl::Definition::from_json(DEFINITION).map_err(|e| e.to_string()))
    {
        Ok(_) => report.ok("state machine", "the built-in definition parses"),
        Err(e) => report.fail("state machine", e, "rebuild pushfeed from a clean checkout"),
    }
    let hints = match stack::hints_from_env() {
        Ok(hints) => {
            report.ok(
                "environment",
                "PUSHFEED_FIREHOSE_INTERVAL_MS is unset or in range",
            );
            hints
        }
        Err(e) => {
            report.fail(
                "environment",
                e.to_string(),
                "unset PUSHFEED_FIREHOSE_INTERVAL_MS or set it in range",
            );
            return report;
        }
    };
    match LocalStack::start(home.clone(), table, Database::from_env(), hints)
    .await
    {
        Ok(stack) => {
            warehouse_checks(
                &*stack.warehouse,
                routes,
                "pushfeed schema --dialect postgres",
                &mut report,
            )
            .await;
            if let Err(e) = stack.shutdown().await {
                report.fail(
                    "warehouse shutdown",
                    e.to_string(),
                    "stop the private PostgreSQL under the home's postgres/ by hand",
                );
            }
        }
        Err(e) => report.fail(
            "warehouse",
            format!("the local warehouse does not start: {e}"),
            "install the PostgreSQL server binaries (apt-get install postgresql) or set PUSHFEED_DATABASE_URL",
        ),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_match_filled_text_only() {
        assert!(placeholders_match("${F}", "arn:aws:lambda:x"));
        assert!(!placeholders_match("${F}", ""));
        assert!(placeholders_match(
            "States.Format('${R} --from {}', $.w)",
            "States.Format('pushfeed replay --aws --from {}', $.w)"
        ));
        assert!(!placeholders_match(
            "States.Format('${R} --from {}', $.w)",
            "States.Format('pushfeed replay --to {}', $.w)"
        ));
        assert!(placeholders_match("a${X}b${Y}c", "a1b2c"));
        assert!(!placeholders_match("a${X}b${Y}c", "a1c"));
    }

    #[test]
    fn the_definition_matches_its_substituted_self_and_names_a_change() {
        let template: Value = serde_json::from_str(DEFINITION).unwrap();
        let mut values = std::collections::HashMap::new();
        for k in [
            "ReadWindowFunction",
            "DeliverFunction",
            "AwaitObjectsFunction",
            "LoadFunction",
            "FailureTopicArn",
            "Region",
            "ReplayCommand",
        ] {
            values.insert(k.to_string(), format!("arn:aws:x:{k}"));
        }
        values.insert("AwaitWaitSeconds".into(), "75".into());
        let filled = asl::substitute(DEFINITION, &values).unwrap();
        let mut deployed: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(definition_difference(&template, &deployed), None);
        deployed["StartAt"] = json!("Elsewhere");
        let d = definition_difference(&template, &deployed).unwrap();
        assert!(d.starts_with("$.StartAt is \"Elsewhere\""), "{d}");
    }

    #[test]
    fn a_failed_check_prints_its_fix() {
        let mut r = Report::default();
        r.ok("stream", "ACTIVE");
        r.fail("schedule", "DISABLED", "enable it");
        assert_eq!(r.failures(), 1);
        assert_eq!(
            r.lines(),
            [
                "ok    stream: ACTIVE",
                "FAIL  schedule: DISABLED -> enable it"
            ]
        );
        assert_eq!(r.json()["ok"], false);
    }
}
