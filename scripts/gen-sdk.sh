#!/usr/bin/env bash
# Generates the keyrotation package's schema and SDKs:
#   provider/schema.json   from provider/packageSchema.ts (the settings' defaults and bounds)
#   sdk/python             the Python SDK (module pulumi_keyrotation)
#   sdk/go/keyrotation     the Go SDK (module github.com/pulumi-aws-key-rotation/pulumi-aws-key-rotation/sdk/go)
# with tools/sdkgen (Pulumi's own code generators from pkg/v3, run in-process; no language host).
#
# Usage: scripts/gen-sdk.sh           regenerate in place
#        scripts/gen-sdk.sh --check   fail, naming the files, when the committed ones differ (and
#                                     when tools/sdkgen is not gofmt/go vet clean); npm run lint runs it
# The tool is built once into ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/sdkgen and
# rebuilt when tools/sdkgen changes.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/sdkgen"
mkdir -p "$CACHE"
STAMP="$(cat tools/sdkgen/go.mod tools/sdkgen/go.sum tools/sdkgen/*.go | sha256sum | cut -c1-16)"
TOOL="$CACHE/sdkgen-$STAMP"
if [ ! -x "$TOOL" ]; then
  echo "gen-sdk: building tools/sdkgen..." >&2
  (cd tools/sdkgen && go build -trimpath -o "$TOOL.tmp" .)
  mv "$TOOL.tmp" "$TOOL"
fi

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
npx ts-node --transpile-only -e 'process.stdout.write(require("./provider/packageSchema").schemaText())' >"$OUT/schema.json"
"$TOOL" -schema "$OUT/schema.json" -python "$OUT/python" -go "$OUT/go"
# go.sum of the Go SDK: the one committed when its go.mod is unchanged, else resolved anew.
if [ -f sdk/go/go.sum ] && cmp -s sdk/go/go.mod "$OUT/go/go.mod"; then
  cp sdk/go/go.sum "$OUT/go/go.sum"
else
  (cd "$OUT/go" && GOFLAGS=-mod=mod go mod tidy >&2)
fi

# tree_files DIR: the files under DIR (relative to it, sorted) that git does not ignore, so
# that build output such as sdk/python/build or *.egg-info (from `pip install ./sdk/python`,
# ignored by sdk/python/.gitignore) does not count as a difference.
tree_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -co --exclude-standard -- "$1" | while IFS= read -r f; do
      [ -f "$f" ] && printf '%s\n' "${f#"$1"/}"
    done | LC_ALL=C sort -u
  elif [ -d "$1" ]; then
    (cd "$1" && find . -type f | sed 's#^\./##' | LC_ALL=C sort)
  fi
}

if [ "$CHECK" = 1 ]; then
  bad=()
  unformatted="$(gofmt -l tools/sdkgen)"
  [ -z "$unformatted" ] || bad+=("tools/sdkgen not gofmt-formatted: $unformatted")
  (cd tools/sdkgen && go vet ./...) || bad+=("tools/sdkgen: go vet failed (see above)")
  cmp -s "$OUT/schema.json" provider/schema.json || bad+=("differs: provider/schema.json")
  for d in python go; do
    generated="$(cd "$OUT/$d" && find . -type f | sed 's#^\./##' | LC_ALL=C sort)"
    present="$(tree_files "sdk/$d")"
    while IFS= read -r f; do
      [ -n "$f" ] && bad+=("missing: sdk/$d/$f")
    done < <(LC_ALL=C comm -23 <(printf '%s\n' "$generated") <(printf '%s\n' "$present"))
    while IFS= read -r f; do
      [ -n "$f" ] && bad+=("not generated (stale): sdk/$d/$f")
    done < <(LC_ALL=C comm -13 <(printf '%s\n' "$generated") <(printf '%s\n' "$present"))
    while IFS= read -r f; do
      [ -n "$f" ] && ! cmp -s "$OUT/$d/$f" "sdk/$d/$f" && bad+=("differs: sdk/$d/$f")
    done < <(LC_ALL=C comm -12 <(printf '%s\n' "$generated") <(printf '%s\n' "$present"))
  done
  if [ "${#bad[@]}" -gt 0 ]; then
    echo "gen-sdk: the committed schema or SDKs differ from provider/packageSchema.ts:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "gen-sdk: run npm run gen:sdk and commit the result." >&2
    exit 1
  fi
  echo "gen-sdk: provider/schema.json, sdk/python and sdk/go match the schema" >&2
  exit 0
fi

cp "$OUT/schema.json" provider/schema.json
rm -rf sdk/python sdk/go
mkdir -p sdk
cp -r "$OUT/python" sdk/python
cp -r "$OUT/go" sdk/go
echo "gen-sdk: wrote provider/schema.json, sdk/python, sdk/go" >&2
