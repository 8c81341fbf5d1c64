//! Recognising what each document is and building the pipeline model from it.
//!
//! Detection is per document, never per file: KFP v2 writes the IR and its platform spec
//! as two documents of one file. Documents no adapter claims go to the generic fallback;
//! documents with no container at all are skipped with a reason.

pub mod argo;
pub mod generic;
pub mod k8s;
pub mod kfp_v2;
pub mod kubernetes;
pub mod tekton;

use std::borrow::Cow;
use std::cell::Cell;

use crate::model::Pipeline;
use crate::yaml::{Limits, NodeRef, Tree};

/// Documents found inside string scalars (a JSON `podSpecPatch`, an Argo resource
/// manifest, the container specs the KFP backend stores as JSON parameters). Their trees
/// live here for as long as the model that points into them; their spans map back to the
/// outer file.
pub struct Embedded {
    trees: typed_arena::Arena<Tree>,
    limits: Limits,
    /// Bytes that may still be parsed: bounded by the file size, so nested strings cannot
    /// multiply the work.
    budget: Cell<usize>,
}

impl Embedded {
    /// Room for embedded documents of a file of `file_size` bytes.
    pub fn new(limits: Limits, file_size: usize) -> Self {
        Self { trees: typed_arena::Arena::new(), limits, budget: Cell::new(file_size.saturating_mul(2)) }
    }

    /// Parses the text of a string scalar as YAML or JSON. `None` when the scalar is not a
    /// string, does not parse, holds no mapping or sequence, or the budget is spent.
    pub fn parse<'t>(&'t self, node: NodeRef<'_>) -> Option<&'t Tree> {
        let scalar = node.scalar_source()?;
        let text = scalar.value();
        let trimmed = text.trim_start();
        if !(trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.contains(":\n") || trimmed.contains(": "))
        {
            return None;
        }
        let remaining = self.budget.get().checked_sub(text.len())?;
        self.budget.set(remaining);
        let tree = Tree::parse_likely_json(scalar, self.limits).ok()?;
        let holds_structure = tree.documents().any(|doc| doc.is_mapping() || doc.is_sequence());
        holds_structure.then(|| &*self.trees.alloc(tree))
    }
}

/// What became of one document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentOutcome {
    /// 0-based index of the document in its file.
    pub index: usize,
    /// The format label when the document was linted, `None` when it was skipped.
    pub format: Option<Cow<'static, str>>,
    /// Why the document was skipped.
    pub skipped: Option<String>,
}

/// The pipelines of one file, and what happened to each document.
pub struct Recognized<'t> {
    pub pipelines: Vec<Pipeline<'t>>,
    /// For each pipeline, the documents it was built from (for rules that scan raw text).
    pub sources: Vec<Vec<NodeRef<'t>>>,
    pub documents: Vec<DocumentOutcome>,
}

/// Builds the model for every document of `tree`. `fallback_name` names pipelines that
/// carry no name of their own (the file stem).
pub fn recognize<'t>(tree: &'t Tree, embedded: &'t Embedded, fallback_name: &str) -> Recognized<'t> {
    let documents: Vec<_> = tree.documents().collect();
    let platforms: Vec<_> = documents.iter().map(|&doc| kfp_v2::platform_spec(doc)).collect();
    let has_ir = documents.iter().any(|&doc| kfp_v2::pipeline_spec(doc).is_some());
    // KFP writes one IR and at most one platform document per file.
    let shared_platform = platforms.iter().flatten().next().copied();
    let shared_platform_document = platforms.iter().position(Option::is_some).map(|index| documents[index]);

    let mut recognized = Recognized { pipelines: Vec::new(), sources: Vec::new(), documents: Vec::new() };
    for (index, &document) in documents.iter().enumerate() {
        let (pipeline, skipped) = if kfp_v2::pipeline_spec(document).is_some() {
            (Some(kfp_v2::pipeline(document, shared_platform, fallback_name)), None)
        } else if let Some(platform) = platforms[index] {
            if has_ir {
                // Joined onto the IR's executors above.
                recognized.documents.push(DocumentOutcome {
                    index,
                    format: Some(crate::model::Format::KfpV2Platform.label().into()),
                    skipped: None,
                });
                continue;
            }
            (Some(kfp_v2::platform_only(document, platform, fallback_name)), None)
        } else if let Some(pipeline) = argo::pipeline(document, embedded, fallback_name) {
            (Some(pipeline), None)
        } else if let Some(pipeline) = tekton::pipeline(document, embedded, fallback_name) {
            (Some(pipeline), None)
        } else if let Some(pipeline) = kubernetes::pipeline(document, fallback_name) {
            (Some(pipeline), None)
        } else {
            match generic::pipeline(document, fallback_name) {
                Some(pipeline) => (Some(pipeline), None),
                None => (None, Some(skip_reason(document))),
            }
        };
        recognized.documents.push(DocumentOutcome {
            index,
            format: pipeline.as_ref().map(|p| p.format.label().into()),
            skipped,
        });
        if let Some(pipeline) = pipeline {
            let mut sources = vec![document];
            // The platform spec belongs to the IR it configures.
            if pipeline.format == crate::model::Format::KfpV2 {
                sources.extend(shared_platform_document.filter(|platform| platform.id() != document.id()));
            }
            recognized.sources.push(sources);
            recognized.pipelines.push(pipeline);
        }
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
