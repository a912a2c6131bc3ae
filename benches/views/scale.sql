-- The analyst views' cost at scale (docs/analysts.md, "Plain views locally, materialized views
-- in Redshift"). Not a test and not run by `cargo bench`: run it by hand, once, against a
-- scratch home's private cluster (it TRUNCATEs the tables), watching the disk (45 days took
-- 9.8 GB of tables, and a view's sorts wrote up to 16 GB of temporary files):
--
--   pushfeed --home /scratch/h sql "select 1"          # creates the cluster, tables and views
--   (start the cluster with pushfeed's server settings, crates/pg-cluster)
--   psql -h /scratch/h/postgres/sock -U postgres -d pushfeed -v days=45 -f benches/views/scale.sql
--
-- Unread columns are left NULL, event_id too, so its primary key goes; the secondary indexes are
-- dropped for the fill and only occurred_at's is rebuilt (the views use it for their reference
-- time; no plan used the others).
\set ON_ERROR_STOP 1
\timing on
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['push_sends','push_opens','push_send_rejections','push_send_aborts','push_controls'] LOOP
    EXECUTE format('TRUNCATE %I', t);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', t, t || '_pkey');
    EXECUTE format('ALTER TABLE %I ALTER COLUMN event_id DROP NOT NULL', t);
    EXECUTE format('DROP INDEX IF EXISTS %I, %I, %I', t || '_occurred_at', t || '_channel_id', t || '_named_user_id');
    EXECUTE format('ALTER TABLE %I SET UNLOGGED', t);
  END LOOP;
END $$;

-- Fills the five tables the views read with :days days of a retailer's push traffic at 1.5M vendor
-- events a day (the generator's mix: SEND 600, OPEN 85, SEND_REJECTED 30, SEND_ABORTED 10,
-- CONTROL 30 per 950; the other 195 are types no view reads), ending 2026-11-26T00:00Z.
-- 1,000,000 channels (70% named, 650,000 customers, 88% Europe/London), 4 broadcast campaigns a
-- day (190,000 channels each, two variants, 5% held out) and 100 automated pushes a day
-- (2,250 channels each, 4% held out). Only the columns the views read are filled.
CREATE OR REPLACE FUNCTION pf_uuid(text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT md5($1)::uuid::text $$;
CREATE OR REPLACE FUNCTION pf_user(int) RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT CASE WHEN $1 % 10 < 7 THEN 'cust-' || lpad(($1 % 650000)::text, 7, '0') END $$;
CREATE OR REPLACE FUNCTION pf_zone(int) RETURNS text IMMUTABLE LANGUAGE sql AS
  $$ SELECT CASE WHEN $1 % 100 < 88 THEN 'Europe/London' WHEN $1 % 100 < 92 THEN 'Europe/Dublin'
     WHEN $1 % 100 < 95 THEN 'Europe/Paris' WHEN $1 % 100 < 97 THEN 'Europe/Berlin'
     WHEN $1 % 100 < 99 THEN 'America/New_York' ELSE 'Asia/Dubai' END $$;
CREATE OR REPLACE FUNCTION pf_rand(bigint) RETURNS int IMMUTABLE LANGUAGE sql AS $$ SELECT abs(hashint8($1)) % 1000000 $$;

-- Every targeted (push, channel): broadcast k of day d reaches channels (j*5 + offset) mod 1M;
-- automated push m of day d reaches ((d*100+m)*7919 + j*389) mod 1M. `slot` picks the event kind.
DROP TABLE IF EXISTS pf_targets;
CREATE UNLOGGED TABLE pf_targets AS
SELECT d, c, ts, push_id, group_id, variant_id, slot, r FROM (
  SELECT d, (j * 5 + d * 7919 + k * 104729) % 1000000 AS c,
    timestamptz '2026-11-26' - (:days - d) * interval '1 day'
      + ((ARRAY[28800, 43200, 61200, 70200])[k + 1] + j % 1200) * interval '1 second' AS ts,
    'p' || d || '-' || k || '-' || (j % 2) AS push_id, 'g' || d || '-' || k AS group_id, j % 2 AS variant_id,
    CASE WHEN j % 20 = 0 THEN 'control' WHEN j % 20 = 1 THEN 'rejected' WHEN j % 50 = 2 THEN 'aborted' ELSE 'send' END AS slot,
    pf_rand(j::bigint * 1000003 + d * 101 + k) AS r
  FROM generate_series(0, :days - 1) d, generate_series(0, 3) k, generate_series(0, 189999) j
  UNION ALL
  SELECT d, ((d * 100 + m) * 7919 + j * 389) % 1000000,
    timestamptz '2026-11-26' - (:days - d) * interval '1 day' + ((m * 863 + j * 17) % 86400) * interval '1 second',
    'a' || d || '-' || m, 'ag' || (m % 20), NULL,
    CASE WHEN j % 25 = 0 THEN 'control' WHEN j % 25 = 1 THEN 'rejected' WHEN j % 100 = 3 THEN 'aborted' ELSE 'send' END,
    pf_rand(j::bigint * 1000003 + d * 101 + 50 + m)
  FROM generate_series(0, :days - 1) d, generate_series(0, 99) m, generate_series(0, 2249) j
) t;

-- A rejected or aborted target is also sent (the platform or the vendor refused the send).
INSERT INTO push_sends (occurred_at, occurred_local, channel_id, named_user_id, push_id, group_id, variant_id)
SELECT ts, ts AT TIME ZONE pf_zone(c), pf_uuid('c' || c), pf_user(c), pf_uuid(push_id), pf_uuid(group_id), variant_id
FROM pf_targets WHERE slot <> 'control';
INSERT INTO push_controls (occurred_at, occurred_local, channel_id, named_user_id, push_id, group_id)
SELECT ts, ts AT TIME ZONE pf_zone(c), pf_uuid('c' || c), pf_user(c), pf_uuid(push_id), pf_uuid(group_id)
FROM pf_targets WHERE slot = 'control';
INSERT INTO push_send_rejections (occurred_at, occurred_local, channel_id, named_user_id, push_id, group_id, variant_id)
SELECT ts + interval '2 seconds', (ts + interval '2 seconds') AT TIME ZONE pf_zone(c), pf_uuid('c' || c), pf_user(c), pf_uuid(push_id), NULL, variant_id
FROM pf_targets WHERE slot = 'rejected';
INSERT INTO push_send_aborts (occurred_at, occurred_local, channel_id, named_user_id, push_id, group_id, variant_id)
SELECT ts, ts AT TIME ZONE pf_zone(c), pf_uuid('c' || c), pf_user(c), pf_uuid(push_id), NULL, variant_id
FROM pf_targets WHERE slot = 'aborted';

-- Opens of a send: 9% of sends opened directly, 3% influenced (automated: 7% and 2.5%), after a
-- right-skewed delay of up to 18 h (so some fall outside the 12 h attribution window).
INSERT INTO push_opens (occurred_at, occurred_local, channel_id, named_user_id, push_id, group_id, open_kind)
SELECT o.ts, o.ts AT TIME ZONE pf_zone(c), pf_uuid('c' || c), pf_user(c), pf_uuid(push_id), pf_uuid(group_id), kind
FROM (
  SELECT c, push_id, group_id,
    ts + ((pf_rand(r + 7) % 64800) * (pf_rand(r + 11) % 100) / 100) * interval '1 second' AS ts,
    CASE WHEN r % 1000 < (CASE WHEN variant_id IS NULL THEN 70 ELSE 90 END) THEN 'direct' ELSE 'influenced' END AS kind
  FROM pf_targets
  WHERE slot = 'send' AND r % 1000 < (CASE WHEN variant_id IS NULL THEN 95 ELSE 120 END)
) o;
-- Organic opens, 27,000 a day, each channel around its own hour of the day.
INSERT INTO push_opens (occurred_at, occurred_local, channel_id, named_user_id, open_kind)
SELECT ts, ts AT TIME ZONE pf_zone(c), pf_uuid('c' || c), pf_user(c), 'organic'
FROM (
  SELECT c, timestamptz '2026-11-26' - (:days - d) * interval '1 day'
      + ((7 + c % 15) * 3600 + pf_rand(i::bigint * 31 + d) % 5400 - 2700) * interval '1 second' AS ts
  FROM (SELECT d, i, pf_rand(d::bigint * 100000 + i) AS c
        FROM generate_series(0, :days - 1) d, generate_series(0, 26999) i) x
) y;
DROP TABLE pf_targets;
CREATE INDEX push_sends_occurred_at ON push_sends (occurred_at);
CREATE INDEX push_opens_occurred_at ON push_opens (occurred_at);
VACUUM ANALYZE push_sends, push_opens, push_send_rejections, push_send_aborts, push_controls;
SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) FROM pg_stat_user_tables ORDER BY relname;

-- Each view once, fully computed (EXPLAIN ANALYZE runs the query and discards the rows).
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT * FROM customer_send_hours;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT * FROM customer_push_engagement;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT * FROM push_campaign_performance;
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT * FROM push_holdout_uplift;
