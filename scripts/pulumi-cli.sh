#!/usr/bin/env bash
# Provides a pinned Pulumi CLI for this repository, built from the Go module proxy.
#
# Usage: scripts/pulumi-cli.sh
#   Prints, as the last line on stdout, the absolute path of a bin directory holding
#     pulumi                         the Pulumi CLI (>= PULUMI_VERSION)
#     pulumi-language-nodejs         the Node.js language host
#     pulumi-resource-pulumi-nodejs  the launcher for pulumi.dynamic providers
#   Put it first on PATH:  export PATH="$(scripts/pulumi-cli.sh):$PATH"
#   Progress messages go to stderr.
#
# Otherwise the CLI is built once with Go into, and printed as the bin directory,
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/pulumi-<version>/bin
# and reused on later runs. A `pulumi` already on PATH at PULUMI_VERSION or newer is
# used instead: the bin directory is then .../pulumi-<version>/path-pulumi-bin, with
# links to it (and to its pulumi-language-nodejs, if it has one) and the launcher.
#
# The Go sources live in tools/pulumi-cli/ (see its README.md):
#   cli/              wrapper module that builds github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   language-nodejs/  a small Node.js language host of this repository's own
# The upstream Node.js language host (module
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) has no tagged
# versions, and the module proxy used here serves none of its pseudo-versions, so
# language-nodejs/ is built against github.com/pulumi/pulumi/sdk/v3 at PULUMI_VERSION.
# It starts the entry points that ship in the @pulumi/pulumi npm package: cmd/run
# (programs), cmd/run-policy-pack (policy packs, which the engine runs through the
# language host) and cmd/run-plugin (Node.js plugins). When the `pulumi` on PATH comes
# with its own pulumi-language-nodejs next to it, that one is used instead. The
# language host is rebuilt whenever its source files change.
set -euo pipefail

# Must match the pkg/v3 and sdk/v3 versions in tools/pulumi-cli/*/go.mod (checked below).
PULUMI_VERSION="v3.276.0"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$REPO_ROOT/tools/pulumi-cli"
CLI_MOD="$TOOLS_DIR/cli"
LANGHOST_MOD="$TOOLS_DIR/language-nodejs"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation"
BUILD_ROOT="$CACHE_ROOT/pulumi-$PULUMI_VERSION"
BIN_DIR="$BUILD_ROOT/bin"  # what this script builds
OUT_DIR="$BIN_DIR"         # what it prints
VERSION_PKG="github.com/pulumi/pulumi/sdk/v3/go/common/version"

log() { echo "pulumi-cli: $*" >&2; }
die() { echo "pulumi-cli: error: $*" >&2; exit 1; }

# version_ge A B: true when version A >= version B (leading "v" optional).
version_ge() {
  local a="${1#v}" b="${2#v}"
  [ "$(printf '%s\n%s\n' "$b" "$a" | sort -V | head -n1)" = "$b" ]
}

# pulumi_version BIN: prints the version that BIN reports, or nothing.
pulumi_version() {
  PULUMI_SKIP_UPDATE_CHECK=true "$1" version 2>/dev/null | tr -d '[:space:]' || true
}

# required_version GOMOD MODULE: prints the version of MODULE that GOMOD requires.
required_version() {
  awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}

# The version is pinned in three places; refuse to build a mix of versions.
check_versions() {
  local gomod mod got bad=""
  for gomod in "$CLI_MOD/go.mod:github.com/pulumi/pulumi/pkg/v3" \
      "$CLI_MOD/go.mod:github.com/pulumi/pulumi/sdk/v3" \
      "$LANGHOST_MOD/go.mod:github.com/pulumi/pulumi/sdk/v3"; do
    mod="${gomod##*:}"; gomod="${gomod%:*}"
    [ -f "$gomod" ] || die "missing $gomod"
    got="$(required_version "$gomod" "$mod")"
    if [ "$got" != "$PULUMI_VERSION" ]; then
      bad="$bad
  ${gomod#"$REPO_ROOT"/} requires $mod ${got:-(nothing)}"
    fi
  done
  [ -z "$bad" ] || die "PULUMI_VERSION in scripts/pulumi-cli.sh is $PULUMI_VERSION, but$bad
  Bump them together (see tools/pulumi-cli/README.md)."
}

require_go() {
  command -v go >/dev/null 2>&1 && return 0
  die "Go is not installed, and no Pulumi CLI $PULUMI_VERSION or newer is on PATH.
  Either install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put it on PATH,
  or install Go (https://go.dev/doc/install) so that this script can build the CLI."
}

# go_build MODULE_DIR OUTPUT PACKAGE: builds in place from the committed go.mod/go.sum
# (-mod=readonly: the repository is never written; the output goes to OUTPUT).
go_build() {
  (cd "$1" && env GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off \
      CGO_ENABLED="${CGO_ENABLED:-0}" go build -trimpath -o "$2" \
      -ldflags "-s -w -X $VERSION_PKG.Version=$PULUMI_VERSION" "$3") >&2
}

# sources_hash DIR: hash of the names and contents of the files in DIR.
sources_hash() {
  (cd "$1" && find . -type f ! -name '.*' -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum) | { cat; echo "$PULUMI_VERSION"; } | sha256sum | cut -d' ' -f1
}

check_versions
mkdir -p "$BIN_DIR"

# Serialize concurrent runs (e.g. parallel test jobs) while building.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BUILD_ROOT/.lock"
  flock 9
fi
rm -rf "$BUILD_ROOT/src"  # generated sources of earlier versions of this script

# ---------------------------------------------------------------------------
# 1. The CLI
# ---------------------------------------------------------------------------
SYSTEM_PULUMI=""
# (readlink -f: a `pulumi` found through this bin dir is either our own build, which
# is checked below, or a link to a system CLI chosen on an earlier run.)
if path_pulumi="$(command -v pulumi 2>/dev/null)" \
    && path_pulumi="$(readlink -f "$path_pulumi")" && [ "$path_pulumi" != "$(readlink -f "$BIN_DIR")/pulumi" ]; then
  path_version="$(pulumi_version "$path_pulumi")"
  if [ -n "$path_version" ] && version_ge "$path_version" "$PULUMI_VERSION"; then
    SYSTEM_PULUMI="$path_pulumi"
    log "using pulumi $path_version from $SYSTEM_PULUMI"
  elif [ -n "$path_version" ]; then
    log "pulumi on PATH is $path_version, older than $PULUMI_VERSION; using the pinned build"
  fi
fi

if [ -n "$SYSTEM_PULUMI" ]; then
  OUT_DIR="$BUILD_ROOT/path-pulumi-bin"
  mkdir -p "$OUT_DIR"
  ln -sfn "$SYSTEM_PULUMI" "$OUT_DIR/pulumi"
elif [ -x "$BIN_DIR/pulumi" ] && [ ! -L "$BIN_DIR/pulumi" ] \
    && [ "$(pulumi_version "$BIN_DIR/pulumi")" = "$PULUMI_VERSION" ]; then
  log "using cached pulumi $PULUMI_VERSION"
else
  require_go
  log "building pulumi $PULUMI_VERSION with $(go version | cut -d' ' -f3) (first run only; takes 5-15 minutes)..."
  start=$SECONDS
  go_build "$CLI_MOD" "$BIN_DIR/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    || die "building the Pulumi CLI failed (see above). You can instead install the Pulumi CLI
  $PULUMI_VERSION or newer (https://www.pulumi.com/docs/install/) and put it on PATH."
  mv -f "$BIN_DIR/pulumi.tmp" "$BIN_DIR/pulumi" # atomic: runs in progress keep working
  log "built pulumi in $((SECONDS - start))s"
  got="$(pulumi_version "$BIN_DIR/pulumi")"
  [ "$got" = "$PULUMI_VERSION" ] || die "built pulumi reports version '$got', expected $PULUMI_VERSION"
fi

# ---------------------------------------------------------------------------
# 2. The Node.js language host
# ---------------------------------------------------------------------------
if [ -n "$SYSTEM_PULUMI" ] && [ -x "$(dirname "$SYSTEM_PULUMI")/pulumi-language-nodejs" ]; then
  ln -sfn "$(dirname "$SYSTEM_PULUMI")/pulumi-language-nodejs" "$OUT_DIR/pulumi-language-nodejs"
else
  stamp_file="$BUILD_ROOT/pulumi-language-nodejs.stamp"
  stamp="$(sources_hash "$LANGHOST_MOD")"
  if [ -x "$BIN_DIR/pulumi-language-nodejs" ] && [ ! -L "$BIN_DIR/pulumi-language-nodejs" ] \
      && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
    log "using cached pulumi-language-nodejs"
  else
    require_go
    rm -f "$stamp_file"
    log "building pulumi-language-nodejs against sdk/v3 $PULUMI_VERSION..."
    start=$SECONDS
    go_build "$LANGHOST_MOD" "$BIN_DIR/pulumi-language-nodejs.tmp" . \
      || die "building pulumi-language-nodejs from ${LANGHOST_MOD#"$REPO_ROOT"/} failed (see above)"
    mv -f "$BIN_DIR/pulumi-language-nodejs.tmp" "$BIN_DIR/pulumi-language-nodejs"
    echo "$stamp" >"$stamp_file"
    log "built pulumi-language-nodejs in $((SECONDS - start))s"
  fi
  if [ "$OUT_DIR" != "$BIN_DIR" ]; then
    ln -sfn "$BIN_DIR/pulumi-language-nodejs" "$OUT_DIR/pulumi-language-nodejs"
  fi
fi

# ---------------------------------------------------------------------------
# 3. Launcher for pulumi.dynamic providers
# ---------------------------------------------------------------------------
# The engine starts it with the program directory as working directory; @pulumi/pulumi
# is looked up from there first (so the provider uses the program's own copy), then
# from this repository.
launcher="$OUT_DIR/pulumi-resource-pulumi-nodejs"
launcher_text="#!/bin/sh
# Generated by $REPO_ROOT/scripts/pulumi-cli.sh: runs the dynamic provider of @pulumi/pulumi.
pkg=\$(node -p 'require.resolve(\"@pulumi/pulumi/package.json\", {paths: [process.cwd(), process.argv[1]]})' '$REPO_ROOT') || {
  echo 'pulumi-resource-pulumi-nodejs: cannot find @pulumi/pulumi (run npm install)' >&2
  exit 1
}
exec node \"\${pkg%/package.json}/cmd/dynamic-provider/index.js\" \"\$@\"
"
if [ "$(cat "$launcher" 2>/dev/null)" != "${launcher_text%$'\n'}" ]; then
  printf '%s' "$launcher_text" >"$launcher.tmp"
  chmod +x "$launcher.tmp"
  mv -f "$launcher.tmp" "$launcher"
fi

echo "$OUT_DIR"
