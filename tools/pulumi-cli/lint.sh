#!/usr/bin/env bash
# Lints the Go modules under tools/pulumi-cli (see README.md), in each module folder:
#   gofmt -l            every .go file is gofmt-formatted
#   go mod tidy -diff   go.mod/go.sum are tidy (language-nodejs only; for cli/ it would
#                       download all of the CLI's dependencies, and its build checks them)
#   go vet ./...        modules that have .go files
# and checks that PULUMI_VERSION in scripts/pulumi-cli.sh matches the go.mod files.
# Exits non-zero when any check fails. Requires Go.
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT="$TOOLS_DIR/../../scripts/pulumi-cli.sh"

log() { echo "lint: $*" >&2; }

command -v go >/dev/null 2>&1 || {
  log "error: Go is required to lint tools/pulumi-cli (https://go.dev/doc/install)"
  exit 1
}
export GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off

status=0
fail() { log "FAIL: $*"; status=1; }

# Versions: the script pins PULUMI_VERSION; the go.mod files must require the same.
want="$(sed -n 's/^PULUMI_VERSION="\(.*\)"$/\1/p' "$SCRIPT")"
[ -n "$want" ] || fail "no PULUMI_VERSION=\"...\" line in scripts/pulumi-cli.sh"
for check in cli:github.com/pulumi/pulumi/pkg/v3 cli:github.com/pulumi/pulumi/sdk/v3 \
    language-nodejs:github.com/pulumi/pulumi/sdk/v3; do
  mod="${check%%:*}" path="${check#*:}"
  got="$(awk -v m="$path" '$1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$TOOLS_DIR/$mod/go.mod")"
  [ "$got" = "$want" ] \
    || fail "$mod/go.mod requires $path ${got:-(nothing)}, scripts/pulumi-cli.sh has PULUMI_VERSION=$want"
done

for gomod in "$TOOLS_DIR"/*/go.mod; do
  dir="$(dirname "$gomod")" name="$(basename "$(dirname "$gomod")")"
  cd "$dir"
  if [ -z "$(find . -name '*.go' -print -quit)" ]; then
    log "$name: no .go files, nothing to format or vet"
    continue
  fi

  unformatted="$(gofmt -l .)"
  if [ -n "$unformatted" ]; then
    fail "$name: not gofmt-formatted (fix with: gofmt -w tools/pulumi-cli/$name):"
    printf '  %s\n' $unformatted >&2
  fi

  # Checked before vet: with -mod=mod, vet would otherwise rewrite an untidy go.mod.
  if ! go mod tidy -diff >&2; then
    fail "$name: go.mod/go.sum are not tidy (fix with: cd tools/pulumi-cli/$name && GOWORK=off go mod tidy)"
    continue
  fi

  if go vet ./...; then
    log "$name: ok"
  else
    fail "$name: go vet reported problems (see above)"
  fi
done

[ "$status" = 0 ] && log "all checks passed"
exit "$status"
