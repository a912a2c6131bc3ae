//! `${Name}` placeholder substitution, like CloudFormation DefinitionSubstitutions.

use crate::error::SubstituteError;
use std::collections::HashMap;

/// Replaces every `${Name}` whose name is in `values`. Placeholders without a
/// value are all reported (sorted, deduplicated) instead of being left in place.
pub fn substitute(
    definition: &str,
    values: &HashMap<String, String>,
) -> Result<String, SubstituteError> {
    let mut out = String::with_capacity(definition.len());
    let mut missing: Vec<String> = Vec::new();
    let mut rest = definition;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        missing.push(name.to_string());
                        out.push_str(&rest[pos..pos + 3 + end]);
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[pos..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        missing.sort();
        missing.dedup();
        Err(SubstituteError::Unfilled(missing))
    }
}
