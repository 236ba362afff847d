#!/usr/bin/env bash
# Benchmark of the registry as a CI fleet's build cache: the RUN benchmark's Dockerfile (b)
# (bench/run-graph.sh: deps + app on a Debian minbase) built on an EMPTY store with
# --cache-from type=registry, as a fresh CI runner does, beside
#  warm     : a warm local build of it (the store that built it, nothing changed);
#  download : `strata pull` of the built image into an empty store (the layer download);
# Target: cache-from <= 1.5 x (warm + download). The base image comes from the same registry
# (the build pulls it: FROM names the registry), so the cold runner starts with nothing.
# Usage: bench/ship-cache.sh [RUNS]   (default 5; needs root, docker-registry, debootstrap)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=$PWD/target/bench/ship-cache
strata=$PWD/target/release/strata
cargo build --release -q -p strata
PREPARE_ONLY=1 bench/run-graph.sh > /dev/null
graph=$PWD/target/bench/graph
rm -rf "$work" && mkdir -p "$work"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
registry=127.0.0.1:$port
mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<YML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $work/registry/data } }
http: { addr: $registry }
YML
docker-registry serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true; wait $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://$registry/v2/" > /dev/null && break; sleep 0.05; done

# The runner that fills the cache (not timed): base pushed, (b) built with --cache-to.
warm=$work/warm-root
"$strata" --root "$warm" import "$graph/base.tar.gz" "$registry/bench/base:1" > /dev/null
"$strata" --root "$warm" push -q "$registry/bench/base:1" > /dev/null
sed "s|\${BASE}|$registry/bench/base:1|" "$graph/b/Dockerfile.in" > "$work/Dockerfile"
cache="type=registry,ref=$registry/bench/b:buildcache"
"$strata" --root "$warm" build -q -t "$registry/bench/b:1" -f "$work/Dockerfile" \
  --cache-to "$cache,mode=max" "$graph/b/ctx" > /dev/null
"$strata" --root "$warm" push -q "$registry/bench/b:1" > /dev/null

declare -A R
add() { R[$1]="${R[$1]:-} $2"; }
for _ in $(seq "$runs"); do
  sync; t0=$(now)
  "$strata" --root "$warm" build -q -t "$registry/bench/b:1" -f "$work/Dockerfile" "$graph/b/ctx" > /dev/null
  t1=$(now); add warm "$(elapsed "$t0" "$t1")"

  rm -rf "$work/pull-root"; sync; t0=$(now)
  "$strata" --root "$work/pull-root" pull -q "$registry/bench/b:1" > /dev/null
  t1=$(now); add download "$(elapsed "$t0" "$t1")"

  rm -rf "$work/cold-root"; sync; t0=$(now)
  "$strata" --root "$work/cold-root" build -q -t "$registry/bench/b:1" -f "$work/Dockerfile" \
    --cache-from "$cache" "$graph/b/ctx" > /dev/null
  t1=$(now); add cold "$(elapsed "$t0" "$t1")"
done
med() { printf '%s\n' ${R[$1]} | median; }
w=$(med warm); d=$(med download); c=$(med cold)
printf '\nregistry build cache, run-graph (b), median of %s runs (seconds)\n' "$runs"
printf '%-40s %10s\n' "warm local build" "$w" "layer download (strata pull)" "$d" \
  "cache-from build on an empty store" "$c"
awk -v w="$w" -v d="$d" -v c="$c" 'BEGIN { printf "%-40s %10.2f   (target <= 1.5)\n", "cache-from / (warm + download)", c / (w + d) }'
