#!/usr/bin/env bash
# make-rootfs.sh DIR: a minimal busybox root filesystem in DIR, from Debian's
# busybox-static (nothing binary is committed to the repository).
set -euo pipefail
dir=${1:?usage: make-rootfs.sh DIR}
bb=/bin/busybox
case "$(ldd "$bb" 2>&1)" in *"not a dynamic executable"*) ;; *) echo "$bb is not static: install busybox-static" >&2; exit 1 ;; esac
mkdir -p "$dir"/{bin,dev,proc,sys,etc,tmp,root}
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dir/etc/passwd"
printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' >"$dir/etc/group"
chmod 1777 "$dir/tmp"
