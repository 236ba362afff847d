#!/usr/bin/env bash
# Benchmark of issue #2: COPY of a large context.
# Context: 20,000 small files (~160 MB) + two 50 MB files; Dockerfile:
#   FROM <base> / WORKDIR /app / COPY . /app
# Prints the median of N cold (empty build cache) and N warm (nothing changed) builds for
# strata, side by side with `buildah bud --layers --runtime runc` on the same input.
# Usage: bench/copy-context.sh [RUNS]   (default 5; needs root, buildah, busybox-static;
#        NO_BUILDAH=1 skips buildah)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=target/bench/copy
strata=target/release/strata
cargo build --release -q -p strata
mkdir -p "$work"

make_context() {
  local ctx=$work/context
  [ -f "$ctx/.done" ] && return
  rm -rf "$ctx" && mkdir -p "$ctx"
  python3 - "$ctx" <<'PY'
import os, sys, random
root = sys.argv[1]
rng = random.Random(42)
words = [("w%05d" % i).encode() for i in range(5000)]
for i in range(20000):
    d = os.path.join(root, "src", "d%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    body = b" ".join(rng.choice(words) for _ in range(1350))[:8000]
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(body)
for name in ("big1.bin", "big2.bin"):
    with open(os.path.join(root, name), "wb") as f:
        f.write(os.urandom(50 * 1024 * 1024))
PY
  printf 'FROM %s\nWORKDIR /app\nCOPY . /app\n' "\${BASE}" > "$ctx/Dockerfile.in"
  touch "$ctx/.done"
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

make_context
scripts/busybox-rootfs.sh "$work/base.tar.gz"
ctx=$work/context
sed 's|${BASE}|bench/base:1|' "$ctx/Dockerfile.in" > "$work/Dockerfile.strata"
cp "$work/Dockerfile.strata" "$ctx/Dockerfile"

cold=(); warm=()
for i in $(seq "$runs"); do
  root=$work/strata-root-$i
  rm -rf "$root"
  $strata --root "$root" import "$work/base.tar.gz" bench/base:1 >/dev/null
  sync
  t0=$(now); $strata --root "$root" build -q -t bench/app:1 "$ctx" >/dev/null; t1=$(now)
  cold+=("$(echo "$t1 - $t0" | bc)")
  t0=$(now); $strata --root "$root" build -q -t bench/app:1 "$ctx" >/dev/null; t1=$(now)
  warm+=("$(echo "$t1 - $t0" | bc)")
  rm -rf "$root"
done
s_cold=$(printf '%s\n' "${cold[@]}" | median); s_warm=$(printf '%s\n' "${warm[@]}" | median)

b_cold="n/a"; b_warm="n/a"
if command -v buildah >/dev/null && [ -z "${NO_BUILDAH:-}" ]; then
  $strata --root "$work/export-root" import "$work/base.tar.gz" bench/base:1 >/dev/null
  $strata --root "$work/export-root" save -o "$work/base-docker.tar" bench/base:1
  cold=(); warm=()
  for i in $(seq "$runs"); do
    br=$work/buildah-$i
    rm -rf "$br"
    buildah --root "$br/root" --runroot "$br/run" --storage-driver vfs pull -q "docker-archive:$work/base-docker.tar" >/dev/null
    tag=$(buildah --root "$br/root" --runroot "$br/run" --storage-driver vfs images -q | head -1)
    sed "s|\${BASE}|$tag|" "$ctx/Dockerfile.in" > "$ctx/Dockerfile"
    bud() { buildah --root "$br/root" --runroot "$br/run" --storage-driver vfs bud -q --layers --runtime runc -t bench/app:1 "$ctx" >/dev/null 2>&1; }
    t0=$(now); bud; t1=$(now); cold+=("$(echo "$t1 - $t0" | bc)")
    t0=$(now); bud; t1=$(now); warm+=("$(echo "$t1 - $t0" | bc)")
    rm -rf "$br"
  done
  cp "$work/Dockerfile.strata" "$ctx/Dockerfile"
  b_cold=$(printf '%s\n' "${cold[@]}" | median); b_warm=$(printf '%s\n' "${warm[@]}" | median)
  rm -rf "$work/export-root"
fi

printf '\nCOPY of 20,000 files + 2x50 MB (median of %s runs, seconds)\n' "$runs"
printf '%-8s %10s %10s\n' "" strata buildah
printf '%-8s %10s %10s\n' cold "$s_cold" "$b_cold"
printf '%-8s %10s %10s\n' warm "$s_warm" "$b_warm"
printf 'targets: cold <= 2.5 s, warm <= 0.15 s\n'
