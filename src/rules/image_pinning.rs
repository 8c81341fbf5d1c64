//! The image pinning rules: `unpinned-image` (`:latest` or no tag at all) and
//! `image-not-digest-pinned` (no `@sha256:` digest; off by default). They share one
//! parser of image references ([`ImageRef::parse`]).

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::{Container, Pipeline};

pub static UNPINNED_IMAGE: Rule = Rule {
    meta: RuleMeta {
        id: "unpinned-image",
        severity: Severity::Low,
        enabled_by_default: true,
        summary: "Image without a tag or with `:latest`",
        help: "pin the image to a version tag, or better to a digest (`image@sha256:…`)",
        tags: &["security", "supply-chain", "reproducibility", "CWE-1357", "CWE-494"],
        docs: Docs {
            what: "Flags container images referenced without a tag (`python`, \
`registry.example.com:5000/team/trainer`) or with the `:latest` tag. Images pinned by \
digest (`…@sha256:…`, with or without a tag) are never flagged; neither are images chosen \
at run time (KFP `{{$.inputs.parameters['image']}}`, Argo `{{inputs.parameters.image}}`, \
Tekton `$(params.image)`, `$VAR`). A registry port (`host:5000/img`) is not a tag.",
            why: "`latest` (which is what no tag means) moves: two runs of the same pipeline \
can execute different code, results stop being reproducible, and whoever can push to the \
repository changes what the pipeline runs without touching it. Kubernetes also pulls \
`:latest` on every start (`imagePullPolicy: Always`), so a registry outage stops the pipeline.",
            example: "\
deploymentSpec:
  executors:
    exec-train:
      container:
        image: pytorch/pytorch:latest   # <- flagged",
            fix: "\
- **KFP v2**: `@dsl.component(base_image='python:3.11-slim')` (or \
`'python@sha256:…'`), `dsl.ContainerSpec(image='ghcr.io/org/trainer:1.4.2')`.
- **KFP v1**: `create_component_from_func(..., base_image='python:3.11-slim')`, \
`ContainerOp(image='org/trainer:1.4.2')`.
- **Hera / Argo**: `Container(image='org/trainer:1.4.2')`, `Script(image=...)`.
- **Tekton**: `steps[].image: org/trainer:1.4.2` (or a digest).",
        },
    },
    check: Check::Code(check_unpinned),
};

pub static IMAGE_NOT_DIGEST_PINNED: Rule = Rule {
    meta: RuleMeta {
        id: "image-not-digest-pinned",
        severity: Severity::Low,
        enabled_by_default: false,
        summary: "Image not pinned by digest",
        help: "reference the image by digest: `image:tag@sha256:<digest>`",
        tags: &["security", "supply-chain", "reproducibility", "CWE-1357", "CWE-494"],
        docs: Docs {
            what: "Flags container images that are not pinned by content digest \
(`@sha256:…`), tagged ones included (`python:3.11-slim`). Off by default: enable it where \
every image must be immutable (regulated or production pipelines). Images with no tag or \
`:latest` are reported by `unpinned-image` instead, not twice (unless that rule is \
disabled); images chosen at run time \
(KFP/Argo/Tekton placeholders, `$VAR`) are not judged.",
            why: "A tag is a movable pointer: whoever can push to the repository (or a \
compromised registry) can make `trainer:1.4.2` mean different code tomorrow, and the \
pipeline will run it without any change on your side. A digest names exactly one image.",
            example: "\
deploymentSpec:
  executors:
    exec-train:
      container:
        image: python:3.11-slim   # <- flagged (when enabled)",
            fix: "\
Resolve the digest (`docker buildx imagetools inspect python:3.11-slim`, `crane digest …`) and \
keep the tag for readability: `python:3.11-slim@sha256:…`; let Renovate/Dependabot update it.
- **KFP v2**: `@dsl.component(base_image='python:3.11-slim@sha256:…')`, \
`dsl.ContainerSpec(image='…@sha256:…')`.
- **KFP v1**: `base_image='…@sha256:…'` / `ContainerOp(image='…@sha256:…')`.
- **Hera / Argo**: `Container(image='…@sha256:…')`.
- **Tekton**: `steps[].image: …@sha256:…`.",
        },
    },
    check: Check::Code(check_digest),
};

/// The parts of an image reference `[registry[:port]/]repository[:tag][@digest]`.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Parses an image reference; `None` for empty or templated ones (decided at run time).
    pub fn parse(image: &'a str) -> Option<Self> {
        let image = image.trim();
        // Looked for by `char` (a `&str` needle builds a searcher on every call, and images
        // are parsed by the thousand); most images hold no `{`.
        let templated = image.contains('$') || (image.contains('{') && (image.contains("{{") || image.contains("{…}")));
        if image.is_empty() || templated || image.contains(char::is_whitespace) {
            return None;
        }
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (image, None),
        };
        // A colon after the last slash starts the tag; one before it is a registry port.
        let last_slash = name.rfind('/').map_or(0, |index| index + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(colon) => (&name[..last_slash + colon], Some(&name[last_slash + colon + 1..])),
            None => (name, None),
        };
        Some(ImageRef { repository, tag: tag.filter(|tag| !tag.is_empty()), digest })
    }

    /// Pinned by a content digest (`@sha256:…` or another algorithm).
    pub fn has_digest(&self) -> bool {
        self.digest.is_some_and(|digest| digest.contains(':') && digest.len() > 8)
    }

    /// No digest, and no tag or `latest`.
    pub fn is_unpinned(&self) -> bool {
        !self.has_digest() && self.tag.is_none_or(|tag| tag == "latest")
    }
}

/// Every container's image with its text, each image node once.
fn images<'p, 't>(pipeline: &'p Pipeline<'t>) -> Vec<(&'p Container<'t>, crate::yaml::NodeRef<'t>, &'t str)> {
    let found: Vec<_> = pipeline
        .containers
        .iter()
        .filter_map(|container| {
            let node = container.image?;
            Some((container, node, node.as_str()?))
        })
        .collect();
    // An image inherited by several containers (a Tekton stepTemplate, a YAML alias) is one
    // finding, for the first of them. Keyed on the node itself (its tree and its id there):
    // its file position would build the file map of every embedded tree holding an image.
    // Sorted rather than hashed: cheaper for the handful of containers most pipelines have.
    let mut firsts: Vec<_> = found
        .iter()
        .enumerate()
        .map(|(index, (_, node, _))| (std::ptr::from_ref(node.tree()), node.id(), index))
        .collect();
    firsts.sort_unstable();
    firsts.dedup_by_key(|(tree, id, _)| (*tree, *id));
    if firsts.len() == found.len() {
        return found;
    }
    firsts.sort_unstable_by_key(|&(_, _, index)| index);
    firsts.into_iter().map(|(_, _, index)| found[index]).collect()
}

fn emit(
    out: &mut Emitter<'_>,
    rule: &RuleMeta,
    container: &Container<'_>,
    node: crate::yaml::NodeRef<'_>,
    message: String,
) {
    let span = node.text().source_span();
    let value = node.as_str().unwrap_or_default().to_string();
    out.emit(rule, Hit { span, message, container: Some(container), field: "image".into(), value, ..Hit::default() });
}

fn check_unpinned(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for (container, node, text) in images(pipeline) {
        let Some(image) = ImageRef::parse(text) else { continue };
        if !image.is_unpinned() {
            continue;
        }
        let how = if image.tag.is_some() { "uses the `latest` tag" } else { "has no tag (means `latest`)" };
        let message = format!("image `{}` of container `{}` {how}", text.trim(), container.name);
        emit(out, &UNPINNED_IMAGE.meta, container, node, message);
    }
}

fn check_digest(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for (container, node, text) in images(pipeline) {
        let Some(image) = ImageRef::parse(text) else { continue };
        // `unpinned-image` (which runs first) already reported it, saying more.
        if image.has_digest() || out.covered(UNPINNED_IMAGE.meta.id, &node.text().source_span()) {
            continue;
        }
        let message = format!("image `{}` of container `{}` is not pinned by digest", text.trim(), container.name);
        emit(out, &IMAGE_NOT_DIGEST_PINNED.meta, container, node, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_are_parsed() {
        let parse = |image| ImageRef::parse(image).unwrap_or_else(|| panic!("{image}"));
        assert_eq!(parse("python").tag, None);
        assert_eq!(parse("python:3.11-slim").tag, Some("3.11-slim"));
        assert_eq!(parse("localhost:5000/img").tag, None);
        assert_eq!(parse("localhost:5000/img").repository, "localhost:5000/img");
        assert_eq!(parse("host:5000/team/img:1.2").tag, Some("1.2"));
        assert!(parse("python@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").has_digest());
        assert!(
            parse("python:3.11@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").has_digest()
        );
        for image in ["{{$.inputs.parameters['image']}}", "$(params.image)", "{{inputs.parameters.img}}", "", "$IMAGE"]
        {
            assert!(ImageRef::parse(image).is_none(), "{image}");
        }
    }

    #[test]
    fn unpinned_means_latest_or_no_tag_without_digest() {
        for image in ["python", "pytorch/pytorch:latest", "registry.example.com:5000/team/trainer", "gcr.io/x/y"] {
            assert!(ImageRef::parse(image).is_some_and(|i| i.is_unpinned()), "{image}");
        }
        for image in [
            "python:3.11",
            "localhost:5000/img:v1",
            "img:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(ImageRef::parse(image).is_some_and(|i| !i.is_unpinned()), "{image}");
        }
    }
}
