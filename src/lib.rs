//! kfpguard: a security linter for compiled ML pipelines.
//!
//! The data flows one way: [`discover`] -> [`lint`] (read, [`yaml`] parse with spans,
//! [`formats`] recognise and build the [`model`], [`rules`] emit [`finding`]s) ->
//! [`report`] (place, score, sort) -> [`render`], file by file in path order while later
//! files are still being linted ([`ordered`]).

pub mod allocator;
pub mod analysis;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod discover;
pub mod finding;
pub mod formats;
pub mod lint;
pub mod model;
pub mod ordered;
pub mod policy;
pub mod render;
pub mod report;
pub mod rules;
pub mod secrets;
pub mod source;
pub mod spool;
pub mod text;
pub mod yaml;
