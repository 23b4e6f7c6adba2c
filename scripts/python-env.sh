#!/usr/bin/env bash
# Provides a Python virtual environment with a pinned Pulumi Python SDK, for the tests that
# run Python programs (through the Automation API, with the CLI from scripts/pulumi-cli.sh).
#
# Usage: scripts/python-env.sh
#   Prints, as the last line on stdout, the absolute path of the venv's bin directory, holding
#     python, pip   with pulumi==PULUMI_PY_VERSION (and what it pulls: grpcio, protobuf, ...)
#   and, when the repository has a generated Python SDK in sdk/python, that SDK installed too.
#   Put it first on PATH:  export PATH="$(scripts/python-env.sh):$PATH"
#   Progress messages go to stderr.
#
# The venv is made once with ${KEYROTATION_PYTHON:-python3} (as .ci/run and the emulator
# tests use it) in
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation/python-pulumi-<version>/venv
# and reused on later runs; it is made again when KEYROTATION_PYTHON names another
# interpreter. Packages come from PyPI (pip's usual configuration applies).
# sdk/python is installed from a copy (a build in place would write build/ and *.egg-info
# into the repository) and reinstalled whenever its files change (a hash stamp).
set -euo pipefail

# The newest pulumi the PyPI mirror used here serves; the engine (scripts/pulumi-cli.sh) is
# newer, which the SDK accepts.
PULUMI_PY_VERSION="3.272.0"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDK_DIR="$REPO_ROOT/sdk/python"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-aws-key-rotation"
ENV_ROOT="$CACHE_ROOT/python-pulumi-$PULUMI_PY_VERSION"
VENV="$ENV_ROOT/venv"
BASE_PYTHON="${KEYROTATION_PYTHON:-python3}"

log() { echo "python-env: $*" >&2; }
die() { echo "python-env: error: $*" >&2; exit 1; }

# pip ARGS...: pip of the venv, quiet, its output on stderr (stdout carries only the bin dir).
pip() {
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip --quiet "$@" >&2
}

# installed_version DIST: the version of DIST installed in the venv, or nothing.
installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$1" 2>/dev/null || true
}

# sdk_hash: hash of the names and contents of the SDK's source files (not build outputs).
sdk_hash() {
  (cd "$SDK_DIR" && find . \( -name build -o -name dist -o -name '*.egg-info' -o -name __pycache__ \
      -o -name '.*' ! -name . \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) \
    | sha256sum | cut -d' ' -f1
}

command -v "$BASE_PYTHON" >/dev/null 2>&1 || die "cannot find $BASE_PYTHON (KEYROTATION_PYTHON, default python3).
  Install Python 3.9 or newer, or set KEYROTATION_PYTHON to one."
# The interpreter the venv is made from, with its version: another one means a new venv.
base_id="$("$BASE_PYTHON" -c 'import sys, os
if sys.version_info < (3, 9): sys.exit("Python %d.%d is too old: the Pulumi SDK needs 3.9 or newer" % sys.version_info[:2])
print(os.path.realpath(sys.executable), sys.version.split()[0])')" \
  || die "$BASE_PYTHON cannot make the venv (see above); set KEYROTATION_PYTHON to a Python 3.9 or newer"

mkdir -p "$ENV_ROOT"
# Serialize concurrent runs (e.g. parallel test jobs) while installing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$ENV_ROOT/.lock"
  flock 9
fi

# ---------------------------------------------------------------------------
# 1. The venv with pulumi
# ---------------------------------------------------------------------------
# The stamp is written last: a venv without it (an interrupted run) is made again.
venv_stamp="$ENV_ROOT/venv.stamp"
venv_want="$base_id pulumi==$PULUMI_PY_VERSION"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$venv_stamp" 2>/dev/null)" = "$venv_want" ] \
    && [ "$(installed_version pulumi)" = "$PULUMI_PY_VERSION" ]; then
  log "using cached venv with pulumi $PULUMI_PY_VERSION"
else
  rm -f "$venv_stamp" "$ENV_ROOT/sdk.stamp"
  rm -rf "$VENV"
  log "making a venv with $BASE_PYTHON (${base_id#* }) and pulumi==$PULUMI_PY_VERSION from PyPI..."
  start=$SECONDS
  "$BASE_PYTHON" -m venv "$VENV" >&2 || die "$BASE_PYTHON -m venv failed (see above; on Debian/Ubuntu: apt-get install python3-venv)"
  pip install "pulumi==$PULUMI_PY_VERSION" \
    || die "pip install pulumi==$PULUMI_PY_VERSION failed (see above)"
  got="$(installed_version pulumi)"
  [ "$got" = "$PULUMI_PY_VERSION" ] || die "the venv has pulumi '$got', expected $PULUMI_PY_VERSION"
  "$VENV/bin/python" -c 'import pulumi, pulumi.automation' >&2 || die "the venv cannot import pulumi (see above)"
  echo "$venv_want" >"$venv_stamp"
  log "made the venv in $((SECONDS - start))s"
fi

# ---------------------------------------------------------------------------
# 2. The repository's generated Python SDK (sdk/python), when there is one
# ---------------------------------------------------------------------------
sdk_stamp="$ENV_ROOT/sdk.stamp"
if [ -d "$SDK_DIR" ]; then
  [ -f "$SDK_DIR/pyproject.toml" ] || [ -f "$SDK_DIR/setup.py" ] \
    || die "${SDK_DIR#"$REPO_ROOT"/} has neither pyproject.toml nor setup.py"
  want="$(sdk_hash)"
  if [ "$(cat "$sdk_stamp" 2>/dev/null)" = "$want" ]; then
    log "using the installed ${SDK_DIR#"$REPO_ROOT"/}"
  else
    rm -f "$sdk_stamp"
    log "installing ${SDK_DIR#"$REPO_ROOT"/} into the venv..."
    start=$SECONDS
    tmp="$(mktemp -d "$ENV_ROOT/sdk.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    mkdir "$tmp/src"
    (cd "$SDK_DIR" && tar --exclude=./build --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ \
      -cf - .) | tar -xf - -C "$tmp/src"
    pip wheel --no-deps --wheel-dir "$tmp/wheel" "$tmp/src" \
      || die "building a wheel of ${SDK_DIR#"$REPO_ROOT"/} failed (see above)"
    wheel="$(ls "$tmp"/wheel/*.whl)"
    # Its dependencies as usual, the pin kept; then the SDK itself once more, always replaced
    # (its version does not change when its files do).
    pip install "$wheel" "pulumi==$PULUMI_PY_VERSION" \
      && pip install --force-reinstall --no-deps "$wheel" \
      || die "pip install of ${SDK_DIR#"$REPO_ROOT"/} failed (see above)"
    basename "$wheel" | cut -d- -f1 >"$ENV_ROOT/sdk.name"
    [ "$(installed_version pulumi)" = "$PULUMI_PY_VERSION" ] \
      || die "installing ${SDK_DIR#"$REPO_ROOT"/} changed pulumi to $(installed_version pulumi)"
    rm -rf "$tmp"
    trap - EXIT
    echo "$want" >"$sdk_stamp"
    log "installed ${SDK_DIR#"$REPO_ROOT"/} in $((SECONDS - start))s"
  fi
elif [ -f "$sdk_stamp" ]; then
  # sdk/python went away: leave no stale copy of it in the venv.
  name="$(cat "$ENV_ROOT/sdk.name" 2>/dev/null || true)"
  if [ -n "$name" ]; then
    log "sdk/python is gone: uninstalling $name from the venv"
    pip uninstall --yes "$name" || true
  fi
  rm -f "$sdk_stamp" "$ENV_ROOT/sdk.name"
fi

echo "$VENV/bin"
