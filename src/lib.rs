//! pushfeed: Kinesis push feedback into warehouse tables, one minute window at a time.
