#!/usr/bin/env bash
# Benchmark of the shared build cache: a cold CI build from --cache-from on an empty store,
# against a warm local build plus the time to download the cache's layers.
#  Dockerfile: run-graph.sh's (b) — COPY requirements.txt, a RUN writing 100 MB, COPY app/
#  (2,000 small files), a RUN over it; the 100 MB are random here, so the layers weigh.
#  warm  = a rebuild with nothing changed, in the store that built it (median of RUNS);
#  cold  = an empty store with the base imported (not timed), `--cache-from` the cache pushed
#          by the first store to a docker-registry on loopback (median of RUNS);
#  pull  = `skopeo copy` of the cache artifact (all its layers, which here are exactly the
#          final image's) into a fresh OCI layout: the layer download time (median of RUNS).
# Target (issue "Ship"): cold <= 1.5 x (warm + pull).
# Usage: bench/cache-from.sh [RUNS]   (default 5; needs root, docker-registry, skopeo,
#        busybox-static). Env: BASE=debian uses the Debian minbase of run-graph.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=$PWD/target/bench/cache-from
strata=target/release/strata
cargo build --release -q -p strata
rm -rf "$work" && mkdir -p "$work/ctx"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

python3 - "$work/ctx" <<'PY'
import os, sys, random
root = sys.argv[1]
rng = random.Random(7)
with open(os.path.join(root, "requirements.txt"), "w") as f:
    f.write("".join("pkg%03d==1.%d.0\n" % (i, i % 7) for i in range(40)))
for i in range(2000):
    d = os.path.join(root, "app", "mod%02d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.py" % i), "w") as f:
        f.write("".join("x%d = %d\n" % (j, rng.randrange(1 << 30)) for j in range(rng.randrange(5, 60))))
PY
cat > "$work/ctx/Dockerfile" <<'EOF2'
FROM bench/base:1
COPY requirements.txt /app/
RUN head -c 100000000 /dev/urandom > /deps.bin
COPY app/ /app/app/
RUN find /app/app -type f | wc -l > /count
EOF2
if [ "${BASE:-busybox}" = debian ]; then
  scripts/debian-rootfs.sh "$PWD/target/bench/debian-rootfs.tar.gz"
  cp "$PWD/target/bench/debian-rootfs.tar.gz" "$work/base.tar.gz"
else
  scripts/busybox-rootfs.sh "$work/base.tar.gz"
fi

# A docker-registry on a free loopback port, stopped on exit.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<EOF2
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF2
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null; wait $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
cache=127.0.0.1:$port/bench/app:buildcache

fresh_store() {
  rm -rf "$1"
  SOURCE_DATE_EPOCH=1700000000 $strata --root "$1" import "$work/base.tar.gz" bench/base:1 >/dev/null
}

# The first runner: build cold, export the cache (not timed).
fresh_store "$work/a"
$strata --root "$work/a" build -q -t bench/app:1 --cache-to "type=registry,ref=$cache,mode=max" "$work/ctx" >/dev/null

warm=() cold=() pull=()
for i in $(seq "$runs"); do
  sync; t0=$(now)
  $strata --root "$work/a" build -q -t bench/app:1 "$work/ctx" >/dev/null
  t1=$(now); warm+=("$(echo "$t1 - $t0" | bc)")

  fresh_store "$work/b"; sync; t0=$(now)
  $strata --root "$work/b" build -q -t bench/app:1 --cache-from "$cache" "$work/ctx" >/dev/null
  t1=$(now); cold+=("$(echo "$t1 - $t0" | bc)")

  rm -rf "$work/pulled"; sync; t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$cache" "oci:$work/pulled:c" >/dev/null
  t1=$(now); pull+=("$(echo "$t1 - $t0" | bc)")
done

w=$(printf '%s\n' "${warm[@]}" | median)
c=$(printf '%s\n' "${cold[@]}" | median)
p=$(printf '%s\n' "${pull[@]}" | median)
size=$(du -sb "$work/pulled/blobs" | cut -f1)
echo "cache artifact: $((size / 1000000)) MB of blobs; medians of $runs runs"
printf 'warm local build       %8.3f s\n' "$w"
printf 'layer download (skopeo) %7.3f s\n' "$p"
printf 'cold --cache-from build %7.3f s   ratio cold / (warm + download) = %.2f (target <= 1.5)\n' \
  "$c" "$(echo "$c / ($w + $p)" | bc -l)"
