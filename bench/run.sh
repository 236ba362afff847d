#!/usr/bin/env bash
# Benchmark of `strata run --rm IMAGE true` on a warm store against `podman run --rm` of the
# same image (loaded into podman from `strata save`), in one run: default network (strata's
# private network through slirp4netns, podman's default) and `--network none` for both.
# podman gets explicit `--ulimit nofile/nproc`: its defaults (and `--ulimit host`) fail with
# "error setting rlimit … operation not permitted" in sandboxes like this one (strata caps its
# RLIMIT_NOFILE at its own hard limit); the values do not change the timing.
# Target: strata under 150 ms and faster than podman. Prints the medians side by side.
# Usage: bench/run.sh [RUNS]   (default 30; as root: runc, overlay mounts, cgroups)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
work=$PWD/target/bench/run
strata=$PWD/target/release/strata
[ "$(id -u)" = 0 ] || { echo "bench/run.sh runs as root" >&2; exit 1; }
command -v hyperfine > /dev/null || apt-get install -y -qq hyperfine > /dev/null
for tool in hyperfine podman runc slirp4netns; do
  command -v "$tool" > /dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done
cargo build --release -q -p strata
rm -rf "$work" && mkdir -p "$work"
root=$work/root
image=strata-bench-run:1
bash scripts/busybox-rootfs.sh "$work/rootfs.tar.gz" > /dev/null
"$strata" --root "$root" import "$work/rootfs.tar.gz" "$image" > /dev/null
"$strata" --root "$root" save -o "$work/image.tar" "$image"
# podman names it as docker does (docker.io/library/NAME:TAG): take the name it reports.
pimage=$(podman load -q -i "$work/image.tar" | sed -n 's/^Loaded image: *//p' | tail -1)
pulimits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
# Warm both: snapshots unpacked, podman's storage prepared.
"$strata" --root "$root" run --rm "$image" true
podman run --rm $pulimits "$pimage" true

median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.1f" % (x["median"]*1000) for x in r))' "$1"; }

hyperfine -N -w 3 -r "$runs" --export-json "$work/default.json" \
  -n strata "$strata --root $root run --rm $image true" \
  -n podman "podman run --rm $pulimits $pimage true"
hyperfine -N -w 3 -r "$runs" --export-json "$work/none.json" \
  -n strata "$strata --root $root run --rm --network none $image true" \
  -n podman "podman run --rm $pulimits --network none $pimage true"
read -r s_def p_def <<< "$(median "$work/default.json")"
read -r s_none p_none <<< "$(median "$work/none.json")"
podman rmi -f "$pimage" > /dev/null || true
echo
printf '%-34s %10s %10s\n' "median (ms)" strata podman
printf '%-34s %10s %10s\n' "run --rm IMAGE true" "$s_def" "$p_def"
printf '%-34s %10s %10s\n' "run --rm --network none IMAGE true" "$s_none" "$p_none"
