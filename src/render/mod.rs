//! Renderers: free functions from a finished [`crate::report::Report`] to bytes.

pub mod github;
pub mod json;
pub mod markdown;
pub mod pretty;
pub mod sarif;
