#!/usr/bin/env bash
# Provides a pinned Pulumi YAML language host, for the tests that run YAML programs with the
# CLI from scripts/pulumi-cli.sh.
#
# Usage: scripts/pulumi-yaml.sh
#   Prints, as the last line on stdout, the absolute path of a bin directory holding
#     pulumi-language-yaml   the YAML language host (runtime: yaml), PULUMI_YAML_VERSION
#   Put it on PATH next to the CLI's:
#     export PATH="$(scripts/pulumi-yaml.sh):$(scripts/pulumi-cli.sh):$PATH"
#   Progress messages go to stderr.
#
# It is built once with Go from the module proxy, as
#   GOBIN=... go install github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@PULUMI_YAML_VERSION
# (on pulumi-yaml's own go.mod pins: its pkg/sdk v3 are older than the CLI's, which works
# with the engine; forcing the CLI's pkg/sdk v3 into it does not compile), into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/pulumi-yaml-<version>/bin
# and reused on later runs. When Go is missing and nothing is cached, a pulumi-language-yaml
# already on PATH (the Pulumi CLI's releases ship one) is linked from
# .../pulumi-yaml-<version>/path-bin instead, whatever its version.
set -euo pipefail

PULUMI_YAML_VERSION="v1.25.0"
PACKAGE="github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
VERSION_VAR="github.com/pulumi/pulumi-yaml/pkg/version.Version"  # what GetPluginInfo reports

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation"
BUILD_ROOT="$CACHE_ROOT/pulumi-yaml-$PULUMI_YAML_VERSION"
BIN_DIR="$BUILD_ROOT/bin"
BIN="$BIN_DIR/pulumi-language-yaml"
STAMP="$BUILD_ROOT/pulumi-language-yaml.stamp"

log() { echo "pulumi-yaml: $*" >&2; }
die() { echo "pulumi-yaml: error: $*" >&2; exit 1; }

mkdir -p "$BIN_DIR"
# Serialize concurrent runs (e.g. parallel test jobs) while building.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BUILD_ROOT/.lock"
  flock 9
fi

# The stamp is written after a build that went through; a binary without it is built again.
if [ -x "$BIN" ] && [ ! -L "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PULUMI_YAML_VERSION" ]; then
  log "using cached pulumi-language-yaml $PULUMI_YAML_VERSION"
  echo "$BIN_DIR"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if path_bin="$(command -v pulumi-language-yaml 2>/dev/null)"; then
    out="$BUILD_ROOT/path-bin"
    mkdir -p "$out"
    ln -sfn "$(readlink -f "$path_bin")" "$out/pulumi-language-yaml"
    log "Go is not installed: using the pulumi-language-yaml on PATH ($path_bin), not the pinned $PULUMI_YAML_VERSION"
    echo "$out"
    exit 0
  fi
  die "Go is not installed, and no pulumi-language-yaml is on PATH.
  Either install Go (https://go.dev/doc/install) so that this script can build
  pulumi-language-yaml $PULUMI_YAML_VERSION, or install the Pulumi CLI
  (https://www.pulumi.com/docs/install/), which comes with it, and put it on PATH."
fi

rm -f "$STAMP"
log "building pulumi-language-yaml $PULUMI_YAML_VERSION with $(go version | cut -d' ' -f3) (first run only; takes about a minute)..."
start=$SECONDS
# go install writes into GOBIN; a GOBIN of its own, then a rename, keeps runs in progress working.
tmp_bin="$(mktemp -d "$BUILD_ROOT/gobin.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT
# pkg@version ignores any go.mod and go.work around; GOFLAGS of the caller (-mod=vendor, ...)
# would not apply to it either.
(cd "$BUILD_ROOT" && env GOBIN="$tmp_bin" GOFLAGS="" GOWORK=off CGO_ENABLED="${CGO_ENABLED:-0}" \
    go install -trimpath -ldflags "-s -w -X $VERSION_VAR=$PULUMI_YAML_VERSION" \
    "$PACKAGE@$PULUMI_YAML_VERSION") >&2 \
  || die "building pulumi-language-yaml $PULUMI_YAML_VERSION failed (see above). You can instead install the
  Pulumi CLI (https://www.pulumi.com/docs/install/), which comes with it, and put it on PATH."
got="$(go version -m "$tmp_bin/pulumi-language-yaml" | awk '$1 == "mod" { print $3; exit }')"
[ "$got" = "$PULUMI_YAML_VERSION" ] || die "built pulumi-language-yaml is of module version '$got', expected $PULUMI_YAML_VERSION"
mv -f "$tmp_bin/pulumi-language-yaml" "$BIN"
echo "$PULUMI_YAML_VERSION" >"$STAMP"
log "built pulumi-language-yaml in $((SECONDS - start))s"

echo "$BIN_DIR"
