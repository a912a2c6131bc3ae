//! Local executor for AWS Step Functions state machines written in the Amazon
//! States Language with the JSONPath query language, following AWS's semantics.
//!
//! ```no_run
//! # async fn demo() {
//! use asl::{Clock, Definition, ExecutionOptions, Executor, Registry};
//! let def = Definition::from_json(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#).unwrap();
//! let exec = Executor::new(Registry::new(), Clock::virtual_now());
//! let run = exec.start(&def, serde_json::json!({"a": 1}), ExecutionOptions::default()).await;
//! assert_eq!(run.output, Some(serde_json::json!({"a": 1})));
//! # }
//! ```

mod choice;
mod clock;
pub mod context;
mod definition;
mod error;
mod executor;
pub mod filter;
mod history;
pub mod intrinsics;
pub mod limits;
mod mock;
pub mod path;
mod payload;
mod random;
mod substitute;
mod task;
pub mod timefmt;

pub use clock::Clock;
pub use context::ContextObject;
pub use definition::Definition;
pub use error::{names, DefinitionError, Failure, SubstituteError};
pub use executor::{Execution, ExecutionOptions, ExecutionStatus, Executor};
pub use history::{History, HistoryEvent};
pub use limits::Limits;
pub use mock::{MockConfig, MockError, MockResponse, MockTestCase};
pub use substitute::substitute;
pub use task::{handler_fn, FnHandler, Registry, TaskCall, TaskError, TaskHandler};
