CREATE TABLE IF NOT EXISTS pushfeed_loads (
  window_start TIMESTAMPTZ NOT NULL,
  event_type TEXT NOT NULL,
  table_name TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  object_count INTEGER NOT NULL,
  rows_staged BIGINT NOT NULL,
  rows_inserted BIGINT NOT NULL,
  rows_replaced BIGINT NOT NULL,
  execution TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS push_sends (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  push_id TEXT,
  group_id TEXT,
  variant_id INTEGER,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_sends_occurred_at ON push_sends (occurred_at);

CREATE INDEX IF NOT EXISTS push_sends_channel_id ON push_sends (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_sends_named_user_id ON push_sends (named_user_id, occurred_at);

CREATE TABLE IF NOT EXISTS push_opens (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  push_id TEXT,
  group_id TEXT,
  variant_id INTEGER,
  open_kind TEXT,
  session_id TEXT,
  campaign_categories TEXT,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_opens_occurred_at ON push_opens (occurred_at);

CREATE INDEX IF NOT EXISTS push_opens_channel_id ON push_opens (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_opens_named_user_id ON push_opens (named_user_id, occurred_at);

CREATE TABLE IF NOT EXISTS push_send_rejections (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  push_id TEXT,
  group_id TEXT,
  variant_id INTEGER,
  reason TEXT,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_send_rejections_occurred_at ON push_send_rejections (occurred_at);

CREATE INDEX IF NOT EXISTS push_send_rejections_channel_id ON push_send_rejections (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_send_rejections_named_user_id ON push_send_rejections (named_user_id, occurred_at);

CREATE TABLE IF NOT EXISTS push_send_aborts (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  push_id TEXT,
  group_id TEXT,
  variant_id INTEGER,
  reason TEXT,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_send_aborts_occurred_at ON push_send_aborts (occurred_at);

CREATE INDEX IF NOT EXISTS push_send_aborts_channel_id ON push_send_aborts (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_send_aborts_named_user_id ON push_send_aborts (named_user_id, occurred_at);

CREATE TABLE IF NOT EXISTS push_uninstalls (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_uninstalls_occurred_at ON push_uninstalls (occurred_at);

CREATE INDEX IF NOT EXISTS push_uninstalls_channel_id ON push_uninstalls (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_uninstalls_named_user_id ON push_uninstalls (named_user_id, occurred_at);

CREATE TABLE IF NOT EXISTS push_controls (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  push_id TEXT,
  group_id TEXT,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_controls_occurred_at ON push_controls (occurred_at);

CREATE INDEX IF NOT EXISTS push_controls_channel_id ON push_controls (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_controls_named_user_id ON push_controls (named_user_id, occurred_at);

CREATE TABLE IF NOT EXISTS push_web_clicks (
  event_id TEXT NOT NULL,
  occurred_at TIMESTAMPTZ,
  occurred_local TIMESTAMP,
  processed_at TIMESTAMPTZ,
  arrived_at TIMESTAMPTZ,
  window_start TIMESTAMPTZ,
  channel_id TEXT,
  device_type TEXT,
  named_user_id TEXT,
  iana_timezone TEXT,
  locale_country_code TEXT,
  app_version TEXT,
  push_id TEXT,
  group_id TEXT,
  variant_id INTEGER,
  raw JSONB,
  batch_id TEXT,
  loaded_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (event_id)
);

CREATE INDEX IF NOT EXISTS push_web_clicks_occurred_at ON push_web_clicks (occurred_at);

CREATE INDEX IF NOT EXISTS push_web_clicks_channel_id ON push_web_clicks (channel_id, occurred_at);

CREATE INDEX IF NOT EXISTS push_web_clicks_named_user_id ON push_web_clicks (named_user_id, occurred_at);
