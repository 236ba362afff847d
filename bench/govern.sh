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
# The same shape of data pushed through the real /v2/ API into `strata registry serve`
# (release build, SQLite, a temp data dir, a free port on 127.0.0.1) by
# crates/strata-registry/examples/govern_http.rs, then the lineage queries over HTTP
# (keep-alive, median of HTTP_RUNS ≥ 15), a retention --dry-run over the data dir (the whole
# CLI run, median of RETENTION_RUNS ≥ 5), and the first answer after a restart (the index is
# rebuilt from the database). The server is stopped and the temp dir removed on exit.
http_runs=$(( runs < 15 ? 15 : runs ))
retention_runs=$(( runs < 5 ? 5 : runs ))
cargo build --release -q -p strata --bin strata
cargo build --release -q -p strata-registry --example govern_http
strata=$PWD/target/release/strata
http=$PWD/target/release/examples/govern_http
tmp=$(mktemp -d)
server=''
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=''
}
trap 'stop_server; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
start_server() {
  RUST_LOG=warn "$strata" registry serve --addr "127.0.0.1:$port" --data "$tmp/data" \
    >>"$tmp/server.log" 2>&1 &
  server=$!
}
now_ns() { date +%s%N; }
ms_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

start_server
for _ in $(seq 200); do curl -fs "$url/v2/" >/dev/null && break; sleep 0.05; done
reg=$("$http" populate "$url" 8)
reg+=$'\n'$("$http" query "$url" "$http_runs")

times=()
for _ in $(seq "$retention_runs"); do
  t0=$(now_ns)
  "$strata" registry retention --dry-run --policy examples/govern/retention.toml \
    --data "$tmp/data" --format json >"$tmp/retention.json"
  times+=("$(ms_since "$t0")")
done
retention_ms=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
reg+=$'\n'"retention --dry-run CLI, default policy (wall clock)"$'\t'"$retention_ms"$'\t'1000

stop_server
t0=$(now_ns)
start_server
reg+=$'\n'$("$http" first "$url" "$t0")
du_data=$(du -sh "$tmp/data" | cut -f1)

printf '\ngovernance figures over HTTP (strata registry serve, SQLite, %s data), median of %s requests (retention: %s CLI runs), %s cores, load %s\n' \
  "$du_data" "$http_runs" "$retention_runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %12s %12s  %s\n' figure 'strata ms' 'target ms' ''
while IFS=$'\t' read -r name ms target; do
  verdict=''
  if [ "$target" != - ]; then
    verdict=$(awk -v m="$ms" -v t="$target" 'BEGIN { print (m < t) ? "ok" : "OVER TARGET" }')
  fi
  printf '%-52s %12s %12s  %s\n' "$name" "$ms" "$target" "$verdict"
done <<< "$reg"
