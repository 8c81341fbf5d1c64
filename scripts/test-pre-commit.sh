#!/usr/bin/env bash
# End-to-end test of the pre-commit hook defined in .pre-commit-hooks.yaml.
#
# Installs pre-commit into a throwaway venv, snapshots this working tree into a throwaway git
# repository (tracked files with their uncommitted changes, plus untracked files that are not
# ignored: exactly what a commit of the working tree would hold), and runs
#     pre-commit try-repo <snapshot> kfpguard --files <file>
# in a throwaway project repository: on a vulnerable pipeline the hook must fail (and never
# print the literal secret), on a clean pipeline plus a YAML file that is not a pipeline it
# must pass.
#
# (`try-repo` on this repository directly would only see committed files plus changes to
# tracked ones, not new files; hence the snapshot.)
#
# `language: rust` hooks are built with `cargo install --path .` in a fresh pre-commit store
# on every try-repo; CARGO_TARGET_DIR is shared between the two runs so that the second one
# only rebuilds kfpguard itself. The first build takes a few minutes on 2 cores.
#
# Needs: python3 with venv, git, cargo, and access to PyPI and crates.io.
# Usage: scripts/test-pre-commit.sh
# Env:   PRE_COMMIT_VERSION (default 4.7.0), PYTHON (default python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
PRE_COMMIT_VERSION="${PRE_COMMIT_VERSION:-4.7.0}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kfpguard-pre-commit.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The secret in fixtures/examples/training-pipeline.yaml, which must never be printed.
SECRET='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

git_quiet() {
    git -c user.name=kfpguard-test -c user.email=kfpguard-test@example.invalid \
        -c commit.gpgsign=false -c init.defaultBranch=main "$@"
}

echo "== pre-commit $PRE_COMMIT_VERSION into a venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"
PRE_COMMIT="$WORK/venv/bin/pre-commit"
"$PRE_COMMIT" --version

echo "== snapshot of the working tree $REPO"
mkdir -p "$WORK/hook-repo"
git -C "$REPO" ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' file; do
          if [[ -f "$REPO/$file" ]]; then printf '%s\0' "$file"; fi
      done \
    | tar -C "$REPO" --null -T - -cf - | tar -C "$WORK/hook-repo" -xf -
git_quiet -C "$WORK/hook-repo" init -q
git_quiet -C "$WORK/hook-repo" add -A
git_quiet -C "$WORK/hook-repo" commit -q -m "kfpguard working tree snapshot"
echo "$(git -C "$WORK/hook-repo" ls-files | wc -l) files"

echo "== project repository"
PROJECT="$WORK/project"
mkdir -p "$PROJECT/pipelines"
cp "$REPO/fixtures/examples/training-pipeline.yaml" "$PROJECT/pipelines/vulnerable.yaml"
cp "$REPO/fixtures/examples/secure-pipeline.yaml" "$PROJECT/pipelines/clean.yaml"
printf 'name: settings\nretries: 3\n' > "$PROJECT/settings.yaml"
git_quiet -C "$PROJECT" init -q
git_quiet -C "$PROJECT" add -A
git_quiet -C "$PROJECT" commit -q -m "project"

export PRE_COMMIT_HOME="$WORK/pre-commit-home"
export CARGO_TARGET_DIR="$WORK/cargo-target"

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# try_hook EXPECTED_EXIT(0|nonzero) FILE...: runs the hook through try-repo on FILEs.
try_hook() {
    local expected="$1"; shift
    local started=$SECONDS rc=0
    echo "== pre-commit try-repo <snapshot> kfpguard --files $*"
    (cd "$PROJECT" && "$PRE_COMMIT" try-repo --color never --verbose "$WORK/hook-repo" kfpguard --files "$@") \
        > "$WORK/out.txt" 2>&1 || rc=$?
    sed 's/^/    | /' "$WORK/out.txt"
    echo "   exit code $rc after $((SECONDS - started)) s"
    if grep -qF "$SECRET" "$WORK/out.txt"; then fail "the literal secret was printed"; fi
    if [[ "$expected" == 0 ]]; then
        [[ $rc == 0 ]] || fail "the hook should pass on $*"
        grep -q '^kfpguard\.*Passed' "$WORK/out.txt" || fail "no 'kfpguard...Passed' line"
    else
        [[ $rc != 0 ]] || fail "the hook should fail on $*"
        grep -q '^kfpguard\.*Failed' "$WORK/out.txt" || fail "no 'kfpguard...Failed' line"
        grep -q 'secret-in-env' "$WORK/out.txt" || fail "the findings are not shown"
    fi
}

try_hook nonzero pipelines/vulnerable.yaml
try_hook 0 pipelines/clean.yaml settings.yaml

echo "pre-commit hook test: $((2 - failures)) passed, $failures failed (${SECONDS} s)"
[[ $failures == 0 ]]
