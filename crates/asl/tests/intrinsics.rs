//! Every intrinsic function, through a Pass state's Parameters.
mod common;
use common::*;
use serde_json::{json, Value};

async fn eval(expr: &str, input: Value) -> Result<Value, (String, String)> {
    let def =
        json!({"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"r.$": expr},"End":true}}})
            .to_string();
    let e = run(&def, input).await;
    match e.output {
        Some(o) => Ok(o["r"].clone()),
        None => Err((e.error.unwrap_or_default(), e.cause.unwrap_or_default())),
    }
}

async fn ok(expr: &str, input: Value) -> Value {
    eval(expr, input)
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e:?}"))
}

async fn intrinsic_failure(expr: &str) {
    let r = eval(expr, json!({"s": "x", "a": [1], "n": 1})).await;
    assert_eq!(
        r.map_err(|e| e.0),
        Err("States.IntrinsicFailure".to_string()),
        "{expr}"
    );
}

#[tokio::test]
async fn format() {
    assert_eq!(
        ok(
            "States.Format('Hello, {}! You are {} and {}', $.name, $.age, $.obj)",
            json!({"name": "Ana", "age": 30, "obj": {"a": true}})
        )
        .await,
        json!("Hello, Ana! You are 30 and {\"a\":true}")
    );
    assert_eq!(
        ok(
            r"States.Format('literal \{\} and \'quote\' and {}', 'x')",
            json!({})
        )
        .await,
        json!("literal {} and 'quote' and x")
    );
    assert_eq!(
        ok(r"States.Format('back\\slash {}', 1)", json!({})).await,
        json!("back\\slash 1")
    );
    intrinsic_failure("States.Format('{} {}', 1)").await;
    intrinsic_failure("States.Format('{}', 1, 2)").await;
}

#[tokio::test]
async fn json_conversions() {
    assert_eq!(
        ok("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).await,
        json!({"a": [1, 2]})
    );
    assert_eq!(
        ok("States.JsonToString($.o)", json!({"o": {"a": 1}})).await,
        json!("{\"a\":1}")
    );
    intrinsic_failure("States.StringToJson('not json')").await;
    intrinsic_failure("States.StringToJson($.n)").await;
}

#[tokio::test]
async fn arrays() {
    assert_eq!(
        ok(
            "States.Array('a', 1, true, null, $.n, States.Array(2))",
            json!({"n": 5})
        )
        .await,
        json!(["a", 1, true, null, 5, [2]])
    );
    assert_eq!(
        ok(
            "States.ArrayPartition($.a, 2)",
            json!({"a": [1, 2, 3, 4, 5]})
        )
        .await,
        json!([[1, 2], [3, 4], [5]])
    );
    intrinsic_failure("States.ArrayPartition($.a, 0)").await;
    assert_eq!(
        ok("States.ArrayContains($.a, 3)", json!({"a": [1, 2, 3]})).await,
        json!(true)
    );
    assert_eq!(
        ok("States.ArrayContains($.a, 'x')", json!({"a": [1, 2, 3]})).await,
        json!(false)
    );
    assert_eq!(
        ok("States.ArrayRange(1, 9, 2)", json!({})).await,
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        ok("States.ArrayRange(5, 1, -2)", json!({})).await,
        json!([5, 3, 1])
    );
    intrinsic_failure("States.ArrayRange(1, 5, 0)").await;
    intrinsic_failure("States.ArrayRange(0, 5000, 1)").await;
    assert_eq!(
        ok("States.ArrayGetItem($.a, 1)", json!({"a": ["x", "y"]})).await,
        json!("y")
    );
    intrinsic_failure("States.ArrayGetItem($.a, 7)").await;
    assert_eq!(
        ok("States.ArrayLength($.a)", json!({"a": [1, 2, 3]})).await,
        json!(3)
    );
    intrinsic_failure("States.ArrayLength($.s)").await;
    assert_eq!(
        ok(
            "States.ArrayUnique($.a)",
            json!({"a": [1, 2, 1, "a", "a", {"k": 1}, {"k": 1}]})
        )
        .await,
        json!([1, 2, "a", {"k": 1}])
    );
}

#[tokio::test]
async fn math() {
    assert_eq!(
        ok("States.MathAdd($.v, -1)", json!({"v": 111})).await,
        json!(110)
    );
    intrinsic_failure("States.MathAdd(1.5, 1)").await;
    intrinsic_failure("States.MathAdd(1)").await;
    let a = ok("States.MathRandom(1, 1000, 42)", json!({})).await;
    let b = ok("States.MathRandom(1, 1000, 42)", json!({})).await;
    assert_eq!(a, b, "a seed makes MathRandom deterministic");
    for _ in 0..20 {
        let v = ok("States.MathRandom(3, 6)", json!({}))
            .await
            .as_i64()
            .unwrap();
        assert!((3..6).contains(&v), "{v} outside [3, 6)");
    }
    intrinsic_failure("States.MathRandom(5, 5)").await;
}

#[tokio::test]
async fn strings_uuid_hash_base64() {
    assert_eq!(
        ok("States.StringSplit($.s, ',')", json!({"s": "1,2,3"})).await,
        json!(["1", "2", "3"])
    );
    assert_eq!(
        ok(
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            json!({})
        )
        .await,
        json!(["This", "is", "a", "test", "string"])
    );
    let u = ok("States.UUID()", json!({})).await;
    let u = u.as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    assert_ne!(ok("States.UUID()", json!({})).await, json!(u));
    let h = |algo: &str| format!("States.Hash('abc', '{algo}')");
    assert_eq!(
        ok(&h("MD5"), json!({})).await,
        json!("900150983cd24fb0d6963f7d28e17f72")
    );
    assert_eq!(
        ok(&h("SHA-1"), json!({})).await,
        json!("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
    assert_eq!(
        ok(&h("SHA-256"), json!({})).await,
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(ok(&h("SHA-384"), json!({})).await,
        json!("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"));
    assert_eq!(ok(&h("SHA-512"), json!({})).await,
        json!("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"));
    intrinsic_failure("States.Hash('abc', 'SHA-3')").await;
    assert_eq!(
        ok("States.Base64Encode('Data to encode')", json!({})).await,
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        ok(
            "States.Base64Decode($.b)",
            json!({"b": "RGF0YSB0byBlbmNvZGU="})
        )
        .await,
        json!("Data to encode")
    );
    intrinsic_failure("States.Base64Decode('***')").await;
}

#[tokio::test]
async fn nesting_and_context_paths() {
    let v = ok(
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), $$.State.Name)",
        json!({"arn": "recipe/name/1.0"}),
    )
    .await;
    assert_eq!(v, json!("name.P"));
}

#[tokio::test]
async fn wrong_arity_unknown_function_and_missing_path() {
    intrinsic_failure("States.JsonToString()").await;
    intrinsic_failure("States.UUID(1)").await;
    intrinsic_failure("States.Nope(1)").await;
    let r = eval("States.ArrayLength($.missing)", json!({})).await;
    assert_eq!(r.map_err(|e| e.0), Err("States.Runtime".to_string()));
}

#[test]
fn malformed_intrinsic_is_a_definition_error() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"r.$":"States.Format('x'"},"End":true}}}"#;
    let err = asl::Definition::from_json(def).unwrap_err();
    assert!(err.to_string().contains("'P'"), "{err}");
}
