//! Placeholder: the argo adapter is being written.

use super::Embedded;
use crate::model::Pipeline;
use crate::yaml::NodeRef;

/// The pipeline of a argo document, or `None` if the document is not one.
pub fn pipeline<'t>(document: NodeRef<'t>, embedded: &'t Embedded, fallback_name: &str) -> Option<Pipeline<'t>> {
    let _ = (document, embedded, fallback_name);
    None
}
