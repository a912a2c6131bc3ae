//! The analyst views (docs/analysts.md, "Views"): campaign performance, holdout uplift, customer
//! send hours and customer push engagement, as SQL text per dialect, created after the tables.
//!
//! Each view's query is the same text in both dialects; only the statement that creates it
//! differs (see [`create_views`]). The queries keep to what both warehouses run alike: no
//! `FILTER`, no `generate_series`, no time zone functions (the local hour comes from the
//! `occurred_local` column that ReadWindow fills), counts cast to BIGINT and rates to DOUBLE
//! PRECISION. Look-back windows end at the latest `occurred_at` of the table they read, never at
//! the clock, so the same rows always give the same answer. They are written in hours (60 days
//! is `INTERVAL '1440 hours'`): PostgreSQL adds a day interval to a TIMESTAMPTZ in the session's
//! time zone, so across a daylight-saving change `'60 days'` would be 1439 or 1441 hours for an
//! analyst whose session is not in UTC.

use super::routes::Route;
use super::sql::Dialect;

pub const CAMPAIGN_PERFORMANCE: &str = "push_campaign_performance";
pub const HOLDOUT_UPLIFT: &str = "push_holdout_uplift";
pub const CUSTOMER_SEND_HOURS: &str = "customer_send_hours";
pub const CUSTOMER_PUSH_ENGAGEMENT: &str = "customer_push_engagement";

/// Every view's name, in creation order; no route may name a table after one.
pub const VIEW_NAMES: [&str; 4] = [
    CAMPAIGN_PERFORMANCE,
    HOLDOUT_UPLIFT,
    CUSTOMER_SEND_HOURS,
    CUSTOMER_PUSH_ENGAGEMENT,
];

/// One view: its name and the query that defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub name: &'static str,
    pub query: String,
}

/// The tables the views read, by the event type routed to them, each as a derived table without
/// the canary's rows (so every `FROM` of one carries an alias).
struct Tables {
    sends: Option<String>,
    opens: Option<String>,
    rejections: Option<String>,
    aborts: Option<String>,
    controls: Option<String>,
}

/// Every `pushfeed canary` event's `id` (so its table's `event_id`) starts with this. The
/// analyst views exclude it; a vendor id never has it (Airship ids are UUIDs).
pub const CANARY_ID_PREFIX: &str = "pushfeed-canary-";

/// A table's rows without those `pushfeed canary` put (their stable id prefix,
/// [`CANARY_ID_PREFIX`]): analysts never see the deployment's own test events.
fn without_canaries(table: &str) -> String {
    format!("(SELECT * FROM {table} WHERE event_id NOT LIKE '{CANARY_ID_PREFIX}%')")
}

impl Tables {
    fn of(routes: &[Route]) -> Tables {
        let table = |event_type: &str| {
            routes
                .iter()
                .find(|r| r.event_type == event_type)
                .map(|r| without_canaries(&r.table))
        };
        Tables {
            sends: table("SEND"),
            opens: table("OPEN"),
            rejections: table("SEND_REJECTED"),
            aborts: table("SEND_ABORTED"),
            controls: table("CONTROL"),
        }
    }
}

/// The views the routes can feed: a view whose event types are not all routed is left out,
/// since its query would name a table that does not exist.
pub fn views(routes: &[Route]) -> Vec<View> {
    let t = Tables::of(routes);
    let mut out = Vec::new();
    if let (Some(sends), Some(opens), Some(rejections), Some(aborts), Some(controls)) = (
        t.sends.as_deref(),
        t.opens.as_deref(),
        t.rejections.as_deref(),
        t.aborts.as_deref(),
        t.controls.as_deref(),
    ) {
        out.push(View {
            name: CAMPAIGN_PERFORMANCE,
            query: campaign_performance(sends, opens, rejections, aborts, controls),
        });
    }
    if let (Some(sends), Some(opens), Some(controls)) = (
        t.sends.as_deref(),
        t.opens.as_deref(),
        t.controls.as_deref(),
    ) {
        out.push(View {
            name: HOLDOUT_UPLIFT,
            query: holdout_uplift(sends, opens, controls),
        });
    }
    if let Some(opens) = t.opens.as_deref() {
        out.push(View {
            name: CUSTOMER_SEND_HOURS,
            query: customer_send_hours(opens),
        });
    }
    if let (Some(sends), Some(opens)) = (t.sends.as_deref(), t.opens.as_deref()) {
        out.push(View {
            name: CUSTOMER_PUSH_ENGAGEMENT,
            query: customer_push_engagement(sends, opens),
        });
    }
    out
}

/// The statements that create (or re-create) the views; re-running them leaves the same views.
///
/// The dialects differ only here, and only in this:
/// - PostgreSQL (the local warehouse): `CREATE OR REPLACE VIEW name AS query`, a plain view,
///   always current.
/// - Redshift: `DROP MATERIALIZED VIEW IF EXISTS name`, then
///   `CREATE MATERIALIZED VIEW name AUTO REFRESH YES AS query`: at 90 days of traffic a plain
///   view recomputes every campaign, group and customer on each read, which the measurement in
///   docs/analysts.md ("Views") puts at minutes; a BI tool reads the stored rows instead.
pub fn create_views(routes: &[Route], dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    for v in views(routes) {
        match dialect {
            // PostgreSQL, CREATE VIEW: "CREATE OR REPLACE VIEW is similar, but if a view of the
            // same name already exists, it is replaced. The new query must generate the same
            // columns that were generated by the existing view query (that is, the same column
            // names in the same order and with the same data types), but it may add additional
            // columns to the end of the list."
            Dialect::Postgres => {
                out.push(format!("CREATE OR REPLACE VIEW {} AS\n{}", v.name, v.query))
            }
            Dialect::Redshift => out.extend(redshift_materialized_view(&v)),
        }
    }
    out
}

/// Redshift, CREATE MATERIALIZED VIEW: "CREATE MATERIALIZED VIEW mv_name [ BACKUP { YES | NO } ]
/// [ table_attributes ] [ AUTO REFRESH { YES | NO } ] AS query". There is no `OR REPLACE` and no
/// `IF NOT EXISTS`, and "In general, you can't alter a materialized view's definition (its SQL
/// statement)", so re-applying the schema drops and re-creates each one (DROP MATERIALIZED VIEW:
/// "DROP MATERIALIZED VIEW [ IF EXISTS ] mv_name"), which also brings an older definition up
/// to date. Grants on the view go with it: whatever grants them runs after this.
///
/// What the queries keep clear of, from the same page's Limitations: "You can't define a
/// materialized view that references or includes any of the following: Standard views, or system
/// tables and views. Temporary tables. User-defined functions. The ORDER BY, LIMIT, or OFFSET
/// clause. Late binding references to base tables" ... "You can't use the AUTO REFRESH YES option
/// when the materialized view definition includes mutable functions or external schemas." They
/// read only the tables, rank with ROW_NUMBER instead of ORDER BY ... LIMIT, and call no mutable
/// function (the look-back windows end at the data's latest `occurred_at`, not at GETDATE()).
///
/// They cannot be refreshed incrementally ("Amazon Redshift doesn't support incremental refresh
/// for materialized views that are defined with a query using ... OUTER JOIN ... DISTINCT
/// aggregate functions ... Window functions"), so each refresh recomputes the view, as one read
/// of a plain view would. AUTO REFRESH YES: "Amazon Redshift autorefreshes materialized views as
/// soon as possible after base tables changes ... Amazon Redshift prioritizes your workloads over
/// autorefresh and might stop autorefresh to preserve the performance of user workload", so the
/// views follow the minute loads when the warehouse has room, and `REFRESH MATERIALIZED VIEW`
/// brings one up to date at once (docs/analysts.md).
///
/// Not a late-binding view (`WITH NO SCHEMA BINDING`): that is a plain view, and "When you
/// include the WITH NO SCHEMA BINDING clause, tables and views referenced in the SELECT statement
/// must be qualified with a schema name", while the tables live in whatever schema the
/// connection's search path names.
fn redshift_materialized_view(v: &View) -> [String; 2] {
    [
        format!("DROP MATERIALIZED VIEW IF EXISTS {}", v.name),
        format!(
            "CREATE MATERIALIZED VIEW {} AUTO REFRESH YES AS\n{}",
            v.name, v.query
        ),
    ]
}

/// One row per push with a send, rejection, abort or control event.
///
/// The event kinds are typed VARCHAR: left to itself Redshift may type each literal of the
/// UNION ALL as a CHAR of its own length.
fn campaign_performance(
    sends: &str,
    opens: &str,
    rejections: &str,
    aborts: &str,
    controls: &str,
) -> String {
    format!(
        "WITH push_events AS (
  SELECT push_id, CAST('send' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM {sends} src
  UNION ALL
  SELECT push_id, CAST('rejected' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM {rejections} src
  UNION ALL
  SELECT push_id, CAST('aborted' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM {aborts} src
  UNION ALL
  SELECT push_id, CAST('control' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM {controls} src
),
per_channel AS (
  SELECT push_id, kind, channel_id, MAX(group_id) AS group_id, MIN(occurred_at) AS first_at
  FROM push_events
  WHERE push_id IS NOT NULL
  GROUP BY push_id, kind, channel_id
),
pushes AS (
  SELECT push_id,
    MAX(group_id) AS group_id,
    MIN(CASE WHEN kind = 'send' THEN first_at END) AS first_sent_at,
    COUNT(CASE WHEN kind = 'send' THEN channel_id END) AS sends,
    COUNT(CASE WHEN kind = 'rejected' THEN channel_id END) AS rejected,
    COUNT(CASE WHEN kind = 'aborted' THEN channel_id END) AS aborted,
    COUNT(CASE WHEN kind = 'control' THEN channel_id END) AS controls
  FROM per_channel
  GROUP BY push_id
),
direct AS (
  SELECT push_id, COUNT(DISTINCT channel_id) AS direct_opens
  FROM {opens} src
  WHERE open_kind = 'direct' AND push_id IS NOT NULL
  GROUP BY push_id
),
opened_pairs AS (
  SELECT DISTINCT push_id, channel_id
  FROM {opens} src
  WHERE open_kind IN ('direct', 'influenced') AND push_id IS NOT NULL AND channel_id IS NOT NULL
),
first_sends AS (
  SELECT s.push_id, s.channel_id, MIN(s.occurred_at) AS sent_at
  FROM {sends} s
  JOIN opened_pairs x ON x.push_id = s.push_id AND x.channel_id = s.channel_id
  GROUP BY s.push_id, s.channel_id
),
attributed AS (
  SELECT f.push_id, COUNT(DISTINCT f.channel_id) AS attributed_opens
  FROM first_sends f
  JOIN {opens} o ON o.push_id = f.push_id AND o.channel_id = f.channel_id
  WHERE o.open_kind IN ('direct', 'influenced')
    AND o.occurred_at >= f.sent_at
    AND o.occurred_at <= f.sent_at + INTERVAL '12 hours'
  GROUP BY f.push_id
)
SELECT p.push_id,
  p.group_id,
  p.first_sent_at,
  CAST(p.sends AS BIGINT) AS sends,
  CAST(p.rejected AS BIGINT) AS rejected,
  CAST(p.aborted AS BIGINT) AS aborted,
  CAST(p.controls AS BIGINT) AS controls,
  CAST(COALESCE(d.direct_opens, 0) AS BIGINT) AS direct_opens,
  CAST(COALESCE(a.attributed_opens, 0) AS BIGINT) AS attributed_opens,
  CAST(COALESCE(d.direct_opens, 0) AS DOUBLE PRECISION) / NULLIF(p.sends, 0) AS direct_open_rate,
  CAST(COALESCE(a.attributed_opens, 0) AS DOUBLE PRECISION) / NULLIF(p.sends, 0) AS attributed_open_rate
FROM pushes p
LEFT JOIN direct d ON d.push_id = p.push_id
LEFT JOIN attributed a ON a.push_id = p.push_id"
    )
}

/// One row per campaign group with a control event: treated against held-out channels.
fn holdout_uplift(sends: &str, opens: &str, controls: &str) -> String {
    format!(
        "WITH groups AS (
  SELECT DISTINCT group_id FROM {controls} src WHERE group_id IS NOT NULL
),
held_out AS (
  SELECT group_id, channel_id, MIN(occurred_at) AS t
  FROM {controls} src
  WHERE group_id IS NOT NULL AND channel_id IS NOT NULL
  GROUP BY group_id, channel_id
),
treated AS (
  SELECT s.group_id, s.channel_id, MIN(s.occurred_at) AS t
  FROM {sends} s
  JOIN groups g ON g.group_id = s.group_id
  LEFT JOIN held_out h ON h.group_id = s.group_id AND h.channel_id = s.channel_id
  WHERE s.channel_id IS NOT NULL AND h.channel_id IS NULL
  GROUP BY s.group_id, s.channel_id
),
arms AS (
  SELECT group_id, channel_id, t, 0 AS is_control FROM treated
  UNION ALL
  SELECT group_id, channel_id, t, 1 AS is_control FROM held_out
),
opened AS (
  SELECT DISTINCT a.group_id, a.channel_id, a.is_control
  FROM arms a
  JOIN {opens} o ON o.channel_id = a.channel_id
    AND o.occurred_at >= a.t
    AND o.occurred_at <= a.t + INTERVAL '12 hours'
),
tallies AS (
  SELECT group_id, is_control, 0 AS opened FROM arms
  UNION ALL
  SELECT group_id, is_control, 1 AS opened FROM opened
),
counts AS (
  SELECT g.group_id,
    CAST(COUNT(CASE WHEN x.is_control = 0 AND x.opened = 0 THEN 1 END) AS BIGINT) AS treated,
    CAST(COUNT(CASE WHEN x.is_control = 1 AND x.opened = 0 THEN 1 END) AS BIGINT) AS control,
    CAST(COUNT(CASE WHEN x.is_control = 0 AND x.opened = 1 THEN 1 END) AS BIGINT) AS treated_opened,
    CAST(COUNT(CASE WHEN x.is_control = 1 AND x.opened = 1 THEN 1 END) AS BIGINT) AS control_opened
  FROM groups g
  LEFT JOIN tallies x ON x.group_id = g.group_id
  GROUP BY g.group_id
),
rates AS (
  SELECT group_id, treated, control, treated_opened, control_opened,
    CAST(treated_opened AS DOUBLE PRECISION) / NULLIF(treated, 0) AS treated_rate,
    CAST(control_opened AS DOUBLE PRECISION) / NULLIF(control, 0) AS control_rate
  FROM counts
)
SELECT group_id, treated, control, treated_opened, control_opened, treated_rate, control_rate,
  treated_rate - control_rate AS abs_lift,
  treated_rate - control_rate - 1.96 * SQRT(treated_rate * (1 - treated_rate) / NULLIF(treated, 0) + control_rate * (1 - control_rate) / NULLIF(control, 0)) AS abs_lift_low,
  treated_rate - control_rate + 1.96 * SQRT(treated_rate * (1 - treated_rate) / NULLIF(treated, 0) + control_rate * (1 - control_rate) / NULLIF(control, 0)) AS abs_lift_high
FROM rates"
    )
}

/// One row per named user with an open in the 60 days up to the latest open.
///
/// The score `n_h + 10 * g_h` is ranked as `n_h * N + 10 * c_h` (`c_h` all users' opens at hour
/// `h`, `N` all of them): the same order, in integers, so a tie is a tie and the earliest hour
/// wins it, with no rounding of `g_h` deciding.
///
/// Only the user's own hours and the population's best hour are ranked, not all 24: at an hour
/// where the user has no open the score is `10 * g_h`, largest (and earliest among equals) at the
/// population's best hour, so no other such hour can win. Ranking all 24 tripled the rows the
/// window function sorts (docs/analysts.md, "Views").
fn customer_send_hours(opens: &str) -> String {
    format!(
        "WITH bounds AS (
  SELECT MAX(occurred_at) AS ref_at FROM {opens} src
),
user_hours AS (
  SELECT o.named_user_id, CAST(EXTRACT(HOUR FROM o.occurred_local) AS INTEGER) AS local_hour, COUNT(*) AS n
  FROM {opens} o
  CROSS JOIN bounds b
  WHERE o.named_user_id IS NOT NULL
    AND o.occurred_at > b.ref_at - INTERVAL '1440 hours'
    AND o.occurred_at <= b.ref_at
  GROUP BY o.named_user_id, CAST(EXTRACT(HOUR FROM o.occurred_local) AS INTEGER)
),
users AS (
  SELECT named_user_id, CAST(SUM(n) AS BIGINT) AS opens FROM user_hours GROUP BY named_user_id
),
population AS (
  SELECT local_hour, CAST(SUM(n) AS BIGINT) AS n FROM user_hours WHERE local_hour IS NOT NULL GROUP BY local_hour
),
population_total AS (
  SELECT CAST(SUM(n) AS BIGINT) AS n FROM population
),
population_best AS (
  SELECT MIN(local_hour) AS local_hour FROM population WHERE n = (SELECT MAX(n) FROM population)
),
candidates AS (
  SELECT named_user_id, local_hour, n FROM user_hours WHERE local_hour IS NOT NULL
  UNION ALL
  SELECT u.named_user_id, pb.local_hour, 0 AS n FROM users u CROSS JOIN population_best pb
),
customer_ranked AS (
  SELECT c.named_user_id, c.local_hour,
    ROW_NUMBER() OVER (PARTITION BY c.named_user_id ORDER BY c.n * t.n + 10 * p.n DESC, c.local_hour) AS pick
  FROM candidates c
  JOIN users u ON u.named_user_id = c.named_user_id
  JOIN population p ON p.local_hour = c.local_hour
  CROSS JOIN population_total t
  WHERE u.opens >= 5
)
SELECT u.named_user_id,
  u.opens,
  CASE WHEN u.opens >= 5 THEN c.local_hour ELSE pb.local_hour END AS best_local_hour,
  CASE WHEN u.opens >= 5 THEN 'customer' ELSE 'population' END AS basis
FROM users u
CROSS JOIN population_best pb
LEFT JOIN customer_ranked c ON c.named_user_id = u.named_user_id AND c.pick = 1"
    )
}

/// One row per named user sent a push in the 180 days up to the latest send.
fn customer_push_engagement(sends: &str, opens: &str) -> String {
    format!(
        "WITH bounds AS (
  SELECT MAX(occurred_at) AS ref_at FROM {sends} src
),
received AS (
  SELECT DISTINCT s.named_user_id, s.push_id
  FROM {sends} s
  CROSS JOIN bounds b
  WHERE s.named_user_id IS NOT NULL
    AND s.push_id IS NOT NULL
    AND s.occurred_at > b.ref_at - INTERVAL '4320 hours'
    AND s.occurred_at <= b.ref_at
),
opened AS (
  SELECT named_user_id, push_id, MAX(occurred_at) AS last_open_at
  FROM {opens} src
  WHERE open_kind = 'direct' AND named_user_id IS NOT NULL AND push_id IS NOT NULL
  GROUP BY named_user_id, push_id
)
SELECT r.named_user_id,
  CAST(COUNT(*) AS BIGINT) AS pushes_received,
  CAST(COUNT(o.push_id) AS BIGINT) AS pushes_opened,
  CAST(COUNT(o.push_id) AS DOUBLE PRECISION) / NULLIF(COUNT(*), 0) AS open_rate,
  MAX(o.last_open_at) AS last_direct_open_at,
  CASE WHEN COUNT(*) < 3 THEN 'not_enough_data' ELSE 'customer' END AS basis
FROM received r
LEFT JOIN opened o ON o.named_user_id = r.named_user_id AND o.push_id = r.push_id
GROUP BY r.named_user_id"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routes::RoutingTable;

    fn default_routes() -> Vec<Route> {
        RoutingTable::default_routes().routes().to_vec()
    }

    /// The one difference between the dialects is the statement around each query: PostgreSQL
    /// replaces a plain view; Redshift drops and re-creates a materialized view that refreshes
    /// itself. The queries are the same text.
    #[test]
    fn the_dialects_differ_only_in_how_a_view_is_created() {
        let routes = default_routes();
        let pg = create_views(&routes, Dialect::Postgres);
        let rs = create_views(&routes, Dialect::Redshift);
        let views = views(&routes);
        assert_eq!(views.iter().map(|v| v.name).collect::<Vec<_>>(), VIEW_NAMES);
        assert_eq!((pg.len(), rs.len()), (4, 8));
        for (i, v) in views.iter().enumerate() {
            assert_eq!(
                pg[i],
                format!("CREATE OR REPLACE VIEW {} AS\n{}", v.name, v.query)
            );
            assert_eq!(
                rs[2 * i],
                format!("DROP MATERIALIZED VIEW IF EXISTS {}", v.name)
            );
            assert_eq!(
                rs[2 * i + 1],
                format!(
                    "CREATE MATERIALIZED VIEW {} AUTO REFRESH YES AS\n{}",
                    v.name, v.query
                )
            );
        }
    }

    /// What a Redshift materialized view may not contain, what AUTO REFRESH forbids, and what
    /// only one of the two warehouses runs.
    #[test]
    fn the_queries_keep_to_what_both_warehouses_run_alike() {
        for v in views(&default_routes()) {
            let q = v.query.to_ascii_uppercase();
            for banned in [
                " LIMIT ",
                " OFFSET ",
                "GETDATE",
                "NOW()",
                "CURRENT_",
                "SYSDATE",
                "RANDOM",
                "FILTER (",
                "GENERATE_SERIES",
                "CONVERT_TIMEZONE",
                "AT TIME ZONE",
                "::",
                "ILIKE",
                "'60 DAYS'",
                "'180 DAYS'",
            ] {
                assert!(!q.contains(banned), "{} uses {banned}", v.name);
            }
            // ORDER BY only inside a window function's OVER (...).
            for (at, _) in q.match_indices("ORDER BY") {
                let inside_over = q[..at]
                    .rfind("OVER (")
                    .is_some_and(|open| !q[open..at].contains(')'));
                assert!(inside_over, "{}: ORDER BY outside a window at {at}", v.name);
            }
        }
    }

    #[test]
    fn a_view_whose_event_types_are_not_routed_is_left_out() {
        let routes: Vec<Route> = default_routes()
            .into_iter()
            .filter(|r| r.event_type != "CONTROL")
            .collect();
        let names: Vec<&str> = views(&routes).iter().map(|v| v.name).collect();
        assert_eq!(names, [CUSTOMER_SEND_HOURS, CUSTOMER_PUSH_ENGAGEMENT]);
        // Tables come from the routes, whatever they are called.
        let renamed: Vec<Route> = default_routes()
            .into_iter()
            .map(|mut r| {
                r.table = format!("x_{}", r.table);
                r
            })
            .collect();
        for v in views(&renamed) {
            assert!(v.query.contains(" x_push_"), "{}", v.name);
            assert!(!v.query.contains(" push_opens"), "{}", v.name);
        }
    }

    #[test]
    fn no_route_may_take_a_view_name() {
        for name in VIEW_NAMES {
            let json = format!(
                r#"{{"routes": [{{"event_type": "SEND", "table": "{name}", "delivery_stream": "s"}}]}}"#
            );
            let err = RoutingTable::from_json(&json, "test").unwrap_err();
            assert!(
                err.to_string().contains("is one of the analyst views"),
                "{err}"
            );
        }
    }

    /// docs/analysts.md names the time zone database release that decides local hours; a
    /// chrono-tz upgrade that changes it must update the docs too.
    #[test]
    fn the_docs_name_the_time_zone_database_release() {
        let docs = include_str!("../../docs/analysts.md");
        let release = crate::domain::local_time::TZDB_VERSION;
        assert!(
            docs.contains(&format!("**{release}**")),
            "docs/analysts.md must name the IANA release {release}"
        );
    }
}
