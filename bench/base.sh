#!/usr/bin/env bash
# Benchmark of `strata base build` beside debootstrap, in one run:
#  slim  : `strata base build examples/base/slim.toml` vs `debootstrap --variant=minbase`
#          + `strata import` of the tree;
#  debug : `strata base build examples/base/debug.toml` vs the same debootstrap + `apt-get
#          install --no-install-recommends` of debug.toml's packages in a chroot + `strata import`.
# Both fetch through the same loopback apt-cacher-ng (Debian's caching proxy, warmed by one run
# of each tool first), named to both as the mirror (`--mirror` for strata, debootstrap's MIRROR
# argument, which the chroot's apt then uses too), so the figures measure the tools, not the
# network. strata is timed cold (a new store: empty .deb cache) and warm (the same store
# again: cached .debs, nothing changed). Also prints the image sizes (slim vs debootstrap's
# minbase). Prints the median of RUNS for each figure.
# Targets (issue 13): cold ≥ 2× faster than debootstrap; warm under 0.5 s; slim no larger than
# debootstrap's minbase.
# Usage: bench/base.sh [RUNS]   (default 3; as root: debootstrap and run-scripts need it)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench/base.sh: run as root (debootstrap, maintainer scripts)" >&2; exit 1; }
for tool in debootstrap python3 apt-cacher-ng; do
  command -v "$tool" > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" > /dev/null
done
work=$PWD/target/bench/base
strata=$PWD/target/release/strata
cargo build --release -q -p strata
mkdir -p "$work/acng/cache" "$work/acng/log"

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
now() { date +%s.%N; }
# apt-cacher-ng 3.7 refuses ports above 32767 ("Error resolving address for binding").
port=$(python3 -c 'import socket,random
for _ in range(100):
    p = random.randint(20000, 32000); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()')
apt-cacher-ng -c /etc/apt-cacher-ng ForeGround=1 Port="$port" BindAddress=127.0.0.1 \
  CacheDir="$work/acng/cache" LogDir="$work/acng/log" PidFile="$work/acng/pid" \
  SocketPath="$work/acng/sock" > "$work/acng/out" 2>&1 &
acng=$!
cleanup() {
  kill "$acng" 2> /dev/null || true
  for d in "$work"/deboot-*; do [ -d "$d" ] && { umount -R "$d/proc" 2> /dev/null || true; rm -rf "$d"; }; done
  rm -rf "$work"/roots
}
trap cleanup EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/acng-report.html" && break; sleep 0.1; done
suite=bookworm
mirror=http://127.0.0.1:$port/deb.debian.org/debian
debug_pkgs=$(python3 -c 'import tomllib,sys; c=tomllib.load(open("examples/base/debug.toml","rb")); print(" ".join(c["packages"]))')

strata_build() { # ROOT FILE TAG
  "$strata" --root "$1" base build "$2" --mirror "$mirror" -t "$3" > /dev/null 2> "$work/strata.log" \
    || { cat "$work/strata.log" >&2; exit 1; }
}
deboot_build() { # NAME [PACKAGES...]
  local name=$1; shift
  local dir=$work/deboot-$name root=$work/roots/deboot-$name
  rm -rf "$dir"
  debootstrap --variant=minbase "$suite" "$dir" "$mirror" > "$work/deboot.log" 2>&1 \
    || { tail "$work/deboot.log" >&2; exit 1; }
  if [ $# -gt 0 ]; then
    mount -t proc proc "$dir/proc"
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive \
      sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $*" > "$work/deboot.log" 2>&1 \
      || { umount "$dir/proc"; tail "$work/deboot.log" >&2; exit 1; }
    umount "$dir/proc"
    chroot "$dir" apt-get clean
    rm -rf "$dir"/var/lib/apt/lists/*
  fi
  tar -C "$dir" -cf "$work/deboot.tar" .
  "$strata" --root "$root" import "$work/deboot.tar" "bench/deboot-$name" > /dev/null
  rm -rf "$dir" "$work/deboot.tar"
}
image_size() { # ROOT TAG → bytes of the layers as stored
  "$strata" --root "$1" inspect "$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d["Size"])'
}

echo "warming the apt-cacher-ng cache (one run of each tool)…" >&2
mkdir -p "$work/roots"
strata_build "$work/roots/warm" examples/base/debug.toml bench/debug
strata_build "$work/roots/warm" examples/base/slim.toml bench/slim
deboot_build debug $debug_pkgs
rm -rf "$work/roots"

declare -A t
for i in $(seq "$runs"); do
  for img in slim debug; do
    root=$work/roots/strata-$img-$i
    s=$(now); strata_build "$root" "examples/base/$img.toml" "bench/$img"; e=$(now)
    t[strata-cold-$img]+="$(calc "$e - $s") "
    s=$(now); strata_build "$root" "examples/base/$img.toml" "bench/$img"; e=$(now)
    t[strata-warm-$img]+="$(calc "$e - $s") "
    [ "$i" = 1 ] && size_strata_slim=$(image_size "$work/roots/strata-slim-1" bench/slim)
    if [ "$img" = slim ]; then pkgs=""; else pkgs=$debug_pkgs; fi
    s=$(now); deboot_build "$img-$i" $pkgs; e=$(now)
    t[deboot-$img]+="$(calc "$e - $s") "
  done
  [ "$i" = 1 ] && size_deboot_slim=$(image_size "$work/roots/deboot-slim-1" bench/deboot-slim-1)
  rm -rf "$work"/roots/*
done

med() { echo "${t[$1]}" | tr ' ' '\n' | grep . | median; }
printf '%-8s %-34s %10s\n' image figure seconds
for img in slim debug; do
  printf '%-8s %-34s %10s\n' "$img" "debootstrap minbase (+ apt) + import" "$(med deboot-$img)"
  printf '%-8s %-34s %10s\n' "$img" "strata base build, cold" "$(med strata-cold-$img)"
  printf '%-8s %-34s %10s\n' "$img" "strata base build, warm" "$(med strata-warm-$img)"
  printf '%-8s %-34s %9sx\n' "$img" "cold speed-up over debootstrap" "$(calc "$(med deboot-$img) / $(med strata-cold-$img)")"
done
printf 'slim image size: strata %s bytes, debootstrap minbase %s bytes\n' "$size_strata_slim" "$size_deboot_slim"
