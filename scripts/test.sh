#!/usr/bin/env bash
# Runs every test of the workspace (unit, integration, CLI end-to-end, interop with real
# skopeo/umoci/podman/runc). Root-only tests (mounts, namespaces) need root, as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-fail-fast "$@"
