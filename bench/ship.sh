#!/usr/bin/env bash
# Benchmark of the ship figures: strata vs `skopeo copy` against Debian's docker-registry
# (CNCF distribution 2.8) on loopback, in one run.
#  push  : a 1 GB image of 8 layers (~540 MB gzip) into an empty registry (a fresh registry
#          per run, so neither tool can mount a blob it pushed before);
#  pull  : the same image into an empty store (strata: a fresh --root, blobs fetched,
#          verified and stored; skopeo: a fresh OCI layout directory);
#  no-op : a push of the same image to the same repository again (everything is there);
#  cache : the RUN benchmark's Dockerfile (b) (bench/run-graph.sh) built on an empty store
#          with --cache-from type=registry, beside a warm local build of it and a pull of
#          its layers (the target: cache-from <= 1.5 x (warm + download)).
# Prints the median of RUNS for each figure and the ratio skopeo/strata.
# Usage: bench/ship.sh [RUNS]   (default 5; needs root for the cache figure, skopeo,
#        docker-registry, busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=$PWD/target/bench/ship
strata=$PWD/target/release/strata
cargo build --release -q -p strata
mkdir -p "$work"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
# Each time_* function sets `took` (seconds): they run in this shell, not in a $(…)
# subshell, so the registry they start is the one stop_registry stops.
took=
elapsed() { took=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- a registry per use ------------------------------------------------------------------
registry_pid=
registry=
start_registry() {
  local dir=$work/registry port
  stop_registry
  rm -rf "$dir" && mkdir -p "$dir/data"
  port=$(free_port)
  cat > "$dir/config.yml" <<EOF
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $dir/data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$port }
EOF
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  registry_pid=$!
  registry=127.0.0.1:$port
  for _ in $(seq 100); do
    curl -sf "http://$registry/v2/" > /dev/null && return
    sleep 0.05
  done
  echo "docker-registry did not start: $(cat "$dir/log")" >&2
  exit 1
}
stop_registry() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2> /dev/null || true
    wait "$registry_pid" 2> /dev/null || true
    registry_pid=
  fi
}
trap stop_registry EXIT

# ---- the 1 GB image: 8 layers of 128 MB, half random, half text -------------------------
big_image() {
  local ctx=$work/big
  if [ ! -f "$ctx/.done" ]; then
    rm -rf "$ctx" && mkdir -p "$ctx"
    python3 - "$ctx" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(9)
words = [b"alpha", b"beta", b"gamma", b"delta", b"layer", b"image", b"strata", b"registry"]
for i in range(8):
    d = os.path.join(root, "l%d" % i)
    os.makedirs(d)
    for j in range(4):
        with open(os.path.join(d, "random%d.bin" % j), "wb") as f:
            f.write(os.urandom(16 << 20))
        with open(os.path.join(d, "text%d.txt" % j), "wb") as f:
            text = bytearray()
            while len(text) < (16 << 20):
                text += b" ".join(rng.choice(words) for _ in range(12)) + b"\n"
            f.write(bytes(text[: 16 << 20]))
PY
    {
      echo "FROM scratch"
      for i in $(seq 0 7); do echo "COPY l$i/ /l$i/"; done
    } > "$ctx/Dockerfile"
    touch "$ctx/.done"
  fi
  rm -rf "$work/store"
  "$strata" --root "$work/store" build -q -t bench/big:1 "$ctx" > /dev/null
  rm -rf "$work/big.oci"
  "$strata" --root "$work/store" copy store:bench/big:1 "oci:$work/big.oci:1" > /dev/null
}

# ---- push / pull / no-op -------------------------------------------------------------------
time_strata_push() {
  start_registry
  local t0 t1
  t0=$(now); "$strata" --root "$work/store" push -q bench/big:1 "$registry/strata/big:1" > /dev/null; t1=$(now)
  elapsed "$t0" "$t1"
}
time_skopeo_push() {
  start_registry
  local t0 t1
  t0=$(now); skopeo copy -q --dest-tls-verify=false "oci:$work/big.oci:1" "docker://$registry/skopeo/big:1" > /dev/null; t1=$(now)
  elapsed "$t0" "$t1"
}
time_strata_pull() {
  rm -rf "$work/pull-root"; sync
  local t0 t1
  t0=$(now); "$strata" --root "$work/pull-root" pull -q "$registry/skopeo/big:1" > /dev/null; t1=$(now)
  elapsed "$t0" "$t1"
}
time_skopeo_pull() {
  rm -rf "$work/pull.oci"; sync
  local t0 t1
  t0=$(now); skopeo copy -q --src-tls-verify=false "docker://$registry/skopeo/big:1" "oci:$work/pull.oci:1" > /dev/null; t1=$(now)
  elapsed "$t0" "$t1"
}
time_strata_noop() {
  local t0 t1
  t0=$(now); "$strata" --root "$work/store" push -q bench/big:1 "$registry/noop/big:1" > /dev/null; t1=$(now)
  elapsed "$t0" "$t1"
}
time_skopeo_noop() {
  local t0 t1
  t0=$(now); skopeo copy -q --dest-tls-verify=false "oci:$work/big.oci:1" "docker://$registry/noop/big:1" > /dev/null; t1=$(now)
  elapsed "$t0" "$t1"
}

# ---- the report ----------------------------------------------------------------------------
declare -A fig
measure() { # name command
  local name=$1 i out=()
  shift
  for i in $(seq "$runs"); do "$@"; out+=("$took"); done
  fig[$name]=$(printf '%s\n' "${out[@]}" | median)
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "preparing the 1 GB image (not timed)..." >&2
big_image
measure strata_push time_strata_push
measure skopeo_push time_skopeo_push
# One registry with the image (pushed by skopeo) serves every pull and the no-op pushes.
start_registry
skopeo copy -q --dest-tls-verify=false "oci:$work/big.oci:1" "docker://$registry/skopeo/big:1" > /dev/null
skopeo copy -q --dest-tls-verify=false "oci:$work/big.oci:1" "docker://$registry/noop/big:1" > /dev/null
measure strata_pull time_strata_pull
measure skopeo_pull time_skopeo_pull
measure strata_noop time_strata_noop
measure skopeo_noop time_skopeo_noop

printf '\nship figures, median of %s runs (seconds), skopeo %s\n' "$runs" "$(skopeo --version | awk '{print $3}')"
printf '%-28s %10s %10s %10s\n' figure strata skopeo skopeo/strata
for f in push pull noop; do
  printf '%-28s %10s %10s %10s\n' "$f" "${fig[strata_$f]}" "${fig[skopeo_$f]}" "$(ratio "${fig[skopeo_$f]}" "${fig[strata_$f]}")"
done
echo "targets: push and pull >= 1.5x faster than skopeo; no-op push < 0.05 s"

if [ -x bench/ship-cache.sh ] && [ "$(id -u)" = 0 ]; then
  bench/ship-cache.sh "$runs"
fi
