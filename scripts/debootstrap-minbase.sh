#!/usr/bin/env bash
# Makes (once; cached) `debootstrap --variant=minbase SUITE` from Debian's archive as a tarball,
# the reference `strata base build examples/base/slim.toml` is compared with (tests/base.rs).
# Usage: scripts/debootstrap-minbase.sh OUT.tar [SUITE] [MIRROR]
set -euo pipefail
out=${1:?usage: debootstrap-minbase.sh OUT.tar [SUITE] [MIRROR]}
suite=${2:-bookworm}
mirror=${3:-http://deb.debian.org/debian}
[ -s "$out" ] && exit 0
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
mkdir -p "$(dirname "$out")"
dir=$(mktemp -d "$(dirname "$out")/debootstrap-minbase.XXXXXX")
cleanup() { rm -rf "$dir"; }
trap cleanup EXIT
debootstrap --variant=minbase "$suite" "$dir" "$mirror" >&2
tar --numeric-owner --xattrs -C "$dir" -cf "$out.tmp" .
mv "$out.tmp" "$out"
