#!/usr/bin/env bash
# Validate SARIF 2.1.0 files with Microsoft's official SARIF Multitool
# (npm package @microsoft/sarif-multitool), using the GitHub rule set:
#
#   sarif-multitool validate --rule-kind "Gh;Sarif" FILE
#
# Usage: scripts/validate-sarif.sh FILE...
#
# Exit status:
#   0  every file validated with no error-level result
#   1  at least one file has an error-level result (GHxxxx / SARIFxxxx /
#      JSONxxxx), or the validator itself failed on a file
#   2  usage error, or the validator could not be installed/run
#
# Warnings (and notes, which the validator hides by default) are printed
# but never fail the run. Only level "error" fails.
#
# Why this does not simply call `npx sarif-multitool ...`:
#   * the npm wrapper (bin.js) spawns the real binary with `shell: true`,
#     so the ';' in "Gh;Sarif" splits the command line (you get
#     "/bin/sh: Sarif: not found", exit 127) unless double-quoted twice;
#   * the validator exits 0 even when it reports error-level results, so
#     the exit code alone cannot tell "zero errors". We therefore also read
#     the SARIF log it writes with -o and count error-level results and
#     tool notifications.
#
# Environment:
#   KFPGUARD_TOOLS_DIR          cache dir (default: $HOME/.cache/kfpguard-tools)
#   KFPGUARD_SARIF_MULTITOOL_VERSION  npm version to install (default: 5.7.0)
#   KFPGUARD_SARIF_STRICT=1     also enable GH1002/GH1003/GH1005/GH1006/GH1007,
#                               which ship disabled in the Multitool (region
#                               with startLine, relative/file URIs, inline
#                               threadFlowLocations, message.text present).
set -euo pipefail

VERSION="${KFPGUARD_SARIF_MULTITOOL_VERSION:-5.7.0}"
TOOLS_DIR="${KFPGUARD_TOOLS_DIR:-${HOME:-/tmp}/.cache/kfpguard-tools}"
INSTALL_DIR="$TOOLS_DIR/sarif-multitool-$VERSION"

die() { echo "validate-sarif: $*" >&2; exit 2; }

[ "$#" -ge 1 ] || die "usage: $0 FILE..."
command -v node >/dev/null 2>&1 || die "node is required"
command -v npm >/dev/null 2>&1 || die "npm is required"

case "$(uname -s)" in
  Linux) PLATFORM=linux ;;
  Darwin) PLATFORM=darwin ;;
  *) die "unsupported OS $(uname -s)" ;;
esac
BIN="$INSTALL_DIR/node_modules/@microsoft/sarif-multitool-$PLATFORM/Sarif.Multitool"

install_tool() {
  mkdir -p "$TOOLS_DIR"
  local tmp
  tmp="$(mktemp -d "$TOOLS_DIR/.install.XXXXXX")"
  echo "validate-sarif: installing @microsoft/sarif-multitool@$VERSION into $INSTALL_DIR" >&2
  # The platform binary is an optionalDependency: force optional deps on.
  if ! (cd "$tmp" && echo '{"private":true}' > package.json &&
        npm install --no-audit --no-fund --no-progress --loglevel=error \
          --include=optional --save-exact \
          "@microsoft/sarif-multitool@$VERSION" </dev/null >&2); then
    rm -rf "$tmp"
    die "npm install of @microsoft/sarif-multitool@$VERSION failed"
  fi
  local tbin="$tmp/node_modules/@microsoft/sarif-multitool-$PLATFORM/Sarif.Multitool"
  [ -f "$tbin" ] || { rm -rf "$tmp"; die "platform package @microsoft/sarif-multitool-$PLATFORM was not installed"; }
  chmod +x "$tbin"   # its postinstall (chmod u+x) may not run under npm script policies
  rm -rf "$INSTALL_DIR"
  mv "$tmp" "$INSTALL_DIR" || { rm -rf "$tmp"; [ -x "$BIN" ] || die "could not move install into place"; }
}

[ -x "$BIN" ] || install_tool

# The binary is a self-contained .NET app; it needs libicu unless told to
# run in invariant-globalization mode.
if [ -z "${DOTNET_SYSTEM_GLOBALIZATION_INVARIANT:-}" ] &&
   ! { ldconfig -p 2>/dev/null | grep -q 'libicuuc\.so'; }; then
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

"$BIN" --version </dev/null >/dev/null 2>&1 || die "$BIN does not run (try DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/validate-sarif.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

EXTRA=()
if [ "${KFPGUARD_SARIF_STRICT:-0}" = 1 ]; then
  cat > "$WORK/strict.json" <<'EOF'
{
  "GH1002.InlineThreadFlowLocations.Options": { "RuleEnabled": "Error" },
  "GH1003.ProvideRequiredRegionProperties.Options": { "RuleEnabled": "Error" },
  "GH1005.LocationsMustBeRelativeUrisOrFilePaths.Options": { "RuleEnabled": "Error" },
  "GH1006.ProvideCheckoutPath.Options": { "RuleEnabled": "Error" },
  "GH1007.ProvideFullyFormattedMessageStrings.Options": { "RuleEnabled": "Error" }
}
EOF
  EXTRA=(-c "$WORK/strict.json")
fi

# Counts error-level results and error notifications in the validator's log.
COUNT_JS='
const fs = require("fs");
let log;
try { log = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); }
catch (e) { console.log(-1); process.exit(0); }
let n = 0;
for (const run of log.runs || []) {
  for (const r of run.results || []) if ((r.level || "warning") === "error") n++;
  for (const inv of run.invocations || []) {
    if (inv.executionSuccessful === false) n++;
    for (const x of inv.toolExecutionNotifications || []) if ((x.level || "error") === "error") n++;
  }
}
console.log(n);
'

failed=0
i=0
for f in "$@"; do
  i=$((i + 1))
  echo "=== validate-sarif: $f"
  if [ ! -f "$f" ]; then
    echo "validate-sarif: $f: no such file" >&2
    failed=1
    continue
  fi
  out="$WORK/result-$i.sarif"
  rc=0
  "$BIN" validate --rule-kind "Gh;Sarif" --level "Error;Warning" \
    --max-file-size-in-kb 1048576 --log "ForceOverwrite;PrettyPrint" \
    ${EXTRA[@]+"${EXTRA[@]}"} -o "$out" "$f" </dev/null 2>&1 | tee "$WORK/console-$i.txt" || rc=${PIPESTATUS[0]}
  errors=-1
  [ -f "$out" ] && errors="$(node -e "$COUNT_JS" "$out")"
  # Belt and braces: also look for "error XXX" lines in the console output.
  console_errors="$(grep -cE ': error [A-Za-z]+[0-9]+[:.]' "$WORK/console-$i.txt" || true)"
  if [ "$rc" -ne 0 ] || [ "$errors" != 0 ] || [ "$console_errors" != 0 ]; then
    echo "validate-sarif: FAIL $f (validator exit $rc, error results: $errors)"
    failed=1
  else
    echo "validate-sarif: OK $f"
  fi
done

exit "$failed"
