//! A YAML (and JSON) tree that remembers where every node came from.
//!
//! [`Tree::parse`] turns text into a compact arena of nodes with byte spans, for all
//! documents of a stream. It enforces the limits that keep hostile input harmless:
//! nesting depth and the size the tree would have with every alias expanded (aliases
//! are *not* copied, so an alias bomb is refused before anything walks it).
//!
//! A tree can also be parsed from a string that was itself decoded from a scalar of
//! another file (a JSON `podSpecPatch`, an embedded manifest): its `base` map then
//! takes every span back to the bytes of the outer file, so callers only ever see
//! file offsets through [`NodeRef::file_span`] and [`NodeRef::text`]. That map is built on
//! first use: most embedded trees never report a position.
//!
//! This module knows YAML, not pipelines: it never interprets keys.

mod json;
pub mod scalar;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::source::CharOffsets;
use crate::text::MappedText;

/// Index of a node in its [`Tree`].
pub type NodeId = u32;

/// Bounds on what one parse may build.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of collections accepted.
    pub max_depth: usize,
    /// How many nodes alias expansion may add to a tree.
    pub max_expanded_nodes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_depth: 256, max_expanded_nodes: 2_000_000 }
    }
}

/// Why a text could not be turned into a tree.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid YAML: {message}")]
    Syntax { message: String, offset: usize },
    #[error("nesting deeper than {limit} levels")]
    TooDeep { limit: usize, offset: usize },
    #[error("aliases would expand to more than {limit} nodes (alias bomb?)")]
    AliasBomb { limit: u64, offset: usize },
    #[error("alias refers to an anchor that encloses it")]
    RecursiveAlias { offset: usize },
    #[error("alias refers to an unknown anchor")]
    UnknownAnchor { offset: usize },
}

impl ParseError {
    /// Byte offset of the error in the parsed text.
    pub fn offset(&self) -> usize {
        match self {
            ParseError::Syntax { offset, .. }
            | ParseError::TooDeep { offset, .. }
            | ParseError::AliasBomb { offset, .. }
            | ParseError::RecursiveAlias { offset }
            | ParseError::UnknownAnchor { offset } => *offset,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scalar(ScalarStyle),
    Sequence,
    Mapping,
    /// Points at the anchored node in `first`.
    Alias,
}

/// One node. For scalars `first..last` is the value's range in `Tree::strings`; for
/// sequences the range of its items in `Tree::children`; for mappings the range of its
/// alternating keys and values there.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    kind: Kind,
    start: u32,
    end: u32,
    first: u32,
    last: u32,
}

/// All documents parsed from one text.
#[derive(Debug)]
pub struct Tree {
    /// Shared with the [`ScalarSource`]s taken from the tree (an `Arc<String>`: the parsed
    /// `String` is moved in, not copied).
    source: Arc<String>,
    /// Maps `source` to the file it was decoded from; `None` when `source` is the file.
    base: Option<Arc<Base>>,
    nodes: Vec<Node>,
    /// Scalar values, shared with the [`ScalarSource`]s taken from the tree.
    strings: Arc<String>,
    children: Vec<NodeId>,
    documents: Vec<NodeId>,
}

impl Tree {
    /// Parses every document of `source`. `base`, if given, maps `source` to file offsets.
    /// The tree keeps `source`: a file's text, already shared as an `Arc`, is not copied.
    pub fn parse(source: impl Into<Arc<String>>, base: Option<MappedText>, limits: Limits) -> Result<Tree, ParseError> {
        let source = source.into();
        let built = Builder::new(&source, limits).run()?;
        Ok(Self::from_built(source, base.map(Base::Given), built))
    }

    /// Parses the value of the string scalar `scalar`, which is usually strict JSON: JSON is
    /// read by a dedicated reader into the same tree at a fraction of the YAML parser's cost;
    /// anything else goes to the YAML parser. The tree's spans map back through `scalar`.
    pub fn parse_likely_json(scalar: ScalarSource, limits: Limits) -> Result<Tree, ParseError> {
        let source = scalar.value().to_string();
        let built = Self::build_likely_json(&source, limits)?;
        let base = Base::Scalar { scalar, map: OnceLock::new() };
        Ok(Self::from_built(source, Some(base), built))
    }

    /// Parses `source` as [`Tree::parse`] does, through the JSON reader when it is strict
    /// JSON; spans are `source`'s own. For comparing the two readers (the `embedded_json`
    /// fuzz target).
    pub fn parse_json_or_yaml(source: String, limits: Limits) -> Result<Tree, ParseError> {
        let built = Self::build_likely_json(&source, limits)?;
        Ok(Self::from_built(source, None, built))
    }

    fn build_likely_json(source: &str, limits: Limits) -> Result<Built, ParseError> {
        match json::build(source, limits) {
            Some(built) => built,
            None => Builder::new(source, limits).run(),
        }
    }

    fn from_built(source: impl Into<Arc<String>>, base: Option<Base>, built: Built) -> Tree {
        Tree {
            source: source.into(),
            base: base.map(Arc::new),
            nodes: built.nodes,
            strings: Arc::new(built.strings),
            children: built.children,
            documents: built.documents,
        }
    }

    /// The root node of each document, in order.
    pub fn documents(&self) -> impl Iterator<Item = NodeRef<'_>> + '_ {
        self.documents.iter().map(move |&id| NodeRef { tree: self, id })
    }

    pub fn document_count(&self) -> usize {
        self.documents.len()
    }

    /// The text the tree was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// File offsets of a range of this tree's source.
    pub fn file_range(&self, range: Range<usize>) -> Range<usize> {
        match &self.base {
            None => range,
            Some(base) => base.map().source_range(range),
        }
    }

    /// Every scalar node of the tree, each once (aliases not followed), in source order.
    pub fn scalars(&self) -> impl Iterator<Item = NodeRef<'_>> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| matches!(node.kind, Kind::Scalar(_)))
            .map(move |(id, _)| NodeRef { tree: self, id: id as NodeId })
    }
}

/// A node of a [`Tree`], aliases already resolved.
#[derive(Clone, Copy)]
pub struct NodeRef<'t> {
    tree: &'t Tree,
    id: NodeId,
}

impl std::fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_str() {
            Some(value) => write!(f, "NodeRef({}: {value:?})", self.id),
            None => write!(f, "NodeRef({}: {:?})", self.id, self.node().kind),
        }
    }
}

impl<'t> NodeRef<'t> {
    fn node(&self) -> &'t Node {
        let node = &self.tree.nodes[self.id as usize];
        if node.kind == Kind::Alias {
            return &self.tree.nodes[node.first as usize];
        }
        node
    }

    pub fn tree(&self) -> &'t Tree {
        self.tree
    }

    /// A stable identity for the node within its tree (after alias resolution).
    pub fn id(&self) -> NodeId {
        let node = &self.tree.nodes[self.id as usize];
        if node.kind == Kind::Alias { node.first } else { self.id }
    }

    pub fn is_mapping(&self) -> bool {
        self.node().kind == Kind::Mapping
    }

    pub fn is_sequence(&self) -> bool {
        self.node().kind == Kind::Sequence
    }

    /// The scalar's value, or `None` for collections.
    pub fn as_str(&self) -> Option<&'t str> {
        let node = self.node();
        match node.kind {
            Kind::Scalar(_) => self.tree.strings.get(node.first as usize..node.last as usize),
            _ => None,
        }
    }

    /// The scalar style, or `None` for collections.
    pub fn style(&self) -> Option<ScalarStyle> {
        match self.node().kind {
            Kind::Scalar(style) => Some(style),
            _ => None,
        }
    }

    /// True for a plain `null`, `~` or empty scalar.
    pub fn is_null(&self) -> bool {
        self.style() == Some(ScalarStyle::Plain) && matches!(self.as_str(), Some("" | "~" | "null" | "Null" | "NULL"))
    }

    /// A YAML 1.2 core-schema boolean (`true`/`false` in any usual case, plain only).
    pub fn as_bool(&self) -> Option<bool> {
        if self.style() != Some(ScalarStyle::Plain) {
            return None;
        }
        match self.as_str()? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// The value for `key` in a mapping (the last one if a key repeats, like most loaders).
    pub fn get(&self, key: &str) -> Option<NodeRef<'t>> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The key node for `key` in a mapping.
    pub fn key(&self, key: &str) -> Option<NodeRef<'t>> {
        self.entry(key).map(|(key, _)| key)
    }

    /// The last pair of a mapping whose key is the scalar `key`. Adapters look keys up all
    /// the time: searched from the end (the last one wins), comparing lengths first.
    fn entry(&self, key: &str) -> Option<(NodeRef<'t>, NodeRef<'t>)> {
        let tree = self.tree;
        let node = self.node();
        if node.kind != Kind::Mapping {
            return None;
        }
        let (nodes, strings, wanted) = (tree.nodes.as_slice(), tree.strings.as_bytes(), key.as_bytes());
        // True for a key that is a scalar whose value is `key` (`as_str() == Some(key)`):
        // the length, in the node itself, rules out most keys before anything else is read.
        let is_wanted = |id: NodeId| {
            let Some(mut candidate) = nodes.get(id as usize) else { return false };
            if candidate.kind == Kind::Alias {
                let Some(target) = nodes.get(candidate.first as usize) else { return false };
                candidate = target;
            }
            let (first, last) = (candidate.first as usize, candidate.last as usize);
            last.wrapping_sub(first) == wanted.len()
                && matches!(candidate.kind, Kind::Scalar(_))
                && strings.get(first..last) == Some(wanted)
        };
        let pair = tree.children[node.first as usize..node.last as usize]
            .chunks_exact(2)
            .rev()
            .find(|pair| is_wanted(pair[0]))?;
        Some((NodeRef { tree, id: pair[0] }, NodeRef { tree, id: pair[1] }))
    }

    /// Follows a chain of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<NodeRef<'t>> {
        path.iter().try_fold(*self, |node, key| node.get(key))
    }

    /// Key/value pairs of a mapping (nothing for other nodes).
    pub fn entries(self) -> impl Iterator<Item = (NodeRef<'t>, NodeRef<'t>)> + 't {
        let tree = self.tree;
        let node = self.node();
        let ids: &'t [NodeId] = match node.kind {
            Kind::Mapping => &tree.children[node.first as usize..node.last as usize],
            _ => &[],
        };
        ids.chunks_exact(2).map(move |pair| (NodeRef { tree, id: pair[0] }, NodeRef { tree, id: pair[1] }))
    }

    /// Items of a sequence (nothing for other nodes).
    pub fn items(self) -> impl Iterator<Item = NodeRef<'t>> + 't {
        let tree = self.tree;
        let node = self.node();
        let ids: &'t [NodeId] = match node.kind {
            Kind::Sequence => &tree.children[node.first as usize..node.last as usize],
            _ => &[],
        };
        ids.iter().map(move |&id| NodeRef { tree, id })
    }

    /// Every scalar under this node (keys included), each node once even when aliases
    /// repeat it, in document order.
    pub fn scalars(self) -> Vec<NodeRef<'t>> {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![self];
        let mut found = Vec::new();
        while let Some(node) = stack.pop() {
            if !seen.insert(node.id()) {
                continue;
            }
            match node.node().kind {
                Kind::Scalar(_) => found.push(node),
                Kind::Sequence => stack.extend(node.items().collect::<Vec<_>>().into_iter().rev()),
                Kind::Mapping => {
                    let pairs: Vec<_> = node.entries().collect();
                    for (key, value) in pairs.into_iter().rev() {
                        stack.push(value);
                        stack.push(key);
                    }
                }
                Kind::Alias => {}
            }
        }
        found
    }

    /// Byte range of the node in its tree's source.
    pub fn span(&self) -> Range<usize> {
        let node = self.node();
        node.start as usize..node.end as usize
    }

    /// Byte range of the node in the file.
    pub fn file_span(&self) -> Range<usize> {
        self.tree.file_range(self.span())
    }

    /// The scalar's decoded value with the file offset of each byte (empty for collections).
    pub fn text(&self) -> MappedText {
        let node = self.node();
        let (Kind::Scalar(style), Some(value)) = (node.kind, self.as_str()) else {
            return MappedText::new();
        };
        map_text(&self.tree.source, self.tree.base.as_deref(), node.start as usize, node.end as usize, style, value)
    }

    /// The scalar's value and what [`NodeRef::text`] needs to map it, without the tree
    /// (`None` for collections).
    pub fn scalar_source(&self) -> Option<ScalarSource> {
        let node = self.node();
        let Kind::Scalar(style) = node.kind else { return None };
        Some(ScalarSource {
            source: Arc::clone(&self.tree.source),
            base: self.tree.base.clone(),
            strings: Arc::clone(&self.tree.strings),
            value: node.first as usize..node.last as usize,
            start: node.start as usize,
            end: node.end as usize,
            style,
        })
    }
}

/// A scalar, owned: most scalars' maps are never asked for, so holders of many (command
/// words) keep this and build the map, as [`NodeRef::text`] would, on demand. Shares the
/// tree's text and values (no copy).
#[derive(Clone, Debug)]
pub struct ScalarSource {
    source: Arc<String>,
    base: Option<Arc<Base>>,
    strings: Arc<String>,
    /// The value's range in `strings`.
    value: Range<usize>,
    start: usize,
    end: usize,
    style: ScalarStyle,
}

impl ScalarSource {
    /// The decoded value ([`NodeRef::as_str`]).
    pub fn value(&self) -> &str {
        self.strings.get(self.value.clone()).unwrap_or_default()
    }

    /// The value with its map to the file: what [`NodeRef::text`] returns.
    pub fn map(&self) -> MappedText {
        map_text(&self.source, self.base.as_deref(), self.start, self.end, self.style, self.value())
    }
}

/// Maps a tree's source to the file it was decoded from.
#[derive(Debug)]
enum Base {
    /// The map given to [`Tree::parse`].
    Given(MappedText),
    /// The string scalar the source is the value of, and its map, built on first use.
    Scalar { scalar: ScalarSource, map: OnceLock<MappedText> },
}

impl Base {
    fn map(&self) -> &MappedText {
        match self {
            Base::Given(map) => map,
            Base::Scalar { scalar, map } => map.get_or_init(|| scalar.map()),
        }
    }
}

/// The map of a scalar's `value`, written at `start..end` of `source`, to file offsets.
fn map_text(
    source: &str,
    base: Option<&Base>,
    start: usize,
    end: usize,
    style: ScalarStyle,
    value: &str,
) -> MappedText {
    let local = scalar::map_scalar(source, start, end, style, value);
    match base {
        None => local,
        Some(base) => local.remap(base.map()),
    }
}

struct Built {
    nodes: Vec<Node>,
    strings: String,
    children: Vec<NodeId>,
    documents: Vec<NodeId>,
}

/// An open collection while its events arrive.
struct Open {
    id: NodeId,
    /// Where its children start in `Builder::pending`.
    pending_from: usize,
}

struct Builder<'s> {
    source: &'s str,
    offsets: CharOffsets,
    limits: Limits,
    nodes: Vec<Node>,
    /// Node count with aliases expanded, per node; 0 while a collection is still open.
    expanded: Vec<u64>,
    strings: String,
    children: Vec<NodeId>,
    pending: Vec<NodeId>,
    stack: Vec<Open>,
    anchors: Vec<(usize, NodeId)>,
    documents: Vec<NodeId>,
}

impl<'s> Builder<'s> {
    fn new(source: &'s str, limits: Limits) -> Self {
        Self {
            source,
            offsets: CharOffsets::new(source),
            limits,
            nodes: Vec::new(),
            expanded: Vec::new(),
            strings: String::new(),
            children: Vec::new(),
            pending: Vec::new(),
            stack: Vec::new(),
            anchors: Vec::new(),
            documents: Vec::new(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        self.offsets.byte_offset(self.source, char_index)
    }

    fn run(mut self) -> Result<Built, ParseError> {
        let mut parser = Parser::new_from_str(self.source);
        while let Some(event) = parser.next_event() {
            let (event, span) = event.map_err(|error| ParseError::Syntax {
                message: error.info().to_string(),
                offset: self.byte(error.marker().index()),
            })?;
            let start = self.byte(span.start.index());
            let end = self.byte(span.end.index()).max(start);
            match event {
                Event::DocumentStart(_) => self.anchors.clear(),
                Event::Scalar(value, style, anchor, _) => self.scalar(&value, style, anchor, start, end),
                Event::SequenceStart(anchor, _) => self.open(Kind::Sequence, anchor, start)?,
                Event::MappingStart(anchor, _) => self.open(Kind::Mapping, anchor, start)?,
                Event::SequenceEnd | Event::MappingEnd => self.close(end)?,
                Event::Alias(anchor) => {
                    let target = self
                        .anchors
                        .iter()
                        .rev()
                        .find(|(known, _)| *known == anchor)
                        .map(|&(_, id)| id)
                        .ok_or(ParseError::UnknownAnchor { offset: start })?;
                    let size = self.expanded[target as usize];
                    if size == 0 {
                        return Err(ParseError::RecursiveAlias { offset: start });
                    }
                    let node =
                        Node { kind: Kind::Alias, start: start as u32, end: end as u32, first: target, last: target };
                    let id = self.push(node, size);
                    self.attach(id);
                }
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            }
        }
        Ok(self.finish())
    }

    fn finish(self) -> Built {
        Built { nodes: self.nodes, strings: self.strings, children: self.children, documents: self.documents }
    }

    // `scalar` and `close` are shared with the JSON reader; kept inlined into the YAML
    // event loop, the parse-only cost stays what it was (measured: +0.6% otherwise).
    #[inline(always)]
    fn scalar(&mut self, value: &str, style: ScalarStyle, anchor: usize, start: usize, end: usize) {
        let first = self.strings.len() as u32;
        self.strings.push_str(value);
        let last = self.strings.len() as u32;
        let kind = Kind::Scalar(style);
        let id = self.push(Node { kind, start: start as u32, end: end as u32, first, last }, 1);
        self.anchor(anchor, id);
        self.attach(id);
    }

    fn push(&mut self, node: Node, expanded: u64) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.nodes.push(node);
        self.expanded.push(expanded);
        id
    }

    fn anchor(&mut self, anchor: usize, id: NodeId) {
        if anchor != 0 {
            self.anchors.push((anchor, id));
        }
    }

    /// Adds a finished node to its parent, or makes it a document root.
    fn attach(&mut self, id: NodeId) {
        if self.stack.is_empty() {
            self.documents.push(id);
        } else {
            self.pending.push(id);
        }
    }

    fn open(&mut self, kind: Kind, anchor: usize, start: usize) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(ParseError::TooDeep { limit: self.limits.max_depth, offset: start });
        }
        let id = self.push(Node { kind, start: start as u32, end: start as u32, first: 0, last: 0 }, 0);
        self.anchor(anchor, id);
        self.stack.push(Open { id, pending_from: self.pending.len() });
        Ok(())
    }

    #[inline(always)]
    fn close(&mut self, end: usize) -> Result<(), ParseError> {
        let Some(open) = self.stack.pop() else {
            return Ok(());
        };
        let first = self.children.len() as u32;
        let mut size: u64 = 1;
        for &child in &self.pending[open.pending_from..] {
            size = size.saturating_add(self.expanded[child as usize]);
        }
        self.children.extend_from_slice(&self.pending[open.pending_from..]);
        self.pending.truncate(open.pending_from);
        let node = &mut self.nodes[open.id as usize];
        node.first = first;
        node.last = self.children.len() as u32;
        node.end = (end as u32).max(node.start);
        let start = node.start as usize;
        // Real nodes are bounded by the file size; only what aliases add is limited here.
        let real_nodes = self.nodes.len() as u64;
        if size > self.limits.max_expanded_nodes.saturating_add(real_nodes) {
            return Err(ParseError::AliasBomb { limit: self.limits.max_expanded_nodes, offset: start });
        }
        self.expanded[open.id as usize] = size;
        self.attach(open.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Tree, ParseError> {
        Tree::parse(text.to_string(), None, Limits::default())
    }

    #[test]
    fn spans_are_byte_offsets_in_every_document() {
        let text = "a: é\n---\nb: [1, \"x\"]\n";
        let tree = parse(text).unwrap();
        assert_eq!(tree.document_count(), 2);
        let second = tree.documents().nth(1).unwrap();
        let x = second.get("b").unwrap().items().nth(1).unwrap();
        assert_eq!(x.as_str(), Some("x"));
        assert_eq!(&text[x.span()], "\"x\"");
        let first = tree.documents().next().unwrap();
        assert_eq!(&text[first.get("a").unwrap().span()], "é");
    }

    #[test]
    fn json_parses_with_spans() {
        let text = r#"{"pipelineSpec": {"deploymentSpec": {"executors": {}}}, "n": 3}"#;
        let tree = parse(text).unwrap();
        let root = tree.documents().next().unwrap();
        assert!(root.at(&["pipelineSpec", "deploymentSpec", "executors"]).unwrap().is_mapping());
        assert_eq!(&text[root.get("n").unwrap().span()], "3");
    }

    #[test]
    fn aliases_resolve_without_copies() {
        let tree = parse("base: &b {cpu: '1'}\nuse: *b\n").unwrap();
        let root = tree.documents().next().unwrap();
        assert_eq!(root.at(&["use", "cpu"]).and_then(|n| n.as_str()), Some("1"));
        assert_eq!(root.get("use").unwrap().id(), root.get("base").unwrap().id());
    }

    #[test]
    fn keys_are_matched_exactly_and_the_last_one_wins() {
        let tree = parse("k: 1\nname: &n key\n*n : 2\n[k]: 3\nk: 4\né: 5\n\"k \": 6\n").unwrap();
        let root = tree.documents().next().unwrap();
        let value = |key: &str| root.get(key).and_then(|node| node.as_str());
        assert_eq!(value("k"), Some("4"));
        assert_eq!(root.key("k").map(|node| node.span()), Some(32..33));
        assert_eq!(value("key"), Some("2"));
        assert_eq!(value("é"), Some("5"));
        assert_eq!(value("k "), Some("6"));
        assert_eq!(value("[k]"), None);
        assert_eq!(value(""), None);
        assert!(root.get("name").and_then(|node| node.get("k")).is_none());
    }

    #[test]
    fn alias_bomb_is_refused() {
        // Billion laughs: each level holds ten aliases of the one before, 10^9 nodes expanded.
        let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let items = vec![format!("*l{}", level - 1); 10].join(", ");
            text.push_str(&format!("l{level}: &l{level} [{items}]\n"));
        }
        assert!(matches!(parse(&text), Err(ParseError::AliasBomb { .. })));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&text).is_err());
        let block: String = (0..1000).map(|depth| format!("{}k:\n", "  ".repeat(depth))).collect();
        assert!(matches!(parse(&block), Err(ParseError::TooDeep { .. })));
    }

    #[test]
    fn scalars_walks_each_node_once_in_order() {
        let tree = parse("a: &x [p, q]\nb: *x\nc: {d: r}\n").unwrap();
        let root = tree.documents().next().unwrap();
        let values: Vec<_> = root.scalars().iter().filter_map(|n| n.as_str()).collect();
        assert_eq!(values, ["a", "p", "q", "b", "c", "d", "r"]);
    }

    /// The tree the JSON reader builds for `text`, asserted equal to the YAML parser's;
    /// `None` when the reader leaves `text` to the YAML parser.
    fn same_tree_from_json_reader(text: &str) -> Option<Tree> {
        let built = json::build(text, Limits::default())?.unwrap();
        let yaml = parse(text).unwrap();
        assert_eq!(built.nodes, yaml.nodes, "{text}");
        assert_eq!(built.strings, *yaml.strings, "{text}");
        assert_eq!((&built.children, &built.documents), (&yaml.children, &yaml.documents), "{text}");
        Some(yaml)
    }

    #[test]
    fn json_reader_builds_the_yaml_parsers_tree() {
        let read = [
            r#"{"a":1,"b":[true,false,null,-0.5e+3,"x"],"c":{},"d":[]}"#,
            "{\n  \"command\": [\"sh\", \"-c\"],\r\n  \"n\": {\"k\": \"v\"}\n}\n",
            "[\"a\", 1 , true ,\n {\"b\": \"x\",\n \"c\": 2 \n},\"y\"\n,\"z\"\r\n]",
            r#"  [{"esc":"q\"b\\s\/n\nt\tu\u00e9\u4e2d e\b\f\r"}, "é中", [[[]]]]"#,
            r#"{"dup":1,"dup":2}"#,
        ];
        for text in read {
            assert!(same_tree_from_json_reader(text).is_some(), "left to YAML: {text}");
        }
        let left_to_yaml = [
            "a: 1",
            "{a: 1}",
            r#"{"a": 'x'}"#,
            r#"{"a": 1} # comment"#,
            r#"{"a": "\ud83d\ude00"}"#,
            r#"{"a": "\x41"}"#,
            "{\"a\":\t1}",
            "{\"a\"\n: 1}",
            "{\"a\" : 1}",
            "[\"a\" , 1]",
            "[[] ,1]",
            "[1] ",
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": tru}"#,
            r#"{"a": 1}{"b": 2}"#,
            r#"{"a": 1"#,
            r#"{"a": 1,}"#,
        ];
        for text in left_to_yaml {
            assert!(json::build(text, Limits::default()).is_none(), "read as JSON: {text}");
        }
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert!(matches!(json::build(&deep, Limits::default()), Some(Err(ParseError::TooDeep { .. }))));
    }

    #[test]
    fn recursive_alias_is_refused() {
        assert!(parse("a: &a [*a]\n").is_err());
    }

    #[test]
    fn syntax_errors_carry_an_offset() {
        let text = "a: [1, 2\nb: c\n";
        let error = parse(text).unwrap_err();
        assert!(error.offset() <= text.len());
        assert!(matches!(error, ParseError::Syntax { .. }));
    }

    #[test]
    fn lenient_like_libyaml_for_flow_indentation() {
        let text = "spec:\n  args: [\"\n    echo hi\n  \"]\n  command: [\n    a, b\n  ]\n";
        let tree = parse(text).unwrap();
        let root = tree.documents().next().unwrap();
        assert_eq!(root.at(&["spec", "command"]).unwrap().items().count(), 2);
    }

    #[test]
    fn embedded_trees_map_to_the_file_through_their_scalar() {
        // JSON (read by the JSON reader) and YAML (the fallback) in escaped and folded strings,
        // one level deep and two.
        let text = concat!(
            "a: \"{\\\"k\\\": \\\"v\\u00e9 w\\\", \\\"n\\\": [1]}\"\r\n",
            "b: >\n  x: \"y \\\"z\\\"\"\n\n  q: 'it''s'\n",
            "c: '{\"d\": \"{\\\"e\\\": \\\"deep\\\"}\"}'\n",
        );
        let outer = parse(text).unwrap();
        let root = outer.documents().next().unwrap();
        let embedded = |node: NodeRef<'_>| {
            let scalar = node.scalar_source().unwrap();
            Tree::parse_likely_json(scalar, Limits::default()).unwrap()
        };
        let given = |node: NodeRef<'_>| {
            let text = node.text();
            Tree::parse(text.as_str().to_string(), Some(text), Limits::default()).unwrap()
        };
        // Every node of a lazily mapped tree maps as with the map given up front.
        let same = |lazy: &Tree, eager: &Tree| {
            let nodes = |tree: &Tree| -> Vec<(Range<usize>, String, Vec<usize>)> {
                (0..tree.nodes.len() as NodeId)
                    .map(|id| NodeRef { tree, id })
                    .map(|node| {
                        let text = node.text();
                        let map = (0..=text.len()).map(|at| text.source_offset(at)).collect();
                        (node.file_span(), text.as_str().to_string(), map)
                    })
                    .collect()
            };
            assert_eq!(nodes(lazy), nodes(eager));
        };
        for key in ["a", "b", "c"] {
            let node = root.get(key).unwrap();
            same(&embedded(node), &given(node));
        }
        let a = embedded(root.get("a").unwrap());
        let v = a.documents().next().unwrap().get("k").unwrap();
        assert_eq!(&text[v.text().source_range(1..3)], "\\u00e9");
        let c = embedded(root.get("c").unwrap());
        let d = c.documents().next().unwrap().get("d").unwrap();
        let deep = embedded(d);
        let e = deep.documents().next().unwrap().get("e").unwrap();
        assert_eq!(e.as_str(), Some("deep"));
        assert_eq!(&text[e.file_span()], "\\\"deep\\\"");
    }
}
