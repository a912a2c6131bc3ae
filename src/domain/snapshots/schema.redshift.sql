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
