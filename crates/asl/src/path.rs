//! The JSONPath subset ASL uses: `$`, `.field`, `['field']`, `[n]`, `[*]`/`.*`, and
//! `$$` for the context object; reading values and writing a `ResultPath`.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Field(String),
    Index(usize),
    Wildcard,
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
                        _ => {
                            let start = i;
                            while i < chars.len() && chars[i].is_ascii_digit() {
                                i += 1;
                            }
                            let digits: String = chars[start..i].iter().collect();
                            let n = digits.parse::<usize>().map_err(|_| {
                                format!("path '{text}' has an unsupported subscript")
                            })?;
                            segments.push(Segment::Index(n));
                        }
                    }
                    if chars.get(i) != Some(&']') {
                        return Err(format!("path '{text}' has an unclosed '['"));
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
        !self.context && !self.segments.contains(&Segment::Wildcard)
    }

    /// Reads the value; `None` when any step is missing. A wildcard collects the
    /// matches into an array, as AWS does for `$.items[*].id`.
    pub fn get(&self, root: &Value) -> Option<Value> {
        get_segments(root, &self.segments)
    }
}

fn get_segments(v: &Value, segs: &[Segment]) -> Option<Value> {
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
            Segment::Wildcard => return Err(format!("'{}' is not a reference path", path.text)),
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
    fn set_creates_objects() {
        let p = JsonPath::parse("$.a.b").unwrap();
        assert_eq!(
            set(json!({"x": 1}), &p, json!(2)).unwrap(),
            json!({"x": 1, "a": {"b": 2}})
        );
        assert!(set(json!({"a": 3}), &p, json!(2)).is_err());
    }
}
