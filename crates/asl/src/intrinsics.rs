//! Parser and evaluator for the `States.*` intrinsic functions of JSONPath states.

use crate::context::ContextObject;
use crate::error::Failure;
use crate::path::JsonPath;
use crate::random;
use base64::Engine;
use serde_json::Value;

/// A parsed intrinsic expression or argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// A single-quoted literal; each char carries whether it was escaped, which
    /// matters for `States.Format` (an escaped `\{` is not a placeholder).
    Str(Vec<(char, bool)>),
    Literal(Value),
    Path(JsonPath),
}

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn looks_like_intrinsic(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

pub fn parse(text: &str) -> Result<Expr, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser { chars, i: 0, text };
    p.skip_ws();
    let e = p.call(0)?;
    p.skip_ws();
    if p.i != p.chars.len() {
        return Err(format!("unexpected trailing text in '{text}'"));
    }
    Ok(e)
}

struct Parser<'a> {
    chars: Vec<char>,
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at offset {} in '{}'", self.i, self.text)
    }

    fn call(&mut self, depth: usize) -> Result<Expr, String> {
        // AWS allows at most 10 nested intrinsics in a field.
        if depth >= 10 {
            return Err(self.err("more than 10 nested intrinsic functions"));
        }
        let start = self.i;
        while self
            .chars
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
        {
            self.i += 1;
        }
        let name: String = self.chars[start..self.i].iter().collect();
        if !name.starts_with("States.") {
            return Err(self.err("expected an intrinsic function name"));
        }
        self.skip_ws();
        if self.chars.get(self.i) != Some(&'(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.chars.get(self.i) == Some(&')') {
            self.i += 1;
            return Ok(Expr::Call { name, args });
        }
        loop {
            self.skip_ws();
            args.push(self.arg(depth)?);
            self.skip_ws();
            match self.chars.get(self.i) {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(Expr::Call { name, args });
                }
                _ => return Err(self.err("expected ',' or ')'")),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Expr, String> {
        match self.chars.get(self.i) {
            None => Err(self.err("missing argument")),
            Some('\'') => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    match self.chars.get(self.i) {
                        None => return Err(self.err("unterminated string literal")),
                        Some('\\') => {
                            let c = *self
                                .chars
                                .get(self.i + 1)
                                .ok_or_else(|| self.err("dangling escape"))?;
                            out.push((c, true));
                            self.i += 2;
                        }
                        Some('\'') => {
                            self.i += 1;
                            return Ok(Expr::Str(out));
                        }
                        Some(c) => {
                            out.push((*c, false));
                            self.i += 1;
                        }
                    }
                }
            }
            Some('$') => {
                let start = self.i;
                let mut bracket = 0usize;
                let mut quote: Option<char> = None;
                while let Some(&c) = self.chars.get(self.i) {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') if bracket > 0 => quote = Some(c),
                        (None, '[') => bracket += 1,
                        (None, ']') => bracket = bracket.saturating_sub(1),
                        (None, ',' | ')') if bracket == 0 => break,
                        (None, c) if c.is_whitespace() && bracket == 0 => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                let text: String = self.chars[start..self.i].iter().collect();
                Ok(Expr::Path(JsonPath::parse(&text)?))
            }
            Some('S') => self.call(depth + 1),
            Some(_) => {
                let start = self.i;
                while self
                    .chars
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, ',' | ')') && !c.is_whitespace())
                {
                    self.i += 1;
                }
                let text: String = self.chars[start..self.i].iter().collect();
                match text.as_str() {
                    "true" => Ok(Expr::Literal(Value::Bool(true))),
                    "false" => Ok(Expr::Literal(Value::Bool(false))),
                    "null" => Ok(Expr::Literal(Value::Null)),
                    _ => match serde_json::from_str::<Value>(&text) {
                        Ok(v @ Value::Number(_)) => Ok(Expr::Literal(v)),
                        _ => Err(self.err(&format!("unrecognised argument '{text}'"))),
                    },
                }
            }
        }
    }
}

/// Evaluated argument: the value, plus the literal's escape flags for Format.
enum Arg {
    Literal(Vec<(char, bool)>),
    Value(Value),
}

impl Arg {
    fn value(&self) -> Value {
        match self {
            Arg::Literal(cs) => Value::String(cs.iter().map(|(c, _)| *c).collect()),
            Arg::Value(v) => v.clone(),
        }
    }
}

/// Evaluates an expression. Paths resolve against `input` or, for `$$`, `context`.
pub fn eval(expr: &Expr, input: &Value, context: &dyn ContextObject) -> Result<Value, Failure> {
    Ok(eval_arg(expr, input, context)?.value())
}

fn eval_arg(expr: &Expr, input: &Value, context: &dyn ContextObject) -> Result<Arg, Failure> {
    match expr {
        Expr::Str(cs) => Ok(Arg::Literal(cs.clone())),
        Expr::Literal(v) => Ok(Arg::Value(v.clone())),
        Expr::Path(p) => {
            let found = if p.context {
                context.lookup(&p.segments)
            } else {
                p.get(input)
            };
            found.map(Arg::Value).ok_or_else(|| {
                Failure::runtime(format!(
                    "The JsonPath argument '{}' of an intrinsic function could not be found in the input",
                    p.text
                ))
            })
        }
        Expr::Call { name, args } => {
            let vals = args
                .iter()
                .map(|a| eval_arg(a, input, context))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, &vals).map(Arg::Value)
        }
    }
}

fn fail(name: &str, msg: impl std::fmt::Display) -> Failure {
    Failure::intrinsic(format!("Invalid arguments in {name}: {msg}"))
}

fn count(name: &str, args: &[Arg], min: usize, max: usize) -> Result<(), Failure> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(fail(
            name,
            format!("expected {want} arguments, got {}", args.len()),
        ));
    }
    Ok(())
}

fn string(name: &str, a: &Arg) -> Result<String, Failure> {
    match a.value() {
        Value::String(s) => Ok(s),
        other => Err(fail(name, format!("expected a string, got {other}"))),
    }
}

fn array(name: &str, a: &Arg) -> Result<Vec<Value>, Failure> {
    match a.value() {
        Value::Array(v) => Ok(v),
        other => Err(fail(name, format!("expected an array, got {other}"))),
    }
}

fn integer(name: &str, a: &Arg) -> Result<i64, Failure> {
    let v = a.value();
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(fail(name, format!("expected an integer, got {v}"))),
    }
}

fn call(name: &str, args: &[Arg]) -> Result<Value, Failure> {
    match name {
        "States.Format" => format(name, args),
        "States.StringToJson" => {
            count(name, args, 1, 1)?;
            let s = string(name, &args[0])?;
            serde_json::from_str(&s).map_err(|e| fail(name, format!("not valid JSON: {e}")))
        }
        "States.JsonToString" => {
            count(name, args, 1, 1)?;
            Ok(Value::String(args[0].value().to_string()))
        }
        "States.Array" => Ok(Value::Array(args.iter().map(Arg::value).collect())),
        "States.ArrayPartition" => {
            count(name, args, 2, 2)?;
            let items = array(name, &args[0])?;
            let size = integer(name, &args[1])?;
            if size <= 0 {
                return Err(fail(name, "chunk size must be a positive integer"));
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            Ok(Value::Array(
                items
                    .chunks(size)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            count(name, args, 2, 2)?;
            let items = array(name, &args[0])?;
            let needle = args[1].value();
            Ok(Value::Bool(items.iter().any(|v| json_eq(v, &needle))))
        }
        "States.ArrayRange" => {
            count(name, args, 3, 3)?;
            let (start, end, step) = (
                integer(name, &args[0])?,
                integer(name, &args[1])?,
                integer(name, &args[2])?,
            );
            if step == 0 {
                return Err(fail(name, "step must not be 0"));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0 && x <= end) || (step < 0 && x >= end) {
                // AWS caps the generated array at 1000 items.
                if out.len() == 1000 {
                    return Err(fail(name, "the range would have more than 1000 items"));
                }
                out.push(Value::from(x));
                x = match x.checked_add(step) {
                    Some(n) => n,
                    None => break,
                };
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            count(name, args, 2, 2)?;
            let items = array(name, &args[0])?;
            let idx = integer(name, &args[1])?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| fail(name, format!("index {idx} is out of bounds")))
        }
        "States.ArrayLength" => {
            count(name, args, 1, 1)?;
            Ok(Value::from(array(name, &args[0])?.len()))
        }
        "States.ArrayUnique" => {
            count(name, args, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in array(name, &args[0])? {
                if !out.iter().any(|o| json_eq(o, &v)) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        "States.MathAdd" => {
            count(name, args, 2, 2)?;
            let a = integer(name, &args[0])?;
            let b = integer(name, &args[1])?;
            a.checked_add(b)
                .map(Value::from)
                .ok_or_else(|| fail(name, "integer overflow"))
        }
        "States.MathRandom" => {
            count(name, args, 2, 3)?;
            let start = integer(name, &args[0])?;
            let end = integer(name, &args[1])?;
            if start >= end {
                return Err(fail(name, "the start must be less than the end"));
            }
            let mut rng = match args.get(2) {
                Some(seed) => random::Rng::seeded(integer(name, seed)? as u64),
                None => random::Rng::from_entropy(),
            };
            // AWS: start inclusive, end exclusive.
            let span = (end as i128 - start as i128) as u128;
            let offset = (u128::from(rng.next_u64()) % span) as i128;
            Ok(Value::from((start as i128 + offset) as i64))
        }
        "States.StringSplit" => {
            count(name, args, 2, 2)?;
            let s = string(name, &args[0])?;
            let delims: Vec<char> = string(name, &args[1])?.chars().collect();
            // AWS treats the second argument as a set of delimiter characters
            // ("This.is+a,test=string" split on ".+,=" gives five words).
            Ok(Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            count(name, args, 0, 0)?;
            Ok(Value::String(random::uuid_v4()))
        }
        "States.Hash" => {
            count(name, args, 2, 2)?;
            let data = string(name, &args[0])?;
            let algo = string(name, &args[1])?;
            hash(&data, &algo).ok_or_else(|| {
                fail(
                    name,
                    format!(
                        "unsupported algorithm '{algo}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
                    ),
                )
            })
        }
        "States.Base64Encode" => {
            count(name, args, 1, 1)?;
            let s = string(name, &args[0])?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        "States.Base64Decode" => {
            count(name, args, 1, 1)?;
            let s = string(name, &args[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| fail(name, format!("not valid base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail(name, "decoded bytes are not UTF-8"))
        }
        other => Err(Failure::intrinsic(format!(
            "unknown intrinsic function '{other}'"
        ))),
    }
}

/// Numbers compare by value so `1` and `1.0` are the same item.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn format(name: &str, args: &[Arg]) -> Result<Value, Failure> {
    if args.is_empty() {
        return Err(fail(name, "expected a template string"));
    }
    let template: Vec<(char, bool)> = match &args[0] {
        Arg::Literal(cs) => cs.clone(),
        Arg::Value(Value::String(s)) => s.chars().map(|c| (c, false)).collect(),
        Arg::Value(v) => return Err(fail(name, format!("template must be a string, got {v}"))),
    };
    let mut out = String::new();
    let mut next = 1;
    let mut i = 0;
    while i < template.len() {
        let (c, escaped) = template[i];
        if c == '{' && !escaped && template.get(i + 1) == Some(&('}', false)) {
            let arg = args
                .get(next)
                .ok_or_else(|| fail(name, "more placeholders than arguments"))?;
            match arg.value() {
                Value::String(s) => out.push_str(&s),
                v => out.push_str(&v.to_string()),
            }
            next += 1;
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    if next != args.len() {
        return Err(fail(name, "more arguments than placeholders"));
    }
    Ok(Value::String(out))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(data: &str, algo: &str) -> Option<Value> {
    use sha2::Digest;
    let d = data.as_bytes();
    let h = match algo {
        "MD5" => hex(&md5::Md5::digest(d)),
        "SHA-1" => hex(&sha1::Sha1::digest(d)),
        "SHA-256" => hex(&sha2::Sha256::digest(d)),
        "SHA-384" => hex(&sha2::Sha384::digest(d)),
        "SHA-512" => hex(&sha2::Sha512::digest(d)),
        _ => return None,
    };
    Some(Value::String(h))
}
