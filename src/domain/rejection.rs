//! Why a record or event was rejected, as a stable text code that analysts and tests can match.

use std::borrow::Cow;
use std::fmt;

/// A rejection reason. Its [`code`](Rejection::code) is stable: it is written to `rejected/` objects
/// and counted in metrics, so renaming one is a breaking change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The record held no bytes, or only white space.
    Empty,
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The text is not JSON (truncated, trailing garbage, raw control characters).
    NotJson,
    /// JSON nested deeper than the parser allows, or than Redshift's SUPER holds (1,000 levels).
    TooDeep,
    /// JSON, but not an object.
    NotObject,
    /// A required field is absent or null. The field is a dotted path like `body.push_id`.
    MissingField(Cow<'static, str>),
    /// A field has the wrong JSON type, e.g. a number where a string belongs.
    WrongType(Cow<'static, str>),
    /// A timestamp field that does not parse as RFC 3339.
    BadTimestamp(Cow<'static, str>),
    /// A timestamp too far in the future for the vendor (who clamps to a few minutes).
    FutureTimestamp(Cow<'static, str>),
    /// A timestamp older than the vendor ever sends (it drops events older than 90 days).
    AncientTimestamp(Cow<'static, str>),
    /// The same key twice in one object, so the event's meaning is ambiguous.
    DuplicateField(Cow<'static, str>),
    /// A text field longer than its column, or with characters that cannot be keys.
    BadValue(Cow<'static, str>),
    /// An escaped NUL (`\u0000`): neither Redshift nor PostgreSQL can store it.
    NulCharacter,
    /// The event, or a gzip record once inflated, is over the size limit.
    TooLarge,
    /// A gzip record whose compressed stream is corrupt.
    BadGzip,
    /// A JSON string over 65,535 bytes, which Redshift's SUPER cannot hold.
    StringTooLong,
}

impl Rejection {
    /// The stable code, e.g. `missing_field:body.push_id`.
    pub fn code(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Empty => f.write_str("empty"),
            Rejection::NotUtf8 => f.write_str("not_utf8"),
            Rejection::NotJson => f.write_str("not_json"),
            Rejection::TooDeep => f.write_str("too_deep"),
            Rejection::NotObject => f.write_str("not_object"),
            Rejection::MissingField(p) => write!(f, "missing_field:{p}"),
            Rejection::WrongType(p) => write!(f, "wrong_type:{p}"),
            Rejection::BadTimestamp(p) => write!(f, "bad_timestamp:{p}"),
            Rejection::FutureTimestamp(p) => write!(f, "future_timestamp:{p}"),
            Rejection::AncientTimestamp(p) => write!(f, "ancient_timestamp:{p}"),
            Rejection::DuplicateField(p) => write!(f, "duplicate_field:{p}"),
            Rejection::BadValue(p) => write!(f, "bad_value:{p}"),
            Rejection::NulCharacter => f.write_str("nul_character"),
            Rejection::TooLarge => f.write_str("too_large"),
            Rejection::BadGzip => f.write_str("bad_gzip"),
            Rejection::StringTooLong => f.write_str("string_too_long"),
        }
    }
}
