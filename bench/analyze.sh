#!/usr/bin/env bash
# Benchmark of the checks, side by side with their peers in one run:
#  analyze : `strata analyze --ci docker-archive:IMG.tar` vs `dive --ci --source docker-archive
#            IMG.tar` on a 1 GB, 8-layer image (wall time and peak RSS; targets: ≥ 5× faster,
#            ≤ 1/5 of dive's peak memory), the archive in `docker save`'s form (plain layer
#            tars) and again with gzip layers; `strata analyze --ci` of the image in the store;
#  secrets : `strata scan` of the 1 GB image in the store, plain and gzip layers (target:
#            under 2 s);
#  lint    : `strata lint` vs `hadolint` over the lint corpus (crates/strata-check/tests/corpus),
#            one process per Dockerfile for both (target: strata faster in total).
# The image (built once with strata, cached under target/bench/analyze): a busybox base, six
# COPY layers of ~170 MB each (40 MB of random binaries in 8 files, 128 MB of text made of
# words in 16,000 files of 1-15 kB: ~96,000 files in all, as an image with a language
# runtime and its packages has), the fifth COPY overwriting the second's files, and a RUN
# deleting the third's.
# Prints the median of RUNS for each figure.
# Usage: bench/analyze.sh [RUNS]   (default 3; as root: the image is built with RUN)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$PWD/target/bench/analyze
strata=$PWD/target/release/strata
export PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
for tool in dive hadolint python3 /usr/bin/time; do
  command -v "$tool" > /dev/null || { echo "bench/analyze.sh needs $tool" >&2; exit 1; }
done
cargo build --release -q -p strata
mkdir -p "$work"
root=$work/root
root_gz=$work/root-gz         # its own store: a gzip build of the same context would reuse
                              # the plain layers from the build cache, as BuildKit does
archive=$work/image.tar       # layers uncompressed, as `docker save` writes them
archive_gz=$work/image-gz.tar # the same image with gzip layers (`strata save` of a gzip build)

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

make_context() {
  local ctx=$1
  python3 - "$ctx" <<'PY'
import os, random, sys
ctx = sys.argv[1]
rng = random.Random(42)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 12)))
         for _ in range(4000)]
corpus = " ".join(rng.choice(words) + ("\n" if rng.random() < 0.08 else "") for _ in range(400000))
corpus = corpus.encode()
for layer in range(1, 7):
    d = os.path.join(ctx, f"l{layer}")
    os.makedirs(os.path.join(d, "bin"), exist_ok=True)
    for i in range(8):
        with open(os.path.join(d, "bin", f"blob{i}.bin"), "wb") as f:
            f.write(os.urandom(5 * 1000 * 1000))
    for i in range(16000):
        sub = os.path.join(d, "src", f"pkg{i % 400}")
        os.makedirs(sub, exist_ok=True)
        size = rng.randint(1000, 15000)
        start = rng.randrange(0, len(corpus) - size)
        with open(os.path.join(sub, f"mod{i}.txt"), "wb") as f:
            f.write(corpus[start:start + size])
PY
  mkdir -p "$ctx/base/bin"
  cp /bin/busybox "$ctx/base/bin/busybox"
  for t in sh rm; do ln -sf busybox "$ctx/base/bin/$t"; done
  tar -C "$ctx/base" -cf "$ctx/base.tar" .
  cat > "$ctx/Dockerfile" <<'DF'
FROM bench-base:1
COPY l1 /data/l1
COPY l2 /data/l2
COPY l3 /data/l3
COPY l4 /data/l4
COPY l5 /data/l2
COPY l6 /data/l6
RUN rm -rf /data/l3
DF
}

if [ ! -s "$archive_gz" ]; then
  ctx=$work/ctx
  rm -rf "$ctx" "$root" "$root_gz" && mkdir -p "$ctx"
  echo "making the 1 GB image (once)..." >&2
  make_context "$ctx"
  for c in uncompressed gzip; do
    r=$root; out=$archive
    [ $c = gzip ] && { r=$root_gz; out=$archive_gz; }
    "$strata" --root "$r" import "$ctx/base.tar" bench-base:1 > /dev/null
    "$strata" --root "$r" build --progress=quiet --compression $c -t analyze-bench:1 -f "$ctx/Dockerfile" "$ctx" > /dev/null
    "$strata" --root "$r" save -o "$out.tmp" analyze-bench:1
    mv "$out.tmp" "$out"
  done
  rm -rf "$ctx"
fi
echo "image: $(du -h "$archive" | cut -f1) docker-archive (gzip layers: $(du -h "$archive_gz" | cut -f1)), $("$strata" --root "$root" analyze --format json analyze-bench:1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["layers"]), "layers,", d["total_bytes"], "file bytes,", d["wasted_bytes"], "wasted")')"

results=$work/results
rm -rf "$results" && mkdir -p "$results"
# time_rss NAME CMD...: appends "seconds" to NAME.s and "peak KiB" to NAME.kb (exit code ignored:
# both tools exit 1 when a CI rule fails, as this image's waste makes them).
time_rss() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$results/tmp" "$@" > /dev/null 2>&1 || true
  read -r s kb < <(tail -n 1 "$results/tmp") # after "Command exited with non-zero status"
  echo "$s" >> "$results/$name.s"; echo "$kb" >> "$results/$name.kb"
}

corpus=(crates/strata-check/tests/corpus/*.Dockerfile)
lint_all() { # tool
  local f
  for f in "${corpus[@]}"; do
    case $1 in
      strata) "$strata" lint -f "$f" --failure-threshold none > /dev/null 2>&1 || true ;;
      hadolint) hadolint --no-fail "$f" > /dev/null 2>&1 || true ;;
    esac
  done
}

for ((i = 1; i <= runs; i++)); do
  echo "run $i/$runs" >&2
  time_rss dive env CI=true dive --ci --source docker-archive "$archive"
  time_rss strata-archive "$strata" --root "$root" analyze --ci "docker-archive:$archive"
  time_rss dive-gz env CI=true dive --ci --source docker-archive "$archive_gz"
  time_rss strata-archive-gz "$strata" --root "$root" analyze --ci "docker-archive:$archive_gz"
  time_rss strata-store "$strata" --root "$root" analyze --ci analyze-bench:1
  time_rss scan "$strata" --root "$root" scan analyze-bench:1
  time_rss strata-store-gz "$strata" --root "$root_gz" analyze --ci analyze-bench:1
  time_rss scan-gz "$strata" --root "$root_gz" scan analyze-bench:1
  start=$(date +%s.%N); lint_all hadolint; end=$(date +%s.%N)
  calc "$end - $start" >> "$results/lint-hadolint.s"
  start=$(date +%s.%N); lint_all strata; end=$(date +%s.%N)
  calc "$end - $start" >> "$results/lint-strata.s"
done

m() { median < "$results/$1"; }
mib() { calc "$(m "$1") / 1024"; }
row() { # label strata-figure dive-figure
  printf "%-44s %7.2f   %8.1f" "$1" "$(m "$2.s")" "$(mib "$2.kb")"
  [ -n "${3:-}" ] && printf "   %sx faster, %sx less memory (targets 5x, 5x)" \
    "$(calc "$(m "$3.s") / $(m "$2.s")")" "$(calc "$(m "$3.kb") / $(m "$2.kb")")"
  echo
}
echo
echo "median of $runs runs                               seconds   peak MiB"
row "dive --ci (docker save form: plain layers)" dive
row "strata analyze --ci (the same archive)" strata-archive dive
row "dive --ci (gzip layers)" dive-gz
row "strata analyze --ci (gzip layers)" strata-archive-gz dive-gz
row "strata analyze --ci (store, plain layers)" strata-store dive
row "strata analyze --ci (store, gzip layers)" strata-store-gz dive-gz
row "strata scan (secrets; store, plain layers)" scan
row "strata scan (secrets; store, gzip layers)" scan-gz
printf "lint of %d Dockerfiles: hadolint %.2f s, strata %.2f s (%sx)\n" "${#corpus[@]}" \
  "$(m lint-hadolint.s)" "$(m lint-strata.s)" "$(calc "$(m lint-hadolint.s) / $(m lint-strata.s)")"
