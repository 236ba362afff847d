#!/usr/bin/env bash
# Makes a tiny root filesystem tarball from Debian's busybox-static package: the base image of
# the examples, the tests and the benchmark (no registry is reachable here).
# Usage: scripts/busybox-rootfs.sh OUT.tar.gz
set -euo pipefail
out=${1:?usage: busybox-rootfs.sh OUT.tar.gz}
bb=$(command -v busybox || true)
[ -x /bin/busybox ] && bb=/bin/busybox
if [ -z "$bb" ]; then
  echo "busybox not found: apt-get install busybox-static" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,etc,tmp,root,var,run,usr/bin,usr/sbin,sbin,home/app}
cp "$bb" "$dir/bin/busybox"
for tool in $("$bb" --list); do
  [ "$tool" = busybox ] || ln -sf busybox "$dir/bin/$tool"
done
ln -s ../run "$dir/var/run"
chmod 1777 "$dir/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' > "$dir/etc/group"
chown 1000:1000 "$dir/home/app" 2>/dev/null || true
tar --sort=name --mtime=@0 --numeric-owner -C "$dir" -czf "$out" .
