CREATE TABLE IF NOT EXISTS pushfeed_loads (
  window_start TIMESTAMPTZ NOT NULL,
  event_type VARCHAR(256) NOT NULL,
  table_name VARCHAR(256) NOT NULL,
  batch_id VARCHAR(256) NOT NULL,
  object_count INTEGER NOT NULL,
  rows_staged BIGINT NOT NULL,
  rows_inserted BIGINT NOT NULL,
  rows_replaced BIGINT NOT NULL,
  execution VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE()
)
DISTSTYLE ALL
SORTKEY (window_start);

CREATE TABLE IF NOT EXISTS push_sends (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  push_id VARCHAR(256),
  group_id VARCHAR(256),
  variant_id INTEGER,
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

CREATE TABLE IF NOT EXISTS push_opens (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  push_id VARCHAR(256),
  group_id VARCHAR(256),
  variant_id INTEGER,
  open_kind VARCHAR(256),
  session_id VARCHAR(256),
  campaign_categories VARCHAR(4096),
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

CREATE TABLE IF NOT EXISTS push_send_rejections (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  push_id VARCHAR(256),
  group_id VARCHAR(256),
  variant_id INTEGER,
  reason VARCHAR(4096),
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

CREATE TABLE IF NOT EXISTS push_send_aborts (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  push_id VARCHAR(256),
  group_id VARCHAR(256),
  variant_id INTEGER,
  reason VARCHAR(4096),
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

CREATE TABLE IF NOT EXISTS push_uninstalls (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

CREATE TABLE IF NOT EXISTS push_controls (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  push_id VARCHAR(256),
  group_id VARCHAR(256),
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

CREATE TABLE IF NOT EXISTS push_web_clicks (
  event_id VARCHAR(256) NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id VARCHAR(256),
  device_type VARCHAR(256),
  named_user_id VARCHAR(256),
  iana_timezone VARCHAR(256),
  locale_country_code VARCHAR(256),
  app_version VARCHAR(256),
  push_id VARCHAR(256),
  group_id VARCHAR(256),
  variant_id INTEGER,
  raw SUPER,
  batch_id VARCHAR(256),
  loaded_at TIMESTAMPTZ DEFAULT GETDATE(),
  PRIMARY KEY (event_id)
)
DISTSTYLE KEY DISTKEY (channel_id)
COMPOUND SORTKEY (occurred_at, channel_id);

DROP MATERIALIZED VIEW IF EXISTS push_campaign_performance;

CREATE MATERIALIZED VIEW push_campaign_performance AUTO REFRESH YES AS
WITH push_events AS (
  SELECT push_id, CAST('send' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM (SELECT * FROM push_sends WHERE event_id NOT LIKE 'pushfeed-canary-%') src
  UNION ALL
  SELECT push_id, CAST('rejected' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM (SELECT * FROM push_send_rejections WHERE event_id NOT LIKE 'pushfeed-canary-%') src
  UNION ALL
  SELECT push_id, CAST('aborted' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM (SELECT * FROM push_send_aborts WHERE event_id NOT LIKE 'pushfeed-canary-%') src
  UNION ALL
  SELECT push_id, CAST('control' AS VARCHAR(8)) AS kind, channel_id, group_id, occurred_at FROM (SELECT * FROM push_controls WHERE event_id NOT LIKE 'pushfeed-canary-%') src
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
  FROM (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') src
  WHERE open_kind = 'direct' AND push_id IS NOT NULL
  GROUP BY push_id
),
opened_pairs AS (
  SELECT DISTINCT push_id, channel_id
  FROM (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') src
  WHERE open_kind IN ('direct', 'influenced') AND push_id IS NOT NULL AND channel_id IS NOT NULL
),
first_sends AS (
  SELECT s.push_id, s.channel_id, MIN(s.occurred_at) AS sent_at
  FROM (SELECT * FROM push_sends WHERE event_id NOT LIKE 'pushfeed-canary-%') s
  JOIN opened_pairs x ON x.push_id = s.push_id AND x.channel_id = s.channel_id
  GROUP BY s.push_id, s.channel_id
),
attributed AS (
  SELECT f.push_id, COUNT(DISTINCT f.channel_id) AS attributed_opens
  FROM first_sends f
  JOIN (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') o ON o.push_id = f.push_id AND o.channel_id = f.channel_id
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
LEFT JOIN attributed a ON a.push_id = p.push_id;

DROP MATERIALIZED VIEW IF EXISTS push_holdout_uplift;

CREATE MATERIALIZED VIEW push_holdout_uplift AUTO REFRESH YES AS
WITH groups AS (
  SELECT DISTINCT group_id FROM (SELECT * FROM push_controls WHERE event_id NOT LIKE 'pushfeed-canary-%') src WHERE group_id IS NOT NULL
),
held_out AS (
  SELECT group_id, channel_id, MIN(occurred_at) AS t
  FROM (SELECT * FROM push_controls WHERE event_id NOT LIKE 'pushfeed-canary-%') src
  WHERE group_id IS NOT NULL AND channel_id IS NOT NULL
  GROUP BY group_id, channel_id
),
treated AS (
  SELECT s.group_id, s.channel_id, MIN(s.occurred_at) AS t
  FROM (SELECT * FROM push_sends WHERE event_id NOT LIKE 'pushfeed-canary-%') s
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
  JOIN (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') o ON o.channel_id = a.channel_id
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
FROM rates;

DROP MATERIALIZED VIEW IF EXISTS customer_send_hours;

CREATE MATERIALIZED VIEW customer_send_hours AUTO REFRESH YES AS
WITH bounds AS (
  SELECT MAX(occurred_at) AS ref_at FROM (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') src
),
user_hours AS (
  SELECT o.named_user_id, CAST(EXTRACT(HOUR FROM o.occurred_local) AS INTEGER) AS local_hour, COUNT(*) AS n
  FROM (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') o
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
LEFT JOIN customer_ranked c ON c.named_user_id = u.named_user_id AND c.pick = 1;

DROP MATERIALIZED VIEW IF EXISTS customer_push_engagement;

CREATE MATERIALIZED VIEW customer_push_engagement AUTO REFRESH YES AS
WITH bounds AS (
  SELECT MAX(occurred_at) AS ref_at FROM (SELECT * FROM push_sends WHERE event_id NOT LIKE 'pushfeed-canary-%') src
),
received AS (
  SELECT DISTINCT s.named_user_id, s.push_id
  FROM (SELECT * FROM push_sends WHERE event_id NOT LIKE 'pushfeed-canary-%') s
  CROSS JOIN bounds b
  WHERE s.named_user_id IS NOT NULL
    AND s.push_id IS NOT NULL
    AND s.occurred_at > b.ref_at - INTERVAL '4320 hours'
    AND s.occurred_at <= b.ref_at
),
opened AS (
  SELECT named_user_id, push_id, MAX(occurred_at) AS last_open_at
  FROM (SELECT * FROM push_opens WHERE event_id NOT LIKE 'pushfeed-canary-%') src
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
GROUP BY r.named_user_id;
