//! Definition validation and placeholder substitution.
use asl::{substitute, Definition, DefinitionError, SubstituteError};
use std::collections::HashMap;

fn err(def: &str) -> DefinitionError {
    Definition::from_json(def).expect_err("definition should be rejected")
}

#[test]
fn valid_definition_parses() {
    let d = Definition::from_json(
        r#"{"StartAt":"A","TimeoutSeconds":5,"States":{"A":{"Type":"Pass","End":true}}}"#,
    )
    .unwrap();
    assert_eq!(d.state_names(), vec!["A"]);
    assert_eq!(d.timeout_seconds, Some(5));
}

#[test]
fn rejections_name_the_problem() {
    assert!(matches!(err("{nope"), DefinitionError::Json(_)));
    assert!(matches!(
        err(r#"{"StartAt":"X","States":{"A":{"Type":"Pass","End":true}}}"#),
        DefinitionError::MissingStartAt { start_at, .. } if start_at == "X"
    ));
    assert!(matches!(
        err(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#),
        DefinitionError::UnknownTarget { state, target, .. } if state == "A" && target == "B"
    ));
    assert!(matches!(
        err(r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsNull":true,"Next":"A"}],"Default":"Z"}}}"#),
        DefinitionError::UnknownTarget { field, target, .. } if field == "Default" && target == "Z"
    ));
    assert!(matches!(
        err(r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Q"}]}}}"#),
        DefinitionError::UnknownTarget { target, .. } if target == "Q"
    ));
    assert!(matches!(
        err(r#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#),
        DefinitionError::Invalid { state, .. } if state == "A"
    ));
    assert!(matches!(
        err(r#"{"StartAt":"A","States":{"A":{"Type":"Teleport","End":true}}}"#),
        DefinitionError::UnknownType { state, type_name } if state == "A" && type_name == "Teleport"
    ));
    let e = err(
        r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,
        "Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}"#,
    );
    assert!(
        e.to_string().contains("States.ALL") && e.to_string().contains("'A'"),
        "{e}"
    );
    let e = err(
        r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,
        "Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"A"}]}}}"#,
    );
    assert!(e.to_string().contains("alone"), "{e}");
    // Targets are scoped: a branch cannot jump to a top-level state.
    let e = err(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"B","States":{"B":{"Type":"Pass","Next":"P"}}}]}}}"#,
    );
    assert!(matches!(e, DefinitionError::UnknownTarget { state, .. } if state == "B"));
    let e = err(
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","Bogus":1,"Next":"C"}]}}}"#,
    );
    assert!(e.to_string().contains("Bogus"), "{e}");
    let e = err(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Timestamp":"2024-01-01T00:00:00Z","End":true}}}"#,
    );
    assert!(e.to_string().contains("'W'"), "{e}");
    let e =
        err(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}"#);
    assert!(e.to_string().contains("reference path"), "{e}");
    let e = err(r#"{"StartAt":"S","States":{"S":{"Type":"Succeed","Next":"S"}}}"#);
    assert!(matches!(e, DefinitionError::Invalid { .. }));
    assert!(matches!(err(r#"[1,2]"#), DefinitionError::Structure { .. }));
    assert!(matches!(
        err(r#"{"StartAt":"A","States":{}}"#),
        DefinitionError::Structure { .. }
    ));
}

#[test]
fn substitute_fills_and_reports_unfilled() {
    let vals = HashMap::from([("A".to_string(), "1".to_string())]);
    assert_eq!(substitute("x ${A} y ${A}", &vals).unwrap(), "x 1 y 1");
    assert_eq!(
        substitute("${A} ${B} ${C} ${B}", &vals),
        Err(SubstituteError::Unfilled(vec!["B".into(), "C".into()]))
    );
    assert_eq!(
        substitute("no placeholders $ {x} ${", &vals).unwrap(),
        "no placeholders $ {x} ${"
    );
}
