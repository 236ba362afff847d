#!/usr/bin/env bash
# Makes (once; cached) a Debian 12 minbase root filesystem tarball with debootstrap, from
# Debian's archive: the "debian-like base" of the benchmarks.
# Usage: scripts/debian-rootfs.sh OUT.tar.gz
set -euo pipefail
out=${1:?usage: debian-rootfs.sh OUT.tar.gz}
[ -s "$out" ] && exit 0
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
dir=$(mktemp -d "${out%/*}/debian-rootfs.XXXXXX")
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >&2
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar --numeric-owner -C "$dir" -czf "$out.tmp" .
mv "$out.tmp" "$out"
