#!/usr/bin/env bash
# Benchmark of governance (issue 11's performance targets):
#  lineage   : queries on a registry of 10,000 images answer in under 50 ms: the index built
#              from 10,000 pushes, `dependents` and the rebuild waves of a root OS base,
#              the tree under it and the whole forest, one image's parent;
#  retention : evaluation of 10,000 images under the default policy in under 1 s;
#  baseline  : what a registry without an index does for one `dependents` query (every
#              image's layers compared with every other's to find parents, as a full scan
#              does; and zot's one-pass derived-image search, which finds images by layer
#              prefix without parents or depth).
# The data (crates/strata-govern/examples/govern_timing.rs, deterministic): 10,000 images in
# ~200 repositories, a lineage forest 4 levels deep (OS bases → runtimes → tools → apps, app
# versions sharing dependency layers, one app in 20 squashed with a base.digest annotation),
# labels and push/pull times mixed.
# Prints the median of RUNS for each figure beside its target.
# Usage: bench/govern.sh [RUNS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
cargo build --release -q -p strata-govern --example govern_timing
out=$(target/release/examples/govern_timing "$runs")

printf '\ngovernance figures (pure logic, no I/O), median of %s runs, %s cores\n' "$runs" "$(nproc)"
printf '%-52s %12s %12s  %s\n' figure 'strata ms' 'target ms' ''
while IFS=$'\t' read -r name ms target; do
  verdict=''
  if [ "$target" != - ]; then
    verdict=$(awk -v m="$ms" -v t="$target" 'BEGIN { print (m < t) ? "ok" : "OVER TARGET" }')
  fi
  printf '%-52s %12s %12s  %s\n' "$name" "$ms" "$target" "$verdict"
done <<< "$out"

# --- registry level (HTTP) -------------------------------------------------------------
# TODO(gov-registry / lead): time `GET /strata/v1/lineage/dependents` and
# `GET /strata/v1/lineage/tree` against `strata registry serve` holding the same 10,000
# images, and a retention `--dry-run` over them, and print them here beside the targets.
# ---------------------------------------------------------------------------------------
