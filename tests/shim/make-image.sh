#!/usr/bin/env bash
# make-image.sh OUT.tar NAME: a docker-archive image (what `docker save` writes and
# `ctr image import` reads) of the busybox rootfs from scripts/make-rootfs.sh, built
# at test time so that no image is downloaded or committed.
set -euo pipefail
out=${1:?usage: make-image.sh OUT.tar NAME}
name=${2:?usage: make-image.sh OUT.tar NAME}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/../../scripts/make-rootfs.sh" "$work/rootfs"
mkdir "$work/image"
# Reproducible: fixed owner and times, sorted entries.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" \
  -cf "$work/image/layer.tar" .
diff_id=$(sha256sum "$work/image/layer.tar" | cut -d' ' -f1)
cat >"$work/image/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"berth tests/shim/make-image.sh"}]}
JSON
printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' "$name" \
  >"$work/image/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/image" \
  -cf "$out" manifest.json config.json layer.tar
