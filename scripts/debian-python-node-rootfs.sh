#!/usr/bin/env bash
# Makes (once; cached) the "clean Debian image with Python and Node packages" of the check
# tests: Debian 12 minbase from Debian's archive with python3, pip and nodejs/npm from Debian,
# a few packages from PyPI (pip, system-wide) and an npm project under /app (from npm's
# registry). Used by the secrets false-positive test and the SBOM test.
# Usage: scripts/debian-python-node-rootfs.sh OUT.tar.gz
set -euo pipefail
out=${1:?usage: debian-python-node-rootfs.sh OUT.tar.gz}
[ -s "$out" ] && exit 0
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
mkdir -p "$(dirname "$out")"
dir=$(mktemp -d "$(dirname "$out")/debian-python-node.XXXXXX")
cleanup() {
  umount "$dir/proc" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
# nodejs and npm through apt inside: debootstrap's --include does not resolve npm's
# dependencies (virtual packages), and leaves it unconfigured.
debootstrap --variant=minbase --include=python3,python3-pip,python3-yaml,ca-certificates \
  bookworm "$dir" http://deb.debian.org/debian >&2
cp /etc/resolv.conf "$dir/etc/resolv.conf"
mount -t proc proc "$dir/proc"
chroot "$dir" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm' >&2
# The host's CA bundle for pip and npm (it may trust a proxy Debian's bundle does not);
# removed before packing.
cp /etc/ssl/certs/ca-certificates.crt "$dir/tmp/host-ca.crt"
export PIP_CERT=/tmp/host-ca.crt REQUESTS_CA_BUNDLE=/tmp/host-ca.crt SSL_CERT_FILE=/tmp/host-ca.crt \
  NODE_EXTRA_CA_CERTS=/tmp/host-ca.crt npm_config_cafile=/tmp/host-ca.crt
chroot "$dir" pip install --quiet --break-system-packages --no-cache-dir requests==2.32.3 six==1.16.0 >&2
mkdir -p "$dir/app"
cat > "$dir/app/package.json" <<'JSON'
{ "name": "fixture-app", "version": "1.0.0", "private": true,
  "dependencies": { "ms": "2.1.3", "debug": "4.3.7", "left-pad": "1.3.0" } }
JSON
chroot "$dir" sh -c 'cd /app && npm install --no-audit --no-fund --cache /tmp/npm-cache >/dev/null' >&2
umount "$dir/proc"
rm -rf "$dir"/tmp/host-ca.crt "$dir"/tmp/npm-cache "$dir"/root/.npm "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
: > "$dir/etc/resolv.conf"
tar --numeric-owner -C "$dir" -czf "$out.tmp" .
mv "$out.tmp" "$out"
