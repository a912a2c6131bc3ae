//! Domain types and pure logic. Nothing here knows about AWS, files or databases.

pub mod access;
pub mod accounting;
pub mod event;
pub mod keys;
pub mod local_time;
pub mod record;
pub mod redshift_sql;
pub mod rejection;
pub mod routes;
pub mod row;
pub mod schema;
pub mod sql;
pub mod views;
pub mod window;
