#!/usr/bin/env bash
# Benchmark of the registry server: `strata registry serve` vs Debian's docker-registry
# (CNCF distribution 2.8) on loopback, side by side in one run. The clients are light
# (curl, one process per request or one keep-alive process for many), so the figures are
# the servers', and each server's own CPU time (utime+stime from /proc/PID/stat) is taken
# around every figure.
#  push     : a 1 GB image (8 layers of 128 MiB, random so incompressible, gzip-framed) into
#             a fresh server: per blob POST + monolithic PUT, then the manifest PUT;
#  pull     : every blob of it to /dev/null, one after the other;
#  50 pull  : 50 concurrent curls, each pulling one layer (6.4 GB in all), aggregate MB/s;
#  gc       : 10,000 distinct manifests (sharing 1 config and 100 small layers) made
#             garbage (strata: pushed by tag, then the tags deleted; distribution: pushed
#             untagged, by digest, as it cannot delete a tag), collected with their blobs
#             as untagged manifests (strata `[gc] untagged`, distribution
#             `--delete-untagged`):
#             strata's online GC (`strata registry gc` beside the running server) while a
#             pusher loop pushes small images (each push's latency: the sum of its requests'
#             curl time_total); distribution's `registry garbage-collect` is offline (it
#             must not run beside pushes), so only its duration is shown, with no pushes;
#  skopeo   : the user-visible figure, `skopeo copy` of the image from an OCI layout to each
#             server and back into a fresh OCI layout.
# Prints the median of RUNS for each figure beside the targets.
# Usage: bench/registry.sh [RUNS]   (default 3; needs docker-registry, skopeo, curl, python3)
#        FIGURES="io gc" by default: io = push, pull, 50 pullers, skopeo; gc = the GC figures.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$PWD/target/bench/registry
strata=$PWD/target/release/strata
for tool in docker-registry skopeo curl python3; do
  command -v "$tool" > /dev/null || { echo "bench/registry.sh needs $tool" >&2; exit 1; }
done
cargo build --release -q -p strata
mkdir -p "$work"
results=$work/results
rm -rf "$results" && mkdir -p "$results"
tick=$(getconf CLK_TCK)
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
figures=${FIGURES:-io gc}
for f in $figures; do
  case $f in io | gc) ;; *) echo "FIGURES: unknown figure set $f (io, gc)" >&2; exit 1 ;; esac
done
wanted() { [[ " $figures " == *" $1 "* ]]; }

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { awk -v t="$tick" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
record() { echo "$3" >> "$results/$1.$2"; } # figure server value

# ---- the two servers, fresh per run --------------------------------------------------------
declare -A pid base data
start_strata() {
  local dir=$work/strata port
  rm -rf "$dir" && mkdir -p "$dir"
  port=$(free_port)
  printf '[gc]\ninterval_secs = 0\nuntagged = true\ngrace_secs = 0\n' > "$dir/config.toml"
  RUST_LOG=warn "$strata" registry serve --config "$dir/config.toml" --data "$dir/data" \
    --addr "127.0.0.1:$port" > "$dir/log" 2>&1 &
  pid[strata]=$! base[strata]=http://127.0.0.1:$port data[strata]=$dir
  wait_up strata
}
start_distribution() {
  local dir=$work/distribution port
  rm -rf "$dir" && mkdir -p "$dir/data"
  port=$(free_port)
  cat > "$dir/config.yml" <<EOF
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $dir/data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$port }
EOF
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  pid[distribution]=$! base[distribution]=http://127.0.0.1:$port data[distribution]=$dir
  wait_up distribution
}
wait_up() {
  for _ in $(seq 200); do
    curl -sf "${base[$1]}/v2/" > /dev/null && return
    sleep 0.05
  done
  echo "$1 did not start: $(cat "${data[$1]}/log")" >&2
  exit 1
}
stop_servers() {
  local s
  for s in strata distribution; do
    if [ -n "${pid[$s]:-}" ]; then
      kill "${pid[$s]}" 2> /dev/null || true
      wait "${pid[$s]}" 2> /dev/null || true
      pid[$s]=
    fi
  done
}
cleanup() {
  stop_servers
  [ -n "${pusher_pid:-}" ] && kill "$pusher_pid" 2> /dev/null
  rm -rf "$work/strata" "$work/distribution" "$work/pull.oci" "$work/gc"
}
trap cleanup EXIT

# ---- the 1 GB image, made once: an OCI layout whose blobs curl sends as they are ----------
image=$work/big.oci
layers=()
make_image() {
  if [ ! -f "$image/.done" ]; then
    rm -rf "$image" && mkdir -p "$image/blobs/sha256"
    echo "preparing the 1 GB image (once, not timed)..." >&2
    python3 - "$image" <<'PY'
import gzip, hashlib, json, os, sys
root = sys.argv[1]
blobs = os.path.join(root, "blobs", "sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return d
layers, diff_ids = [], []
for i in range(8):
    raw = os.urandom(128 << 20)
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    gz = gzip.compress(raw, compresslevel=1, mtime=0)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:" + put(gz), "size": len(gz)})
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + put(config), "size": len(config)},
                       "layers": layers}).encode()
m = put(manifest)
with open(os.path.join(root, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(root, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + m, "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "1"}}]}, f)
with open(os.path.join(root, "manifest"), "w") as f:
    f.write("sha256:" + m)
PY
    touch "$image/.done"
  fi
  manifest_digest=$(cat "$image/manifest")
  manifest_file=$image/blobs/sha256/${manifest_digest#sha256:}
  mapfile -t blobs < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
for d in [m["config"]] + m["layers"]: print(d["digest"])' "$manifest_file")
  layers=("${blobs[@]:1}")
  image_bytes=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(sum(d["size"] for d in [m["config"]] + m["layers"]))' "$manifest_file")
}
blob_file() { echo "$image/blobs/sha256/${1#sha256:}"; }

# ---- curl, one request each ----------------------------------------------------------------
# Pushes file $3 as blob $4 into repository $2 of server $1: POST, then a monolithic PUT.
# Prints the requests' summed curl time_total.
push_blob() {
  local loc t1 t2
  loc=$(curl -sSf -X POST -D - -o /dev/null -w '%{time_total}\n' "${base[$1]}/v2/$2/blobs/uploads/" | tr -d '\r')
  t1=$(tail -n1 <<< "$loc")
  loc=$(awk 'tolower($1) == "location:" {print $2}' <<< "$loc")
  case $loc in /*) loc=${base[$1]}$loc ;; esac
  case $loc in *\?*) loc="$loc&digest=$4" ;; *) loc="$loc?digest=$4" ;; esac
  t2=$(curl -sSf -T "$3" -H 'Expect:' -H 'Content-Type: application/octet-stream' -o /dev/null -w '%{time_total}' "$loc")
  calc "$t1 + $t2"
}
put_manifest() { # server repo tag file
  curl -sSf -T "$4" -H 'Expect:' -H "Content-Type: $OCI_MANIFEST" -o /dev/null -w '%{time_total}' \
    "${base[$1]}/v2/$2/manifests/$3"
}

# ---- push, pull, 50 pullers ----------------------------------------------------------------
bench_push() { # server
  local s=$1 c0 c1 t0 t1 d
  c0=$(cpu "${pid[$s]}") t0=$(now)
  for d in "${blobs[@]}"; do push_blob "$s" curl/big "$(blob_file "$d")" "$d" > /dev/null; done
  put_manifest "$s" curl/big 1 "$manifest_file" > /dev/null
  t1=$(now) c1=$(cpu "${pid[$s]}")
  record push_s "$s" "$(calc "$t1 - $t0")"
  record push_cpu "$s" "$(calc "($c1 - $c0) / ($image_bytes / 1e9)")"
}
bench_pull() {
  local s=$1 c0 c1 t0 t1 d
  c0=$(cpu "${pid[$s]}") t0=$(now)
  curl -sSf -o /dev/null -H "Accept: $OCI_MANIFEST" "${base[$s]}/v2/curl/big/manifests/1"
  for d in "${blobs[@]}"; do curl -sSf -o /dev/null "${base[$s]}/v2/curl/big/blobs/$d"; done
  t1=$(now) c1=$(cpu "${pid[$s]}")
  record pull_s "$s" "$(calc "$t1 - $t0")"
  record pull_cpu "$s" "$(calc "($c1 - $c0) / ($image_bytes / 1e9)")"
}
bench_pullers() {
  local s=$1 c0 c1 t0 t1 i bytes=0 size pids=()
  c0=$(cpu "${pid[$s]}") t0=$(now)
  for i in $(seq 0 49); do
    curl -sSf -o /dev/null "${base[$s]}/v2/curl/big/blobs/${layers[i % 8]}" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  t1=$(now) c1=$(cpu "${pid[$s]}")
  for i in $(seq 0 49); do
    size=$(stat -c %s "$(blob_file "${layers[i % 8]}")")
    bytes=$((bytes + size))
  done
  record pullers_mbs "$s" "$(calc "$bytes / 1e6 / ($t1 - $t0)")"
  record pullers_cpu "$s" "$(calc "($c1 - $c0) / ($bytes / 1e9)")"
}
bench_skopeo() {
  local s=$1 t0 t1 reg=${base[$1]#http://}
  t0=$(now)
  skopeo copy -q --dest-tls-verify=false "oci:$image:1" "docker://$reg/skopeo/big:1" > /dev/null
  t1=$(now)
  record skopeo_push_s "$s" "$(calc "$t1 - $t0")"
  rm -rf "$work/pull.oci"; sync
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$reg/skopeo/big:1" "oci:$work/pull.oci:1" > /dev/null
  t1=$(now)
  record skopeo_pull_s "$s" "$(calc "$t1 - $t0")"
  rm -rf "$work/pull.oci"
}

# ---- GC of 10,000 manifests ----------------------------------------------------------------
gc_count=10000
gc_dir=$work/gc
# 10,000 distinct manifests over one config and 100 small layers, and the curl config files
# that PUT them by tag, DELETE the tags, DELETE them by digest (one keep-alive curl each).
make_gc_content() {
  rm -rf "$gc_dir" && mkdir -p "$gc_dir/m"
  python3 - "$gc_dir" "$gc_count" <<'PY'
import hashlib, json, os, sys
root, count = sys.argv[1], int(sys.argv[2])
def digest(b): return "sha256:" + hashlib.sha256(b).hexdigest()
os.makedirs(os.path.join(root, "b"))
def blob(name, data):
    with open(os.path.join(root, "b", name), "wb") as f: f.write(data)
    return {"digest": digest(data), "size": len(data), "file": os.path.join(root, "b", name)}
config = blob("config", b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
layers = [blob("l%d" % i, os.urandom(4096)) for i in range(100)]
with open(os.path.join(root, "blobs"), "w") as f:
    for b in [config] + layers: f.write("%s %s\n" % (b["file"], b["digest"]))
digests = []
for i in range(count):
    l = layers[i % 100]
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config["digest"], "size": config["size"]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": l["digest"], "size": l["size"]}],
        "annotations": {"bench.n": str(i)}}).encode()
    with open(os.path.join(root, "m", "%d.json" % i), "wb") as f: f.write(m)
    digests.append(digest(m))
with open(os.path.join(root, "digests"), "w") as f: f.write("\n".join(digests) + "\n")
keep = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": config["digest"], "size": config["size"]},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layers[0]["digest"], "size": layers[0]["size"]}],
    "annotations": {"bench.keep": "yes"}}).encode()
with open(os.path.join(root, "keep.json"), "wb") as f: f.write(keep)
with open(os.path.join(root, "config-live"), "wb") as f:
    f.write(open(config["file"], "rb").read())
with open(os.path.join(root, "config-digest"), "w") as f: f.write(config["digest"])
PY
}
# A curl config (-K) for the 10,000 requests against base $1: put (by tag) | untag (DELETE
# the tags) | put-untagged (by digest).
gc_requests() { # base kind
  local b=$1 kind=$2
  python3 - "$gc_dir" "$gc_count" "$b" "$kind" <<'PY'
import os, sys
root, count, base, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
digests = open(os.path.join(root, "digests")).read().split()
out = []
if kind.startswith("put"):
    out.append('header = "Content-Type: application/vnd.oci.image.manifest.v1+json"')
    out.append('header = "Expect:"')
else:
    out.append('request = "DELETE"')
for i in range(count):
    ref = "t%d" % i if kind in ("put", "untag") else digests[i]
    out.append('url = "%s/v2/gc/many/manifests/%s"' % (base, ref))
    out.append('output = "/dev/null"')
    if kind.startswith("put"):
        out.append('upload-file = "%s"' % os.path.join(root, "m", "%d.json" % i))
print("\n".join(out))
PY
}
# Runs a request file; fails unless every answer is $2.
run_requests() { # file status
  local bad
  bad=$(curl -sS -K "$1" -w '%{http_code}\n' | grep -cv "^$2\$" || true)
  [ "$bad" = 0 ] || { echo "$bad requests of $1 not answered $2" >&2; exit 1; }
}
fill_gc() { # server: the 10,000 manifests pushed and made garbage
  local s=$1 file digest
  while read -r file digest; do push_blob "$s" gc/many "$file" "$digest" > /dev/null; done < "$gc_dir/blobs"
  # One tagged manifest stays (distribution's --delete-untagged fails on a repository
  # without tags).
  put_manifest "$s" gc/many keep "$gc_dir/keep.json" > /dev/null
  if [ "$s" = strata ]; then
    gc_requests "${base[$s]}" put > "$gc_dir/put.$s"
    run_requests "$gc_dir/put.$s" 201
    gc_requests "${base[$s]}" untag > "$gc_dir/untag.$s"
    run_requests "$gc_dir/untag.$s" 202
  else
    # distribution cannot delete a tag, and its manifest DELETE walks every tag of the
    # repository (10,000 of them took over 10 minutes): the manifests go in untagged.
    gc_requests "${base[$s]}" put-untagged > "$gc_dir/put.$s"
    run_requests "$gc_dir/put.$s" 201
  fi
}
# Pushes small images into gc/live until $2 exists, one latency (ms) per line into $3.
pusher() { # server stopfile out
  local s=$1 n=0 f=$gc_dir/live-layer m=$gc_dir/live-manifest d t1 t2 t3 cfg
  cfg=$(cat "$gc_dir/config-digest")
  push_blob "$s" gc/live "$gc_dir/config-live" "$cfg" > /dev/null
  while [ ! -e "$2" ]; do
    n=$((n + 1))
    head -c 4096 /dev/urandom > "$f"
    d=sha256:$(sha256sum "$f" | cut -d' ' -f1)
    t0=$(now)
    t1=$(push_blob "$s" gc/live "$f" "$d")
    printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":4096}]}' \
      "$OCI_MANIFEST" "$cfg" "$(stat -c %s "$gc_dir/config-live")" "$d" > "$m"
    t2=$(put_manifest "$s" gc/live "p$n" "$m")
    echo "$(calc "($t1 + $t2) * 1000") $t0 blob=$t1 manifest=$t2" >> "$3"
  done
}
percentile() { # p: of the numbers on stdin
  sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; printf "%.1f", a[i]}'
}
bench_gc_strata() {
  local s=strata t0 t1 stop=$gc_dir/stop lat=$gc_dir/latency before after
  fill_gc $s
  sync # the earlier figures' writes reach the disk before, not during, the GC
  rm -f "$stop" "$lat" && touch "$lat"
  pusher $s "$stop" "$lat" &
  pusher_pid=$!
  sleep 1
  before=$(grep -c . "$lat" || true)
  t0=$(now)
  "$strata" registry gc --config "${data[$s]}/config.toml" --data "${data[$s]}/data" \
    > "$gc_dir/gc.out" 2> "$gc_dir/gc.log"
  t1=$(now)
  after=$(grep -c . "$lat" || true)
  touch "$stop"; wait "$pusher_pid"; pusher_pid=
  grep -q "removed $gc_count untagged manifests" "$gc_dir/gc.out" \
    || { echo "strata gc did not remove $gc_count manifests: $(tail -n1 "$gc_dir/gc.out")" >&2; exit 1; }
  record gc_s $s "$(calc "$t1 - $t0")"
  grep . "$lat" | sed -n "1,${before}p" | cut -d' ' -f1 > "$gc_dir/before"
  record gc_base_max $s "$(percentile 100 < "$gc_dir/before")"
  # Kept for a look at the slow ones: latency (ms), start time, the blob's and manifest's parts.
  echo "gc from $t0 to $t1" > "$results/gc_latencies.$run"
  grep . "$lat" >> "$results/gc_latencies.$run"
  grep . "$lat" | sed -n "$((before + 1)),${after}p" | cut -d' ' -f1 > "$gc_dir/during"
  record gc_pushes $s "$(grep -c . "$gc_dir/during")"
  record gc_p99 $s "$(percentile 99 < "$gc_dir/during")"
  record gc_max $s "$(percentile 100 < "$gc_dir/during")"
}
bench_gc_distribution() {
  local s=distribution t0 t1
  fill_gc $s
  t0=$(now)
  docker-registry garbage-collect --delete-untagged "${data[$s]}/config.yml" > "$gc_dir/gc.out" 2>&1 \
    || { echo "registry garbage-collect failed: $(tail -n3 "$gc_dir/gc.out")" >&2; exit 1; }
  t1=$(now)
  record gc_s $s "$(calc "$t1 - $t0")"
}

# ---- the runs --------------------------------------------------------------------------------
make_image
echo "preparing 10,000 manifests (not timed)..." >&2
make_gc_content
for run in $(seq "$runs"); do
  echo "run $run of $runs..." >&2
  start_strata
  start_distribution
  if wanted io; then
    for s in strata distribution; do bench_push $s; done
    for s in strata distribution; do bench_pull $s; done
    for s in strata distribution; do bench_pullers $s; done
    for s in strata distribution; do bench_skopeo $s; done
  fi
  if wanted gc; then
    bench_gc_strata
    sync
    bench_gc_distribution
  fi
  stop_servers
done

# ---- the report ------------------------------------------------------------------------------
fig() { if [ -f "$results/$1.$2" ]; then median < "$results/$1.$2"; else echo -; fi; }
row() { # label figure better(lower|higher) target
  local a b r
  [ -f "$results/$2.strata" ] || return 0
  a=$(fig "$2" strata) b=$(fig "$2" distribution)
  if [ "$3" = lower ]; then r=$(calc "$b / $a"); else r=$(calc "$a / $b"); fi
  printf '%-34s %12s %12s %9sx  %s\n' "$1" "$a" "$b" "$(printf '%.2f' "$r")" "$4"
}
printf '\nregistry figures, median of %s runs; distribution %s, skopeo %s, %s cores\n' "$runs" \
  "$(docker-registry --version | awk '{print $3}')" "$(skopeo --version | awk '{print $3}')" "$(nproc)"
printf '%-34s %12s %12s %10s  %s\n' figure strata distrib. advantage target
row "push 1 GB, curl (s)" push_s lower ""
row "push CPU-s per GB" push_cpu lower ">= 2x (strata <= half)"
row "pull 1 GB, curl (s)" pull_s lower ""
row "pull CPU-s per GB" pull_cpu lower ">= 2x (strata <= half)"
row "50 pullers aggregate (MB/s)" pullers_mbs higher ">= 1.5x"
row "50 pullers CPU-s per GB" pullers_cpu lower ""
row "skopeo copy push 1 GB (s)" skopeo_push_s lower ""
row "skopeo copy pull 1 GB (s)" skopeo_pull_s lower ""
printf '%-34s %12s %12s %10s  %s\n' "GC of $gc_count manifests (s)" "$(fig gc_s strata)" \
  "$(fig gc_s distribution)" "" "strata online; distribution offline (no pushes)"
printf '%-34s %12s %12s %10s  %s\n' "pushes during strata GC" "$(fig gc_pushes strata)" "-" "" ""
printf '%-34s %12s %12s %10s  %s\n' "  push latency p99 (ms)" "$(fig gc_p99 strata)" "-" "" ""
printf '%-34s %12s %12s %10s  %s\n' "  push latency max (ms)" "$(fig gc_max strata)" "-" "" "<= 100 ms"
printf '%-34s %12s %12s %10s  %s\n' "  (max in the 1 s before GC)" "$(fig gc_base_max strata)" "-" "" ""
echo "command: bench/registry.sh $runs"
