//! Choice rules: parsing every comparison operator and evaluating it the AWS way.

use crate::context::ContextObject;
use crate::error::Failure;
use crate::path::JsonPath;
use crate::timefmt::parse_rfc3339;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    String(Cmp),
    Numeric(Cmp),
    Boolean,
    Timestamp(Cmp),
    StringMatches,
    IsPresent,
    IsNull,
    IsString,
    IsNumeric,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(JsonPath),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: JsonPath,
        kind: Kind,
        operand: Operand,
    },
}

fn operator(key: &str) -> Option<(Kind, bool)> {
    let (base, is_path) = match key.strip_suffix("Path") {
        // `IsPresent` etc. never take a Path form; `StringMatches` neither.
        Some(b) if !b.starts_with("Is") && b != "StringMatches" => (b, true),
        _ => (key, false),
    };
    let cmp = |s: &str| match s {
        "Equals" => Some(Cmp::Eq),
        "LessThan" => Some(Cmp::Lt),
        "GreaterThan" => Some(Cmp::Gt),
        "LessThanEquals" => Some(Cmp::Le),
        "GreaterThanEquals" => Some(Cmp::Ge),
        _ => None,
    };
    let kind = if base == "StringMatches" {
        Kind::StringMatches
    } else if let Some(r) = base.strip_prefix("String") {
        Kind::String(cmp(r)?)
    } else if let Some(r) = base.strip_prefix("Numeric") {
        Kind::Numeric(cmp(r)?)
    } else if base == "BooleanEquals" {
        Kind::Boolean
    } else if let Some(r) = base.strip_prefix("Timestamp") {
        Kind::Timestamp(cmp(r)?)
    } else {
        match base {
            "IsPresent" => Kind::IsPresent,
            "IsNull" => Kind::IsNull,
            "IsString" => Kind::IsString,
            "IsNumeric" => Kind::IsNumeric,
            "IsBoolean" => Kind::IsBoolean,
            "IsTimestamp" => Kind::IsTimestamp,
            _ => return None,
        }
    };
    Some((kind, is_path))
}

/// Parses one rule. `top` rules may (must) carry `Next`, nested ones may not.
pub fn parse_rule(v: &Value, top: bool) -> Result<Rule, String> {
    let obj = v.as_object().ok_or("a choice rule must be an object")?;
    let mut keys: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "Next" | "Comment" | "Variable"))
        .collect();
    if !top && obj.contains_key("Next") {
        return Err("a nested choice rule must not have Next".into());
    }
    if keys.len() != 1 {
        keys.sort_unstable();
        return Err(format!(
            "a choice rule needs exactly one operator, found [{}]",
            keys.join(", ")
        ));
    }
    let key = keys[0];
    let val = &obj[key];
    match key {
        "And" | "Or" => {
            let items = val
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| format!("{key} needs a non-empty array"))?;
            let rules = items
                .iter()
                .map(|r| parse_rule(r, false))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if key == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        "Not" => Ok(Rule::Not(Box::new(parse_rule(val, false)?))),
        _ => {
            let (kind, is_path) =
                operator(key).ok_or_else(|| format!("unknown choice operator '{key}'"))?;
            let var = obj
                .get("Variable")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("'{key}' needs a Variable string"))?;
            let variable = JsonPath::parse(var)?;
            let operand = if is_path {
                let p = val
                    .as_str()
                    .ok_or_else(|| format!("'{key}' needs a path string"))?;
                Operand::Path(JsonPath::parse(p)?)
            } else {
                let ok = match kind {
                    Kind::String(_) | Kind::StringMatches => val.is_string(),
                    Kind::Timestamp(_) => val.as_str().and_then(parse_rfc3339).is_some(),
                    Kind::Numeric(_) => val.is_number(),
                    _ => val.is_boolean(),
                };
                if !ok {
                    return Err(format!("'{key}' has a value of the wrong type: {val}"));
                }
                Operand::Literal(val.clone())
            };
            Ok(Rule::Compare {
                variable,
                kind,
                operand,
            })
        }
    }
}

fn order<T: PartialOrd>(a: T, b: T, c: Cmp) -> bool {
    match c {
        Cmp::Eq => a == b,
        Cmp::Lt => a < b,
        Cmp::Gt => a > b,
        Cmp::Le => a <= b,
        Cmp::Ge => a >= b,
    }
}

/// ASL StringMatches: `*` matches any run of characters; `\*` and `\\` are literal.
pub fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Tok::Ch(it.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Ch(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    // Iterative glob match with single-star backtracking: linear in practice.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match toks.get(pi) {
            Some(Tok::Ch(c)) if *c == s[si] => {
                si += 1;
                pi += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(|t| *t == Tok::Star)
}

fn missing(path: &JsonPath) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.text
    ))
}

fn resolve(path: &JsonPath, input: &Value, context: &dyn ContextObject) -> Option<Value> {
    if path.context {
        context.lookup(&path.segments)
    } else {
        path.get(input)
    }
}

/// Evaluates a rule. A Variable or `*Path` operand that names nothing is a
/// `States.Runtime` error (except for IsPresent); a type mismatch is just false.
pub fn eval(rule: &Rule, input: &Value, context: &dyn ContextObject) -> Result<bool, Failure> {
    match rule {
        Rule::And(rs) => {
            for r in rs {
                if !eval(r, input, context)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rs) => {
            for r in rs {
                if eval(r, input, context)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!eval(r, input, context)?),
        Rule::Compare {
            variable,
            kind,
            operand,
        } => {
            let value = resolve(variable, input, context);
            let expected = match operand {
                Operand::Literal(v) => v.clone(),
                Operand::Path(p) => resolve(p, input, context).ok_or_else(|| missing(p))?,
            };
            if *kind == Kind::IsPresent {
                return Ok(value.is_some() == (expected == Value::Bool(true)));
            }
            let value = value.ok_or_else(|| missing(variable))?;
            let want = expected == Value::Bool(true);
            Ok(match kind {
                Kind::String(c) => match (value.as_str(), expected.as_str()) {
                    (Some(a), Some(b)) => order(a, b, *c),
                    _ => false,
                },
                Kind::Numeric(c) => match (value.as_f64(), expected.as_f64()) {
                    (Some(a), Some(b)) if value.is_number() => order(a, b, *c),
                    _ => false,
                },
                Kind::Boolean => value.is_boolean() && value == expected,
                Kind::Timestamp(c) => {
                    match (
                        value.as_str().and_then(parse_rfc3339),
                        expected.as_str().and_then(parse_rfc3339),
                    ) {
                        (Some(a), Some(b)) => order(a, b, *c),
                        _ => false,
                    }
                }
                Kind::StringMatches => match (value.as_str(), expected.as_str()) {
                    (Some(a), Some(p)) => string_matches(a, p),
                    _ => false,
                },
                Kind::IsNull => value.is_null() == want,
                Kind::IsString => value.is_string() == want,
                Kind::IsNumeric => value.is_number() == want,
                Kind::IsBoolean => value.is_boolean() == want,
                Kind::IsTimestamp => value.as_str().and_then(parse_rfc3339).is_some() == want,
                Kind::IsPresent => unreachable_false(),
            })
        }
    }
}

// IsPresent returned above; kept as a total match without a panic.
fn unreachable_false() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::string_matches;

    #[test]
    fn globs() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "*d"));
        assert!(string_matches("abcbd", "a*b*d"));
    }
}
