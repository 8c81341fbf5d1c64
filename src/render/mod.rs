//! Renderers: free functions from a finished [`crate::report::Report`] to bytes.

pub mod json;
pub mod pretty;
pub mod sarif;
