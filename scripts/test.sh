#!/usr/bin/env bash
# Runs every test of the workspace (unit, integration, CLI end-to-end, interop with real
# skopeo/umoci/podman/buildah/docker/runc). Root-only tests (mounts, namespaces, dockerd) are
# `#[ignore = "needs root"]`: as root (CI) they run too (`--include-ignored`); otherwise cargo
# reports them as ignored.
# Arguments go to cargo, e.g. `scripts/test.sh -p strata-archive` or `scripts/test.sh -- NAME`.
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
if [ "$(id -u)" -eq 0 ]; then
  sep=no
  for a in "${args[@]}"; do [ "$a" = "--" ] && sep=yes; done
  [ "$sep" = yes ] || args+=(--)
  args+=(--include-ignored)
else
  echo "note: not root: root-only tests are reported as ignored (CI runs them as root)" >&2
fi
cargo test --workspace --no-fail-fast "${args[@]}"
