-- Setup
LOCK push_opens;
-- Setup
CREATE TEMP TABLE pf_stage (LIKE push_opens);
-- Copy
COPY pf_stage (event_id, occurred_at, occurred_local, processed_at, arrived_at, window_start, channel_id, device_type, named_user_id, iana_timezone, locale_country_code, app_version, push_id, group_id, variant_id, open_kind, session_id, campaign_categories, raw, batch_id) FROM 's3://bucket/manifests/window=2026-11-26T10:01Z/type=OPEN/batch=0019abf9bf360-1a2b3c4d.json' IAM_ROLE 'arn:aws:iam::123456789012:role/pushfeed-copy' FORMAT AS JSON 's3://bucket/jsonpaths/push_opens.json' MANIFEST GZIP TIMEFORMAT 'auto';
-- OtherBatches
DELETE FROM pf_stage WHERE batch_id <> '0019abf9bf360-1a2b3c4d';
-- Setup
CREATE TEMP TABLE pf_ids (event_id VARCHAR(256));
-- Distinct
INSERT INTO pf_ids SELECT DISTINCT event_id FROM pf_stage;
-- Setup
CREATE TEMP TABLE pf_replaced AS SELECT DISTINCT s.event_id FROM pf_stage s JOIN push_opens x ON x.event_id = s.event_id WHERE s.arrived_at < x.arrived_at;
-- Replace
DELETE FROM push_opens USING pf_replaced r WHERE push_opens.event_id = r.event_id;
-- Setup
CREATE TEMP TABLE pf_new AS SELECT i.event_id FROM pf_ids i WHERE NOT EXISTS (SELECT 1 FROM push_opens x WHERE x.event_id = i.event_id);
-- Insert
INSERT INTO push_opens (event_id, occurred_at, occurred_local, processed_at, arrived_at, window_start, channel_id, device_type, named_user_id, iana_timezone, locale_country_code, app_version, push_id, group_id, variant_id, open_kind, session_id, campaign_categories, raw, batch_id) SELECT event_id, occurred_at, occurred_local, processed_at, arrived_at, window_start, channel_id, device_type, named_user_id, iana_timezone, locale_country_code, app_version, push_id, group_id, variant_id, open_kind, session_id, campaign_categories, raw, batch_id FROM (SELECT event_id, occurred_at, occurred_local, processed_at, arrived_at, window_start, channel_id, device_type, named_user_id, iana_timezone, locale_country_code, app_version, push_id, group_id, variant_id, open_kind, session_id, campaign_categories, raw, batch_id, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY arrived_at, processed_at) AS pf_rn FROM pf_stage WHERE event_id IN (SELECT event_id FROM pf_new)) d WHERE pf_rn = 1;
-- Ledger
INSERT INTO pushfeed_loads (window_start, event_type, table_name, batch_id, object_count, rows_staged, rows_inserted, rows_replaced, execution) SELECT CAST('2026-11-26T10:01:00.000Z' AS TIMESTAMPTZ), 'OPEN', 'push_opens', '0019abf9bf360-1a2b3c4d', 2, (SELECT COUNT(*) FROM pf_stage), (SELECT COUNT(*) FROM pf_new) - (SELECT COUNT(*) FROM pf_replaced), (SELECT COUNT(*) FROM pf_replaced), 'exec-o''brien';
