#!/usr/bin/env bash
# Checks the example GitHub Actions workflows (examples/github-actions/*.yml) with actionlint, a
# pinned version built with Go from the module proxy:
#   GOBIN=... go install github.com/rhysd/actionlint/cmd/actionlint@ACTIONLINT_VERSION
# into ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/actionlint-<version>/bin, reused
# on later runs. npm run lint runs it; it needs Go (as tools/pulumi-cli/lint.sh and gen-sdk do).
#
# Usage: scripts/actionlint.sh [FILE...]   (default: examples/github-actions/*.yml)
#   Exits non-zero, with actionlint's findings on stdout, when a workflow has a problem.
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
PACKAGE="github.com/rhysd/actionlint/cmd/actionlint"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation"
BUILD_ROOT="$CACHE_ROOT/actionlint-$ACTIONLINT_VERSION"
BIN="$BUILD_ROOT/bin/actionlint"
STAMP="$BUILD_ROOT/actionlint.stamp"

log() { echo "actionlint: $*" >&2; }

mkdir -p "$BUILD_ROOT/bin"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BUILD_ROOT/.lock"
  flock 9
fi

# The stamp is written after a build that went through; a binary without it is built again.
if ! [ -x "$BIN" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$ACTIONLINT_VERSION" ]; then
  command -v go >/dev/null 2>&1 || {
    log "error: Go is required to build actionlint $ACTIONLINT_VERSION (https://go.dev/doc/install)"
    exit 1
  }
  log "building $PACKAGE@$ACTIONLINT_VERSION (once; cached in $BUILD_ROOT)"
  rm -f "$STAMP"
  (cd "$BUILD_ROOT" && GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off GOBIN="$BUILD_ROOT/bin" \
    go install -trimpath "$PACKAGE@$ACTIONLINT_VERSION")
  echo "$ACTIONLINT_VERSION" >"$STAMP"
fi

cd "$REPO_ROOT"
if [ "$#" -eq 0 ]; then
  shopt -s nullglob
  set -- examples/github-actions/*.yml
  [ "$#" -gt 0 ] || {
    log "error: no workflow in examples/github-actions/"
    exit 1
  }
fi
# -shellcheck= and -pyflakes= : those linters are not pinned here, so they are not run (the
# workflow's shell steps are checked by actionlint's own expression and syntax checks).
"$BIN" -no-color -shellcheck= -pyflakes= "$@"
log "ok: $*"
