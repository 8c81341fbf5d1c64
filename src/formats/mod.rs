//! Recognising what each document is and building the pipeline model from it.
//!
//! Detection is per document, never per file: KFP v2 writes the IR and its platform spec
//! as two documents of one file. Documents no adapter claims go to the generic fallback;
//! documents with no container at all are skipped with a reason.

pub mod generic;
pub mod kfp_v2;

use crate::model::Pipeline;
use crate::yaml::Tree;

/// What became of one document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DocumentOutcome {
    /// 0-based index of the document in its file.
    pub index: usize,
    /// The format label when the document was linted, `None` when it was skipped.
    pub format: Option<&'static str>,
    /// Why the document was skipped.
    pub skipped: Option<String>,
}

/// The pipelines of one file, and what happened to each document.
pub struct Recognized<'t> {
    pub pipelines: Vec<Pipeline<'t>>,
    pub documents: Vec<DocumentOutcome>,
}

/// Builds the model for every document of `tree`. `fallback_name` names pipelines that
/// carry no name of their own (the file stem).
pub fn recognize<'t>(tree: &'t Tree, fallback_name: &str) -> Recognized<'t> {
    let documents: Vec<_> = tree.documents().collect();
    let platforms: Vec<_> = documents.iter().map(|&doc| kfp_v2::platform_spec(doc)).collect();
    let has_ir = documents.iter().any(|&doc| kfp_v2::pipeline_spec(doc).is_some());
    // KFP writes one IR and at most one platform document per file.
    let shared_platform = platforms.iter().flatten().next().copied();

    let mut recognized = Recognized { pipelines: Vec::new(), documents: Vec::new() };
    for (index, &document) in documents.iter().enumerate() {
        let (pipeline, skipped) = if kfp_v2::pipeline_spec(document).is_some() {
            (Some(kfp_v2::pipeline(document, shared_platform, fallback_name)), None)
        } else if let Some(platform) = platforms[index] {
            if has_ir {
                // Joined onto the IR's executors above.
                recognized.documents.push(DocumentOutcome {
                    index,
                    format: Some(crate::model::Format::KfpV2Platform.label()),
                    skipped: None,
                });
                continue;
            }
            (Some(kfp_v2::platform_only(document, platform, fallback_name)), None)
        } else {
            match generic::pipeline(document, fallback_name) {
                Some(pipeline) => (Some(pipeline), None),
                None => (None, Some(skip_reason(document))),
            }
        };
        recognized.documents.push(DocumentOutcome {
            index,
            format: pipeline.as_ref().map(|p| p.format.label()),
            skipped,
        });
        recognized.pipelines.extend(pipeline);
    }
    recognized
}

/// A short reason for a document that holds no pipeline.
fn skip_reason(document: crate::yaml::NodeRef<'_>) -> String {
    if !document.is_mapping() {
        return "not a mapping".to_string();
    }
    match (document.get("apiVersion").and_then(|n| n.as_str()), document.get("kind").and_then(|n| n.as_str())) {
        (Some(api), Some(kind)) => format!("{api} {kind} runs no container"),
        _ => "no pipeline or container found".to_string(),
    }
}
