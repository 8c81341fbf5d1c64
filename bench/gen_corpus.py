#!/usr/bin/env python3
"""Grows kfpguard's fixtures into a benchmark corpus (used by bench/run.sh).

Each output file is one fixture made bigger by repeating what a real pipeline repeats:
KFP v2 components, executors and DAG tasks (and the platform-spec executors that configure
them), Argo/Tekton templates, steps and tasks, Kubernetes containers. Copy number i of an
entry gets the suffix `-r<i>` on its name and on every reference to it inside the copy,
so the grown pipeline stays consistent and every copy is linted like the original. The
result is written with PyYAML (as the KFP compiler writes), so it is valid YAML; JSON
fixtures stay JSON.

  gen_corpus.py corpus FIXTURES_DIR OUT_DIR --count N [--min BYTES] [--max BYTES] [--seed S]
      N files, sizes log-uniform between --min and --max (default 5 KB .. 1 MB).
  gen_corpus.py single FIXTURE OUT_FILE --size BYTES
      one file of about BYTES.
"""

import argparse
import copy
import json
import math
import random
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    sys.exit("gen_corpus.py: PyYAML is required (Debian: apt-get install python3-yaml)")

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Lists of named entries that real pipelines repeat.
REPEATED_LISTS = {"templates", "containers", "initContainers", "steps", "tasks", "sidecars"}


def kfp_roots(doc):
    """The KFP v2 IR inside a document (the document itself, or a PipelineJob's pipelineSpec)."""
    if isinstance(doc, dict):
        if isinstance(doc.get("pipelineSpec"), dict):
            return [doc["pipelineSpec"]]
        if "deploymentSpec" in doc and "components" in doc:
            return [doc]
    return []


def named_maps(doc):
    """Mappings of name -> entry to repeat in `doc` (KFP v2 IR and platform spec)."""
    maps = []
    for root in kfp_roots(doc):
        for path in (("components",), ("deploymentSpec", "executors"), ("root", "dag", "tasks")):
            node = root
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict) and node:
                maps.append(node)
    platforms = doc.get("platforms") if isinstance(doc, dict) else None
    if isinstance(platforms, dict):
        for platform in platforms.values():
            executors = platform.get("deploymentSpec", {}).get("executors") if isinstance(platform, dict) else None
            if isinstance(executors, dict) and executors:
                maps.append(executors)
    return maps


def named_lists(node, out):
    """Lists of named mappings (templates, containers, ...) anywhere in `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in REPEATED_LISTS and isinstance(value, list) and value:
                if all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in value):
                    out.append(value)
                    continue
            named_lists(value, out)
    elif isinstance(node, list):
        for item in node:
            named_lists(item, out)
    return out


def renamed(node, names, suffix):
    """A deep copy of `node` where every string equal to a name in `names` gets `suffix`."""
    if isinstance(node, dict):
        return {renamed(k, names, suffix): renamed(v, names, suffix) for k, v in node.items()}
    if isinstance(node, list):
        return [renamed(item, names, suffix) for item in node]
    if isinstance(node, str) and node in names:
        return node + suffix
    return node


def growth_points(docs):
    """(maps, lists, names) of a file: what to repeat and the names to rename."""
    maps = [m for doc in docs for m in named_maps(doc)]
    lists = [] if maps else [lst for doc in docs for lst in named_lists(doc, [])]
    names = set()
    for mapping in maps:
        names.update(k for k in mapping if isinstance(k, str))
    for lst in lists:
        names.update(item["name"] for item in lst)
    return maps, lists, names


def grown(docs, copies):
    """`docs` with `copies` more copies of every repeated entry."""
    docs = copy.deepcopy(docs)
    maps, lists, names = growth_points(docs)
    if not maps and not lists:
        # Nothing to repeat: repeat whole documents instead (still a valid stream).
        return docs * (copies + 1)
    for mapping in maps:
        originals = list(mapping.items())
        for i in range(1, copies + 1):
            suffix = f"-r{i}"
            for key, value in originals:
                mapping[renamed(key, names, suffix)] = renamed(value, names, suffix)
    for lst in lists:
        originals = list(lst)
        for i in range(1, copies + 1):
            lst.extend(renamed(item, names, f"-r{i}") for item in originals)
    return docs


def dump(docs, as_json):
    if as_json:
        return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"
    return yaml.dump_all(docs, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=80)


class Source:
    """A fixture and how its size grows with the number of copies."""

    def __init__(self, path):
        self.path = path
        self.as_json = path.suffix == ".json"
        text = path.read_text(encoding="utf-8")
        docs = [json.loads(text)] if self.as_json else [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
        if not docs:
            raise ValueError("no document")
        self.docs = docs
        self.base = len(dump(grown(docs, 0), self.as_json).encode())
        self.per_copy = max(1, len(dump(grown(docs, 1), self.as_json).encode()) - self.base)

    def text(self, size):
        copies = max(0, round((size - self.base) / self.per_copy))
        return dump(grown(self.docs, copies), self.as_json)


def load_sources(fixtures):
    sources = []
    for path in sorted(p for p in Path(fixtures).rglob("*") if p.suffix in (".yaml", ".yml", ".json")):
        try:
            sources.append(Source(path))
        except (ValueError, yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as error:
            print(f"gen_corpus.py: skipping {path}: {error}", file=sys.stderr)
    return sources


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    corpus = sub.add_parser("corpus")
    corpus.add_argument("fixtures")
    corpus.add_argument("out")
    corpus.add_argument("--count", type=int, default=200)
    corpus.add_argument("--min", type=int, default=5_000)
    corpus.add_argument("--max", type=int, default=1_000_000)
    corpus.add_argument("--seed", type=int, default=1)
    single = sub.add_parser("single")
    single.add_argument("fixture")
    single.add_argument("out")
    single.add_argument("--size", type=int, required=True)
    args = parser.parse_args()

    if args.mode == "single":
        source = Source(Path(args.fixture))
        Path(args.out).write_text(source.text(args.size), encoding="utf-8")
        return
    sources = load_sources(args.fixtures)
    if not sources:
        sys.exit(f"gen_corpus.py: no usable fixture under {args.fixtures}")
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    low, high = math.log(max(1, args.min)), math.log(max(args.min, args.max))
    for index in range(args.count):
        source = sources[index % len(sources)]
        size = int(math.exp(rng.uniform(low, high)))
        name = f"{index:05d}-{source.path.stem}{source.path.suffix}"
        (out / name).write_text(source.text(size), encoding="utf-8")


if __name__ == "__main__":
    main()
