//! JSONPath filter expressions, `[?(@.status == 0)]`, as Step Functions' JSONPath (Jayway)
//! evaluates them: comparisons of a field of the current element with a literal or another
//! field, existence tests `[?(@.x)]`, joined by `&&`, `||` and grouped by parentheses.

use crate::path::{get_segments, Segment};
use serde_json::Value;
use std::cmp::Ordering;

/// One filter: the expression between `[?(` and `)]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `@.x`: true when the current element has the path.
    Exists(Vec<Segment>),
    Compare(Operand, Op, Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `@`, `@.a.b`, `@['a'][0]`.
    Current(Vec<Segment>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Filter {
    /// Whether `item` (the `@` of the expression) passes.
    pub fn matches(&self, item: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(item) && b.matches(item),
            Filter::Or(a, b) => a.matches(item) || b.matches(item),
            Filter::Exists(segs) => get_segments(item, segs).is_some(),
            Filter::Compare(l, op, r) => {
                let (Some(l), Some(r)) = (l.value(item), r.value(item)) else {
                    // A missing field matches no comparison, `!=` included.
                    return false;
                };
                compare(&l, *op, &r)
            }
        }
    }
}

impl Operand {
    fn value(&self, item: &Value) -> Option<Value> {
        match self {
            Operand::Current(segs) => get_segments(item, segs),
            Operand::Literal(v) => Some(v.clone()),
        }
    }
}

/// Numbers compare by value, strings by their characters, booleans and null only for
/// (in)equality; values of different types are never equal and never ordered.
fn compare(l: &Value, op: Op, r: &Value) -> bool {
    let ord = match (l, r) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => None,
        },
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        // Booleans, null, objects and arrays: equal when they are the same JSON.
        _ => {
            return match op {
                Op::Eq => l == r,
                Op::Ne => l != r,
                _ => false,
            }
        }
    };
    match (ord, op) {
        (None, _) => false,
        (Some(o), Op::Eq) => o == Ordering::Equal,
        (Some(o), Op::Ne) => o != Ordering::Equal,
        (Some(o), Op::Lt) => o == Ordering::Less,
        (Some(o), Op::Le) => o != Ordering::Greater,
        (Some(o), Op::Gt) => o == Ordering::Greater,
        (Some(o), Op::Ge) => o != Ordering::Less,
    }
}

const SUPPORTED: &str = "filters support ==, !=, <, <=, >, >= between @-paths and number, string, boolean or null literals, existence tests like [?(@.field)], && and || with parentheses";

/// Parses the text between `[?(` and `)]` of `path`.
pub fn parse(expr: &str, path: &str) -> Result<Filter, String> {
    let mut p = Parser {
        c: expr.chars().collect(),
        i: 0,
        path,
    };
    let f = p.or()?;
    p.ws();
    if p.i < p.c.len() {
        return Err(p.unsupported());
    }
    Ok(f)
}

struct Parser<'a> {
    c: Vec<char>,
    i: usize,
    path: &'a str,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.c.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        self.ws();
        let n = s.chars().count();
        if self.c.len() >= self.i + n && self.c[self.i..self.i + n].iter().copied().eq(s.chars()) {
            self.i += n;
            true
        } else {
            false
        }
    }

    fn unsupported(&self) -> String {
        let rest: String = self.c[self.i.min(self.c.len())..].iter().collect();
        format!(
            "path '{}' has a filter this executor does not support at '{}'; {SUPPORTED}",
            self.path,
            rest.trim()
        )
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut f = self.and()?;
        while self.eat("||") {
            f = Filter::Or(Box::new(f), Box::new(self.and()?));
        }
        Ok(f)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut f = self.term()?;
        while self.eat("&&") {
            f = Filter::And(Box::new(f), Box::new(self.term()?));
        }
        Ok(f)
    }

    fn term(&mut self) -> Result<Filter, String> {
        if self.eat("(") {
            let f = self.or()?;
            if !self.eat(")") {
                return Err(self.unsupported());
            }
            return Ok(f);
        }
        let left = self.operand()?;
        self.ws();
        let op = if self.eat("==") {
            Op::Eq
        } else if self.eat("!=") {
            Op::Ne
        } else if self.eat("<=") {
            Op::Le
        } else if self.eat(">=") {
            Op::Ge
        } else if self.eat("<") {
            Op::Lt
        } else if self.eat(">") {
            Op::Gt
        } else {
            self.ws();
            return match (left, self.peek()) {
                (Operand::Current(segs), None | Some(')' | '&' | '|')) => Ok(Filter::Exists(segs)),
                _ => Err(self.unsupported()),
            };
        };
        let right = self.operand()?;
        Ok(Filter::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.ws();
        match self.peek() {
            Some('@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments()?))
            }
            Some(q @ ('\'' | '"')) => {
                self.i += 1;
                Ok(Operand::Literal(Value::String(self.quoted(q)?)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.i += 1;
                }
                let text: String = self.c[start..self.i].iter().collect();
                let n: serde_json::Number = text.parse().map_err(|_| self.unsupported())?;
                Ok(Operand::Literal(Value::Number(n)))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.eat(word) {
                        return Ok(Operand::Literal(v));
                    }
                }
                Err(self.unsupported())
            }
        }
    }

    fn quoted(&mut self, q: char) -> Result<String, String> {
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(format!("path '{}' has an unclosed quote", self.path)),
                Some('\\') if self.c.get(self.i + 1).is_some() => {
                    s.push(self.c[self.i + 1]);
                    self.i += 2;
                }
                Some(c) if c == q => {
                    self.i += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// The path after `@`: `.name`, `['name']`, `[n]`.
    fn segments(&mut self) -> Result<Vec<Segment>, String> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.i += 1;
                    let start = self.i;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$'))
                    {
                        self.i += 1;
                    }
                    if start == self.i {
                        return Err(self.unsupported());
                    }
                    segs.push(Segment::Field(self.c[start..self.i].iter().collect()));
                }
                Some('[') => {
                    self.i += 1;
                    match self.peek() {
                        Some(q @ ('\'' | '"')) => {
                            self.i += 1;
                            segs.push(Segment::Field(self.quoted(q)?));
                        }
                        _ => {
                            let start = self.i;
                            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                                self.i += 1;
                            }
                            let digits: String = self.c[start..self.i].iter().collect();
                            segs.push(Segment::Index(
                                digits.parse().map_err(|_| self.unsupported())?,
                            ));
                        }
                    }
                    if self.peek() != Some(']') {
                        return Err(self.unsupported());
                    }
                    self.i += 1;
                }
                _ => return Ok(segs),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(expr: &str, item: Value) -> bool {
        parse(expr, "$[?(...)]").unwrap().matches(&item)
    }

    #[test]
    fn compares_numbers_strings_booleans() {
        assert!(m("@.status == 0", json!({"status": 0})));
        assert!(m("@.status == 0", json!({"status": 0.0})));
        assert!(!m("@.status == 0", json!({"status": "0"})));
        assert!(m("@.n != 3", json!({"n": 4})));
        assert!(m("@.n < 3", json!({"n": 2})));
        assert!(!m("@.n < 3", json!({"n": 3})));
        assert!(m("@.n <= 3", json!({"n": 3})));
        assert!(m("@.n > -1.5", json!({"n": 0})));
        assert!(m("@.n >= 1e2", json!({"n": 100})));
        assert!(m("@.name == 'bob'", json!({"name": "bob"})));
        assert!(m("@['name'] == \"bob\"", json!({"name": "bob"})));
        assert!(m("@.name < 'c'", json!({"name": "bob"})));
        assert!(m("@.ok == true", json!({"ok": true})));
        assert!(!m("@.ok < true", json!({"ok": false})));
        assert!(m("@.x == null", json!({"x": null})));
        assert!(m("@.a[1] == @.b", json!({"a": [0, 7], "b": 7})));
        assert!(m("@ == 3", json!(3)));
    }

    #[test]
    fn existence_and_logic() {
        assert!(m("@.x", json!({"x": false})));
        assert!(!m("@.x", json!({"y": 1})));
        assert!(!m("@.x != 1", json!({"y": 1})));
        assert!(m("@.a == 1 && @.b == 2", json!({"a": 1, "b": 2})));
        assert!(!m("@.a == 1 && @.b == 2", json!({"a": 1, "b": 3})));
        assert!(m("@.a == 9 || @.b == 2", json!({"a": 1, "b": 2})));
        assert!(m("(@.a == 9 || @.b == 2) && @.c", json!({"b": 2, "c": 0})));
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in [
            "@.name =~ /bo.*/",
            "@.n in [1, 2]",
            "@.list.length() > 1",
            "$.limit > @.n",
            "!@.x",
            "@.n == ",
            "@.n === 1",
        ] {
            let e = parse(bad, "$.a[?(x)]").unwrap_err();
            assert!(
                e.contains("does not support") && e.contains("=="),
                "{bad}: {e}"
            );
        }
    }
}
