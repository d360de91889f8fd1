#!/usr/bin/env bash
# Makes a Docker engine, the compose and buildx plugins and the stand-in base images
# available on a fresh Debian bookworm machine with no container registry.
#
#  1. If `docker info` or `docker compose version` fails: install docker.io, docker-cli,
#     docker-compose and docker-buildx from Debian's forky suite (engine 28.5, compose 2.40,
#     buildx 0.29; pinned at priority 50, so nothing else is upgraded from it: their other
#     dependencies, runc and iptables among them, come from bookworm), and start dockerd as
#     root.
#  2. Build local stand-in images when they are missing (no registry is reachable):
#       composync/busybox  busybox-static on an empty root filesystem (busybox tar)
#       composync/node     the host's node binary and the libraries ldd lists, on busybox
#       composync/debian   debootstrap --variant=minbase bookworm (GNU tar, coreutils)
#       composync/scratch-app  a static helper binary only: no shell, no tar, no rm
#  3. Install Debian's chromium when missing (the dashboard's browser tests drive it).
#
# Idempotent: re-running it does nothing that is already done.
set -euo pipefail

log() { printf '[setup] %s\n' "$*" >&2; }
need_root() { if [ "$(id -u)" != 0 ]; then log "must run as root (installs packages, starts dockerd)"; exit 1; fi; }

apt_ready=0
apt_update() {
  if [ "$apt_ready" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_ready=1
  fi
}

# shellcheck source=scripts/apt-suite.sh
. "$(dirname "$0")/apt-suite.sh"
SUITE=forky
install_engine() {
  need_root
  if add_low_suite "$SUITE" log; then apt_ready=0; fi
  apt_update
  log "installing docker.io, docker-cli, docker-compose, docker-buildx from $SUITE"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io/$SUITE docker-cli/$SUITE docker-compose/$SUITE docker-buildx/$SUITE >&2
}

# The Debian docker CLI is in /usr/bin; a different client earlier on PATH may not find
# the compose plugin, so everything below calls /usr/bin/docker when it exists.
DOCKER=docker
pick_docker() { if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; fi; }

engine_up() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

start_dockerd() {
  need_root
  if engine_up; then return 0; fi
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/composync-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    if engine_up; then log "dockerd is up"; return 0; fi
    sleep 0.5
  done
  log "dockerd did not come up; last lines of /var/log/composync-dockerd.log:"
  tail -n 30 /var/log/composync-dockerd.log >&2 || true
  exit 1
}

# Bump when an image's recipe changes: an older local image is then rebuilt.
IMAGE_VERSION=2
have_image() {
  [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "composync.image.version"}}' "$1" 2>/dev/null)" = "$IMAGE_VERSION" ]
}

ensure_pkg() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    need_root; apt_update
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

busybox_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,root,app,proc,sys,dev,var/www}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # every applet as a link, so images have sh, tar, rm, httpd, ...
  for applet in $("$root/bin/busybox" --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nnode:x:1000:1000:node:/home/node:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nnode:x:1000:\n' >"$root/etc/group"
  mkdir -p "$root/home/node" && chown 1000:1000 "$root/home/node"
}

import_dir() { # DIR TAG [CHANGES...]
  local dir=$1 tag=$2; shift 2
  local args=(--change "LABEL composync.image.version=$IMAGE_VERSION")
  for c in "$@"; do args+=(--change "$c"); done
  tar -C "$dir" -c . | "$DOCKER" import "${args[@]}" - "$tag" >/dev/null
  log "built $tag"
}

build_busybox() {
  have_image composync/busybox:latest && return 0
  ensure_pkg busybox-static
  local t; t=$(mktemp -d)
  busybox_rootfs "$t"
  import_dir "$t" composync/busybox:latest 'CMD ["sh"]'
  rm -rf "$t"
}

build_node() {
  have_image composync/node:latest && return 0
  ensure_pkg busybox-static
  local t node; t=$(mktemp -d); node=$(readlink -f "$(command -v node)")
  busybox_rootfs "$t"
  mkdir -p "$t/usr/local/bin"
  cp "$node" "$t/usr/local/bin/node"
  # the dynamic loader and every library ldd lists, at the same paths
  ldd "$node" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$t$(dirname "$lib")"; cp -L "$lib" "$t$lib"
  done
  import_dir "$t" composync/node:latest 'CMD ["node"]' 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin'
  rm -rf "$t"
}

build_debian() {
  have_image composync/debian:latest && return 0
  ensure_pkg debootstrap
  local t; t=$(mktemp -d)
  log "debootstrap bookworm (minbase), about 30 s"
  debootstrap --variant=minbase bookworm "$t" http://deb.debian.org/debian >/dev/null 2>&1 || {
    log "debootstrap failed"; exit 1; }
  rm -rf "$t"/var/cache/apt/archives/*.deb "$t"/var/lib/apt/lists/*
  import_dir "$t" composync/debian:latest 'CMD ["bash"]' 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  rm -rf "$t"
}

build_scratch() {
  have_image composync/scratch-app:latest && return 0
  ensure_pkg busybox-static
  local t; t=$(mktemp -d)
  mkdir -p "$t/app" "$t/tmp"
  # a lone static binary outside PATH: no shell, no tar, no rm that an exec could find
  cp /bin/busybox "$t/busybox"
  import_dir "$t" composync/scratch-app:latest 'ENTRYPOINT ["/busybox", "sleep"]' 'CMD ["2147483647"]' 'WORKDIR /app'
  rm -rf "$t"
}

# Debian's Chromium, for the dashboard's browser tests (test/ui.test.ts; nothing downloaded)
ensure_browser() { [ -x /usr/bin/chromium ] || ensure_pkg chromium; }

main() {
  pick_docker
  if ! { engine_up || command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ]; } || ! "$DOCKER" compose version >/dev/null 2>&1 || ! "$DOCKER" buildx version >/dev/null 2>&1; then
    install_engine
    pick_docker
  fi
  start_dockerd
  build_busybox
  build_node
  build_scratch
  if [ "${COMPOSYNC_SKIP_DEBIAN_IMAGE:-}" != 1 ]; then build_debian; fi
  ensure_browser
  log "engine $("$DOCKER" version --format '{{.Server.Version}}'), $("$DOCKER" compose version --short 2>/dev/null | sed 's/^/compose /')"
}

main "$@"
