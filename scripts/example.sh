#!/usr/bin/env bash
# The main job: build strata, make a base image from Debian's busybox-static, and build the
# example application image on it with strata, then show the result. No registry is used.
set -euo pipefail
cd "$(dirname "$0")/.."
if { ! command -v busybox >/dev/null && [ ! -x /bin/busybox ]; } || ! command -v runc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static runc
fi
cargo build --release -q -p strata
strata=target/release/strata
export STRATA_ROOT=${STRATA_ROOT:-$PWD/target/example-root}
scripts/busybox-rootfs.sh target/busybox-rootfs.tar.gz
$strata import target/busybox-rootfs.tar.gz strata-example/busybox:1 --change 'CMD ["/bin/sh"]' >/dev/null
$strata build --progress=plain -t strata-example/hello:1.0.0 examples/hello
$strata images
$strata build -q --output type=local,dest=target/example-rootfs examples/hello >/dev/null
echo "--- /app in the built image:"
ls -l target/example-rootfs/app
