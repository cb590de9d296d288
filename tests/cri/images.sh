#!/usr/bin/env bash
# images.sh: the images critest v1.37.0 pulls, under their real names, built offline from
# Debian's packages (busybox-static, nginx-light, gcc) with umoci and served by a local
# docker-registry that containerd mirrors registry.k8s.io, gcr.io and k8s.gcr.io to.
#
#   images.sh build CACHE_DIR               OCI layout CACHE_DIR/oci (cached by a stamp)
#   images.sh push CACHE_DIR HOST:PORT      every image to HOST:PORT/<name without its host>
#   images.sh list                          every image's full name, one a line
#   images.sh registry-start DIR ADDR       docker-registry on ADDR, storage and log in DIR
#   images.sh registry-stop DIR
#
# Not built: test-image-digest@sha256:9700f9... pins upstream's bytes; critest's "public image with digest" test must be skipped.
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"
rootfs_script="$here/../../scripts/make-rootfs.sh"
epoch=1970-01-01T00:00:00Z
path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
e2e=registry.k8s.io/e2e-test-images
cri=gcr.io/k8s-staging-cri-tools

# "LAYOUT-TAG NAME": the tag an image has in CACHE_DIR/oci and a name it is served under.
# Images with several names are one image (critest checks that they share an ID).
images=(
  "busybox $e2e/busybox:1.29-2"
  "nginx $e2e/nginx:1.14-2"
  "httpd $e2e/httpd:2.4.39-4"
  "nonewprivs $e2e/nonewprivs:1.3"
  "hostnet-nginx $cri/hostnet-nginx-amd64:latest"
  "pause-3.9 registry.k8s.io/pause:3.9"
  "pause-3.9 k8s.gcr.io/pause:3.9"
  "pause-3.10 registry.k8s.io/pause:3.10"
  "test-image-user-uid $cri/test-image-user-uid:latest"
  "test-image-user-username $cri/test-image-user-username:latest"
  "test-image-user-uid-group $cri/test-image-user-uid-group:latest"
  "test-image-user-username-group $cri/test-image-user-username-group:latest"
  "test-image-predefined-group $cri/test-image-predefined-group:latest"
  "test-image-1 $cri/test-image-1:latest"
  "test-image-2 $cri/test-image-2:latest"
  "test-image-3 $cri/test-image-3:latest"
  "test-image-latest $cri/test-image-latest:latest"
  "test-image-tags $cri/test-image-tags:1"
  "test-image-tags $cri/test-image-tags:2"
  "test-image-tags $cri/test-image-tags:3"
  "test-image-tag-test $cri/test-image-tag:test"
  "test-image-tag-all $cri/test-image-tag:all"
)

die() {
  echo "images.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '/^#   images.sh/s/^#   //p' "$self" >&2
  exit 2
}

# Everything a build reads: a change to any of them makes the cached layout stale.
stamp_of() {
  sha256sum "$self" "$here/pause.c" "$rootfs_script" /bin/busybox /usr/sbin/nginx \
    /etc/nginx/mime.types | sha256sum | cut -d' ' -f1
}

# umoci records each file's mtime, mode and owner as it finds them on disk.
fix_times() {
  find "$@" -exec touch -h -d @0 {} +
}

# layer TAG SRC TARGET WHAT: one new layer in TAG holding SRC at TARGET.
layer() {
  umoci insert --image "$oci:$1" --history.created "$epoch" \
    --history.created_by "tests/cri/images.sh: $4" "$2" "$3"
}

# conf TAG UMOCI-CONFIG-FLAGS...: change TAG's config in place, no history entry (like
# Dockerfile's USER or CMD, which add no layer).
conf() {
  local tag=$1
  shift
  umoci config --image "$oci:$tag" --no-history "$@"
}

# derive FROM TO: TO starts as the same image as FROM.
derive() {
  umoci tag --image "$oci:$1" "$2"
}

write_busybox_etc() {
  # The e2e busybox image's accounts (buildroot's skeleton): critest's RunAsUserName
  # test runs as nobody, and the user images name www-data (uid 33).
  cat >"$1/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
  cat >"$1/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
EOF
}

# Debian's busybox has no pgrep or ipcs; critest runs `sh -c "pgrep sleep || true"`
# (and wants empty stderr) and `ipcs -m`, so the rootfs gets small shell versions.
write_busybox_tools() {
  cat >"$1/bin/pgrep" <<'EOF'
#!/bin/sh
# pgrep PATTERN: the pids whose process name matches the extended regular expression PATTERN.
[ $# -eq 1 ] || { echo "usage: pgrep PATTERN" >&2; exit 2; }
procs=
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ "$pid" = "$$" ] && continue
  { read -r comm <"$dir/comm"; } 2>/dev/null || continue
  procs="$procs$pid $comm
"
done
printf '%s' "$procs" |
  awk -v re="$1" '{ pid = $1; sub(/^[0-9]+ /, "") }
    $0 ~ re { print pid; n++ }
    END { exit n ? 0 : 1 }'
EOF
  cat >"$1/bin/ipcs" <<'EOF'
#!/bin/sh
# ipcs [-m]: the System V shared memory segments of this IPC namespace.
case "${1:--m}" in -m | -a) ;; *) echo "usage: ipcs [-m]" >&2; exit 2 ;; esac
printf '\n------ Shared Memory Segments --------\n'
printf '%-10s %-10s %-10s %-10s %-10s %-10s %s\n' key shmid owner perms bytes nattch status
{
  read -r _
  while read -r key shmid perms bytes _ _ nattch uid _; do
    [ "$key" -lt 0 ] && key=$((key + 4294967296))
    printf '0x%08x %-10s %-10s %-10s %-10s %-10s\n' \
      "$key" "$shmid" "$uid" "$perms" "$bytes" "$nattch"
  done
} </proc/sysvipc/shm
EOF
  chmod 755 "$1/bin/pgrep" "$1/bin/ipcs"
}

busybox_rootfs() {
  "$rootfs_script" "$1"
  # The applets as hard links, as in the upstream busybox image: critest masks /bin/ls
  # (MaskedPaths), and masking a symlink would mask busybox itself.
  local applet
  for applet in "$1"/bin/*; do
    if [ -L "$applet" ]; then ln -f "$1/bin/busybox" "$applet"; fi
  done
  mkdir -p "$1"/{home,usr/sbin,var/spool/mail,var/www}
  write_busybox_etc "$1"
  write_busybox_tools "$1"
}

# nginx_files DIR: Debian's nginx with the shared libraries ldd finds, to lay over the
# busybox rootfs (critest execs sh, cat and pidof in the nginx container).
nginx_files() {
  local dir=$1 lib
  mkdir -p "$dir"/{usr/sbin,etc/nginx/conf.d,usr/share/nginx/html,var/lib/nginx,var/log/nginx,run}
  cp /usr/sbin/nginx "$dir/usr/sbin/nginx"
  for lib in $(ldd /usr/sbin/nginx | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
      $1 ~ /^\// { print $1 }'); do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
  ln -s ../run "$dir/var/run"
  # nginx chowns its temp dirs to the worker user at start unless they already are its:
  # made here, the image runs without CAP_CHOWN too.
  mkdir -m 700 "$dir"/var/lib/nginx/{body,fastcgi,proxy,scgi,uwsgi}
  chown 65534:65534 "$dir"/var/lib/nginx/{body,fastcgi,proxy,scgi,uwsgi}
  cp /etc/nginx/mime.types "$dir/etc/nginx/mime.types"
  printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' \
    >"$dir/etc/nsswitch.conf"
  # As in nginx's image: the pid file at /var/run/nginx.pid (critest's HostPID test reads
  # it), a master process (its ContainerPID test looks for "master process" in
  # /proc/1/cmdline), workers as nobody, so no www-data is needed.
  cat >"$dir/etc/nginx/nginx.conf" <<'EOF'
user nobody nobody;
worker_processes 1;
error_log stderr warn;
pid /var/run/nginx.pid;

events {
  worker_connections 1024;
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_timeout 65;
  include /etc/nginx/conf.d/*.conf;
}
EOF
  nginx_site 80 >"$dir/etc/nginx/conf.d/default.conf"
  cat >"$dir/usr/share/nginx/html/index.html" <<'EOF'
<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and working.</p>
</body>
</html>
EOF
  cat >"$dir/usr/share/nginx/html/50x.html" <<'EOF'
<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
</body>
</html>
EOF
}

nginx_site() {
  cat <<EOF
server {
  listen $1;
  server_name localhost;

  location / {
    root /usr/share/nginx/html;
    index index.html index.htm;
  }

  error_page 500 502 503 504 /50x.html;
  location = /50x.html {
    root /usr/share/nginx/html;
  }
}
EOF
}

# Busybox's httpd stands in for Apache's; it logs nothing until a request comes, and
# critest's multi-container test looks for "httpd" in the container's log.
httpd_files() {
  mkdir -p "$1/usr/local/apache2/htdocs" "$1/usr/local/bin"
  printf '%s\n' '<html><body><h1>It works!</h1></body></html>' \
    >"$1/usr/local/apache2/htdocs/index.html"
  cat >"$1/usr/local/bin/httpd-foreground" <<'EOF'
#!/bin/sh
echo "httpd: busybox httpd serving /usr/local/apache2/htdocs on port 80" >&2
httpd -f -v -p 80 -h /usr/local/apache2/htdocs &
pid=$!
trap 'kill "$pid"; wait "$pid"; exit 0' INT TERM
wait "$pid"
EOF
  chmod 755 "$1/usr/local/bin/httpd-foreground"
}

compile_nnp() {
  # Kubernetes' test/images/nonewprivs: a setuid-root program that prints its euid.
  gcc -static -O2 -s -o "$1" -x c - <<'EOF'
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
EOF
}

cmd_build() {
  local cache=$1 stamp work
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  stamp=$(stamp_of)
  if [ -f "$cache/oci/index.json" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  rm -f "$cache/stamp"
  work=$(mktemp -d "$cache/.build.XXXXXX")
  # shellcheck disable=SC2064 # expand $work now: it is local
  trap "rm -rf '$work'" EXIT
  oci=$work/oci

  local pids=() v
  for v in 3.9 3.10; do
    gcc -static -O2 -s -DPAUSE_VERSION="\"$v\"" -o "$work/pause-$v" "$here/pause.c" &
    pids+=($!)
  done
  compile_nnp "$work/nnp" &
  pids+=($!)

  umoci init --layout "$oci"

  local bb=$work/busybox
  busybox_rootfs "$bb"
  fix_times "$bb"
  umoci new --image "$oci:busybox"
  conf busybox --created "$epoch" --config.env "$path_env" --config.cmd sh
  layer busybox "$bb" / "busybox rootfs"

  # The cri-tools test images (cri-tools' images/build): busybox with a USER, or an
  # empty file named after the image at its root (`ADD $TEST $TEST`).
  local t
  for t in uid:1002 username:www-data uid-group:1003:1004 username-group:www-data:1004; do
    derive busybox "test-image-user-${t%%:*}"
    conf "test-image-user-${t%%:*}" --config.user "${t#*:}"
  done
  : >"$work/empty"
  fix_times "$work/empty"
  for t in test-image-1:test-image-1 test-image-2:test-image-2 test-image-3:test-image-3 \
    test-image-latest:test-image-latest test-image-tags:same-image \
    test-image-tag-test:test test-image-tag-all:all; do
    derive busybox "${t%%:*}"
    layer "${t%%:*}" "$work/empty" "/${t#*:}" "ADD ${t#*:}"
  done

  # images/image-predefined-group: `adduser -u 1000 -D default-user`, group
  # group-defined-in-image (50000) with default-user in it, USER 1000.
  local pg=$work/predefined-group
  mkdir -p "$pg/etc" "$pg/home/default-user"
  cp "$bb/etc/passwd" "$bb/etc/group" "$pg/etc/"
  echo 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh' >>"$pg/etc/passwd"
  printf '%s\n' 'default-user:x:1000:' 'group-defined-in-image:x:50000:default-user' \
    >>"$pg/etc/group"
  chown 1000:1000 "$pg/home/default-user"
  fix_times "$pg"
  derive busybox test-image-predefined-group
  layer test-image-predefined-group "$pg" / "adduser default-user; addgroup group-defined-in-image"
  conf test-image-predefined-group --config.user 1000

  local nx=$work/nginx
  nginx_files "$nx"
  fix_times "$nx"
  derive busybox nginx
  layer nginx "$nx" / "nginx-light 1.22 from Debian"
  conf nginx --config.cmd nginx --config.cmd=-g --config.cmd "daemon off;" \
    --config.exposedports 80/tcp --config.stopsignal SIGTERM

  # images/hostnet-nginx: nginx with default.conf listening on 12003.
  mkdir -p "$work/hostnet/conf.d"
  nginx_site 12003 >"$work/hostnet/conf.d/default.conf"
  fix_times "$work/hostnet"
  derive nginx hostnet-nginx
  layer hostnet-nginx "$work/hostnet/conf.d/default.conf" /etc/nginx/conf.d/default.conf \
    "COPY default.conf /etc/nginx/conf.d/default.conf"

  local hd=$work/httpd
  httpd_files "$hd"
  fix_times "$hd"
  derive busybox httpd
  layer httpd "$hd" / "httpd-foreground over busybox httpd"
  conf httpd --config.cmd httpd-foreground --config.workingdir /usr/local/apache2 \
    --config.env "PATH=/usr/local/apache2/bin:${path_env#PATH=}" --config.exposedports 80/tcp

  local pid
  for pid in "${pids[@]}"; do
    wait "$pid" || die "build: gcc failed"
  done

  mkdir -p "$work/nonewprivs/usr/local/bin"
  cp "$work/nnp" "$work/nonewprivs/usr/local/bin/nnp"
  chmod 4755 "$work/nonewprivs/usr/local/bin/nnp"
  fix_times "$work/nonewprivs"
  derive busybox nonewprivs
  layer nonewprivs "$work/nonewprivs" / "COPY nnp /usr/local/bin/nnp; chmod +s"
  # An ENTRYPOINT clears the base image's CMD.
  conf nonewprivs --clear config.cmd --config.entrypoint /usr/local/bin/nnp

  # Kubernetes' build/pause: FROM scratch, /pause, USER 65535:65535, ENTRYPOINT ["/pause"].
  # 3.9 and 3.10 are different images (containerd's sandbox image must not be one of
  # the two names critest's same-image-in-two-registries test removes).
  for v in 3.9 3.10; do
    fix_times "$work/pause-$v"
    umoci new --image "$oci:pause-$v"
    conf "pause-$v" --created "$epoch" --config.env "$path_env" --config.user 65535:65535 \
      --config.entrypoint /pause --config.workingdir /
    layer "pause-$v" "$work/pause-$v" /pause "ADD pause-$v /pause"
  done

  umoci gc --layout "$oci"
  rm -rf "$cache/oci"
  mv "$oci" "$cache/oci"
  echo "$stamp" >"$cache/stamp"
}

# The images' layout tags, each with the names (less their registry host) it is pushed as.
push_plan() {
  local entry tag name dest
  declare -A seen=()
  for entry in "${images[@]}"; do
    tag=${entry%% *}
    name=${entry#* }
    dest=${name#*/}
    [ -n "${seen[$dest]:-}" ] && continue
    seen[$dest]=1
    echo "$tag $dest"
  done
}

cmd_push() {
  local cache=$1 registry=$2 tag dest failed out
  if [ ! -f "$cache/stamp" ] || [ ! -f "$cache/oci/index.json" ]; then
    die "push: no complete build in $cache (run: images.sh build $cache)"
  fi
  # The registry is always local: never send its traffic through a proxy.
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
  failed=$(mktemp)
  # shellcheck disable=SC2064 # expand $failed now: it is local
  trap "rm -f '$failed'" EXIT
  # One at a time: tags of one repository pushed at once race in the registry
  # ("manifest blob unknown"), and busybox first shares its layer with most of the rest.
  while read -r tag dest; do
    out=$(skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
      "oci:$cache/oci:$tag" "docker://$registry/$dest" 2>&1) ||
      printf 'images.sh: push %s: %s\n' "$dest" "$out" >>"$failed"
  done < <(push_plan)
  if [ -s "$failed" ]; then
    cat "$failed" >&2
    exit 1
  fi
}

cmd_list() {
  local entry
  for entry in "${images[@]}"; do
    echo "${entry#* }"
  done
}

# Not wget's -T: Debian 12's static busybox crashes on it.
http_ok() {
  timeout 2 busybox wget -q -O /dev/null "http://$1/v2/" 2>/dev/null
}

# registry_pid DIR: the pid of DIR's registry if it is still running.
registry_pid() {
  local pid state
  pid=$(cat "$1/registry.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  # Not a zombie, and not another process that has since been given the same pid.
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "serve $1/config.yml" || return 1
  echo "$pid"
}

cmd_registry_start() {
  local dir=$1 addr=$2 pid i
  mkdir -p "$dir/storage"
  dir=$(cd "$dir" && pwd)
  if pid=$(registry_pid "$dir"); then
    die "registry-start: a registry from $dir is already running (pid $pid)"
  fi
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: "$dir/storage"
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: "$addr"
  secret: berth-cri-tests
EOF
  : >"$dir/registry.log"
  (
    # Hold none of the caller's pipes open: a test runner waiting on one would hang.
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec docker-registry serve "$dir/config.yml"
  ) </dev/null >>"$dir/registry.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/registry.pid"
  for ((i = 0; i < 100; i++)); do
    if http_ok "$addr"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$dir/registry.pid"
      tail -n 20 "$dir/registry.log" >&2
      die "registry-start: docker-registry exited (log above, $dir/registry.log)"
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/registry.pid"
  tail -n 20 "$dir/registry.log" >&2
  die "registry-start: http://$addr/v2/ did not answer within 10 s (log above, $dir/registry.log)"
}

cmd_registry_stop() {
  local dir=$1 pid i
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  if pid=$(registry_pid "$dir"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      registry_pid "$dir" >/dev/null || break
      sleep 0.1
    done
    if registry_pid "$dir" >/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        registry_pid "$dir" >/dev/null || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$dir/registry.pid"
}

case "${1:-}" in
  build) [ $# -eq 2 ] || usage; cmd_build "$2" ;;
  push) [ $# -eq 3 ] || usage; cmd_push "$2" "$3" ;;
  list) [ $# -eq 1 ] || usage; cmd_list ;;
  registry-start) [ $# -eq 3 ] || usage; cmd_registry_start "$2" "$3" ;;
  registry-stop) [ $# -eq 2 ] || usage; cmd_registry_stop "$2" ;;
  *) usage ;;
esac
