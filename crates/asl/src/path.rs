//! The JSONPath subset ASL uses: `$`, `.field`, `['field']`, `[n]`, `[*]`/`.*`, filters
//! `[?(@.x == 1)]` (see [`crate::filter`]), and `$$` for the context object; reading values
//! and writing a `ResultPath`.

use crate::filter::{self, Filter};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Field(String),
    Index(usize),
    Wildcard,
    /// `[?(...)]`: the elements of an array (or an object itself) that pass.
    Filter(Filter),
}

/// A parsed path. `context` is true for `$$...` (reads the context object).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub context: bool,
    pub segments: Vec<Segment>,
    pub text: String,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let (context, rest) = if let Some(r) = text.strip_prefix("$$") {
            (true, r)
        } else if let Some(r) = text.strip_prefix('$') {
            (false, r)
        } else {
            return Err(format!("path '{text}' must start with '$'"));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        let mut segments = Vec::new();
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err(format!("path '{text}' has an empty field name"));
                    }
                    if name == "*" {
                        segments.push(Segment::Wildcard);
                    } else {
                        segments.push(Segment::Field(name));
                    }
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some(q @ ('\'' | '"')) => {
                            let q = *q;
                            i += 1;
                            let mut name = String::new();
                            loop {
                                match chars.get(i) {
                                    None => {
                                        return Err(format!("path '{text}' has an unclosed quote"))
                                    }
                                    Some('\\') if chars.get(i + 1).is_some() => {
                                        name.push(chars[i + 1]);
                                        i += 2;
                                    }
                                    Some(c) if *c == q => {
                                        i += 1;
                                        break;
                                    }
                                    Some(c) => {
                                        name.push(*c);
                                        i += 1;
                                    }
                                }
                            }
                            segments.push(Segment::Field(name));
                        }
                        Some('*') => {
                            i += 1;
                            segments.push(Segment::Wildcard);
                        }
                        Some('?') => {
                            // The filter runs to the ']' that closes it, outside quotes.
                            let start = i + 1;
                            let mut quote = None;
                            let mut depth = 0i32;
                            while let Some(&c) = chars.get(i) {
                                match (quote, c) {
                                    (Some(_), '\\') => i += 1,
                                    (Some(q), c) if c == q => quote = None,
                                    (Some(_), _) => {}
                                    (None, '\'' | '"') => quote = Some(c),
                                    (None, '(') => depth += 1,
                                    (None, ')') => depth -= 1,
                                    (None, ']') if depth == 0 => break,
                                    _ => {}
                                }
                                i += 1;
                            }
                            let inner: String = chars[start..i.min(chars.len())].iter().collect();
                            let body = inner
                                .trim()
                                .strip_prefix('(')
                                .and_then(|b| b.strip_suffix(')'))
                                .ok_or_else(|| {
                                    format!("path '{text}' has a filter that is not of the form [?(expression)]")
                                })?;
                            segments.push(Segment::Filter(filter::parse(body, text)?));
                        }
                        _ => {
                            let start = i;
                            while i < chars.len() && chars[i].is_ascii_digit() {
                                i += 1;
                            }
                            let digits: String = chars[start..i].iter().collect();
                            let n = digits.parse::<usize>().map_err(|_| {
                                format!("path '{text}' has an unsupported subscript: this executor reads [n], ['name'], [*] and [?(filter)]")
                            })?;
                            segments.push(Segment::Index(n));
                        }
                    }
                    match chars.get(i) {
                        Some(']') => {}
                        None => return Err(format!("path '{text}' has an unclosed '['")),
                        // Slices [1:2], unions [0,1] and the like.
                        Some(_) => return Err(format!("path '{text}' has an unsupported subscript: this executor reads [n], ['name'], [*] and [?(filter)]")),
                    }
                    i += 1;
                }
                c => return Err(format!("path '{text}' has an unexpected character '{c}'")),
            }
        }
        Ok(JsonPath {
            context,
            segments,
            text: text.to_string(),
        })
    }

    /// True when the path can name a single location (needed for `ResultPath`).
    pub fn is_reference(&self) -> bool {
        !self.context
            && !self
                .segments
                .iter()
                .any(|s| matches!(s, Segment::Wildcard | Segment::Filter(_)))
    }

    /// Reads the value; `None` when any step is missing. A wildcard collects the
    /// matches into an array, as AWS does for `$.items[*].id`.
    pub fn get(&self, root: &Value) -> Option<Value> {
        get_segments(root, &self.segments)
    }
}

pub(crate) fn get_segments(v: &Value, segs: &[Segment]) -> Option<Value> {
    let Some((first, rest)) = segs.split_first() else {
        return Some(v.clone());
    };
    match first {
        Segment::Field(name) => get_segments(v.as_object()?.get(name)?, rest),
        Segment::Index(n) => get_segments(v.as_array()?.get(*n)?, rest),
        Segment::Wildcard => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => return None,
            };
            Some(Value::Array(
                items
                    .into_iter()
                    .filter_map(|x| get_segments(x, rest))
                    .collect(),
            ))
        }
        Segment::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            Some(Value::Array(
                items
                    .into_iter()
                    .filter(|x| f.matches(x))
                    .filter_map(|x| get_segments(x, rest))
                    .collect(),
            ))
        }
    }
}

/// Writes `value` at `path` inside `root`, creating missing objects on the way
/// (AWS: "a new nested path like $.a.b creates objects"). Fails when the path runs
/// through a non-object value or an array index that does not exist.
pub fn set(root: Value, path: &JsonPath, value: Value) -> Result<Value, String> {
    if path.segments.is_empty() {
        return Ok(value);
    }
    let mut root = root;
    let mut cur = &mut root;
    let last = path.segments.len() - 1;
    for (i, seg) in path.segments.iter().enumerate() {
        match seg {
            Segment::Field(name) => {
                let obj = cur.as_object_mut().ok_or_else(|| {
                    format!(
                        "cannot set '{}': a step before '{name}' is not an object",
                        path.text
                    )
                })?;
                if i == last {
                    obj.insert(name.clone(), value);
                    return Ok(root);
                }
                cur = obj
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if cur.is_null() {
                    *cur = Value::Object(Map::new());
                }
            }
            Segment::Index(n) => {
                let arr = cur.as_array_mut().ok_or_else(|| {
                    format!(
                        "cannot set '{}': a step before [{n}] is not an array",
                        path.text
                    )
                })?;
                let slot = arr.get_mut(*n).ok_or_else(|| {
                    format!("cannot set '{}': index {n} is out of range", path.text)
                })?;
                if i == last {
                    *slot = value;
                    return Ok(root);
                }
                cur = slot;
            }
            Segment::Wildcard | Segment::Filter(_) => {
                return Err(format!("'{}' is not a reference path", path.text))
            }
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_reads() {
        let v = json!({"a": {"b c": [1, {"d": 2}]}});
        assert_eq!(
            JsonPath::parse("$['a']['b c'][1].d").unwrap().get(&v),
            Some(json!(2))
        );
        assert_eq!(JsonPath::parse("$.a.x").unwrap().get(&v), None);
        assert!(JsonPath::parse("a.b").is_err());
        let p = JsonPath::parse("$$.Map.Item.Index").unwrap();
        assert!(p.context);
    }

    #[test]
    fn filters_select_matching_elements() {
        let v = json!({"users": [
            {"name": "a", "status": 0, "admin": true},
            {"name": "b", "status": 1},
            {"name": "c]", "status": 0}
        ]});
        let get = |p: &str| JsonPath::parse(p).unwrap().get(&v).unwrap();
        assert_eq!(get("$.users[?(@.status == 0)].name"), json!(["a", "c]"]));
        assert_eq!(get("$.users[?(@.admin)].name"), json!(["a"]));
        assert_eq!(get("$.users[?(@.name == 'c]')].status"), json!([0]));
        assert_eq!(get("$.users[?(@.status > 5)]"), json!([]));
        assert_eq!(
            get("$.users[?(@.status != 0 || @.admin == true)].name"),
            json!(["a", "b"])
        );
        assert!(!JsonPath::parse("$.users[?(@.status == 0)]")
            .unwrap()
            .is_reference());
        let e = JsonPath::parse("$.users[?(@.name =~ /a/)]").unwrap_err();
        assert!(e.contains("does not support"), "{e}");
        let e = JsonPath::parse("$.users[?@.x]").unwrap_err();
        assert!(e.contains("[?(expression)]"), "{e}");
        let e = JsonPath::parse("$.users[1:2]").unwrap_err();
        assert!(e.contains("unsupported subscript"), "{e}");
    }

    #[test]
    fn set_creates_objects() {
        let p = JsonPath::parse("$.a.b").unwrap();
        assert_eq!(
            set(json!({"x": 1}), &p, json!(2)).unwrap(),
            json!({"x": 1, "a": {"b": 2}})
        );
        assert!(set(json!({"a": 3}), &p, json!(2)).is_err());
    }
}
