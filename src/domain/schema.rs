//! Table shapes: which columns each event type's table has. DDL, staging rows and jsonpaths all
//! derive from this one list, so a column is added in one place.

/// The column set of a routed type. Known vendor types have typed columns; a type routed only by
/// configuration gets the common columns and its raw event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Send,
    Open,
    SendRejected,
    SendAborted,
    Uninstall,
    Control,
    WebClick,
    Generic,
}

impl Profile {
    pub fn for_event_type(event_type: &str) -> Profile {
        match event_type {
            "SEND" => Profile::Send,
            "OPEN" => Profile::Open,
            "SEND_REJECTED" => Profile::SendRejected,
            "SEND_ABORTED" => Profile::SendAborted,
            "UNINSTALL" => Profile::Uninstall,
            "CONTROL" => Profile::Control,
            "WEB_CLICK" => Profile::WebClick,
            _ => Profile::Generic,
        }
    }

    /// Type-specific columns, between the common ones and `raw`.
    fn specific(self) -> &'static [Column] {
        match self {
            Profile::Send | Profile::WebClick => PUSH_COLUMNS,
            Profile::Open => OPEN_COLUMNS,
            Profile::SendRejected | Profile::SendAborted => REJECTION_COLUMNS,
            Profile::Control => CONTROL_COLUMNS,
            Profile::Uninstall | Profile::Generic => &[],
        }
    }

    /// Every column of the table, in table order.
    pub fn columns(self) -> Vec<Column> {
        let mut all = COMMON.to_vec();
        all.extend_from_slice(self.specific());
        all.extend_from_slice(TRAILING);
        all
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Identifiers: event, push, channel and user ids; short codes.
    Id,
    /// Free text from the vendor (reasons, categories).
    Text,
    Int,
    Timestamp,
    /// A wall-clock reading without a zone (TIMESTAMP): the event's local time.
    LocalTimestamp,
    /// The raw event: Redshift SUPER, PostgreSQL jsonb.
    Json,
}

impl ColumnType {
    /// The most bytes of UTF-8 a value of this type may hold: the Redshift `VARCHAR` length
    /// (which counts bytes, not characters) and the limit validation applies to every event;
    /// None for types without one.
    pub const fn max_bytes(self) -> Option<usize> {
        match self {
            ColumnType::Id => Some(MAX_ID_LEN),
            ColumnType::Text => Some(MAX_TEXT_BYTES),
            ColumnType::Int
            | ColumnType::Timestamp
            | ColumnType::LocalTimestamp
            | ColumnType::Json => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
}

impl Column {
    const fn new(name: &'static str, ty: ColumnType) -> Column {
        Column { name, ty }
    }

    /// Columns the loader fills; `loaded_at` is the table's default.
    pub fn is_loaded(&self) -> bool {
        self.name != "loaded_at"
    }
}

const PUSH: Column = Column::new("push_id", ColumnType::Id);
const GROUP: Column = Column::new("group_id", ColumnType::Id);
const VARIANT: Column = Column::new("variant_id", ColumnType::Int);
const PUSH_COLUMNS: &[Column] = &[PUSH, GROUP, VARIANT];
const OPEN_COLUMNS: &[Column] = &[
    PUSH,
    GROUP,
    VARIANT,
    Column::new("open_kind", ColumnType::Id),
    Column::new("session_id", ColumnType::Id),
    Column::new("campaign_categories", ColumnType::Text),
];
const REJECTION_COLUMNS: &[Column] = &[
    PUSH,
    GROUP,
    VARIANT,
    Column::new("reason", ColumnType::Text),
];
const CONTROL_COLUMNS: &[Column] = &[PUSH, GROUP];

const COMMON: &[Column] = &[
    Column::new("event_id", ColumnType::Id),
    Column::new("occurred_at", ColumnType::Timestamp),
    // `occurred_at` in the event's `iana_timezone` (src/domain/local_time.rs), for send times.
    Column::new("occurred_local", ColumnType::LocalTimestamp),
    Column::new("processed_at", ColumnType::Timestamp),
    Column::new("arrived_at", ColumnType::Timestamp),
    Column::new("window_start", ColumnType::Timestamp),
    Column::new("channel_id", ColumnType::Id),
    Column::new("device_type", ColumnType::Id),
    Column::new("named_user_id", ColumnType::Id),
    // Needed to pick each customer's best send time in their own local time.
    Column::new("iana_timezone", ColumnType::Id),
    Column::new("locale_country_code", ColumnType::Id),
    Column::new("app_version", ColumnType::Id),
];

const TRAILING: &[Column] = &[
    Column::new("raw", ColumnType::Json),
    Column::new("batch_id", ColumnType::Id),
    Column::new("loaded_at", ColumnType::Timestamp),
];

/// Longest identifier accepted, in bytes; the Redshift `VARCHAR` of [`ColumnType::Id`].
pub const MAX_ID_LEN: usize = 256;

/// Longest free text accepted, in bytes; the Redshift `VARCHAR` of [`ColumnType::Text`]. Reasons
/// and campaign categories are short; a value this long is more likely garbage than a category.
pub const MAX_TEXT_BYTES: usize = 4096;
