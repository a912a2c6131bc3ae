//! Local executor for AWS Step Functions state machines.
