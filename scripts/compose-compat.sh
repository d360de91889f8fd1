#!/usr/bin/env bash
# The oldest compose composync supports (2.26, Debian trixie's docker-compose package), for the
# compatibility pass: the package is downloaded and unpacked, never installed, and its plugin
# binary put into a DOCKER_CONFIG directory of its own, so only a docker command run with
# DOCKER_CONFIG=<that directory> uses it. Prints that directory on stdout.
#
#   bash scripts/compose-compat.sh [DIR]   (default: $COMPOSYNC_CI_CACHE/compose-2.26, the cache
#   being ~/.cache/composync-ci unless set: outside the clone, so fresh clones share it)
#
# Adds Debian trixie as an apt source pinned at priority 50 (as setup-engine.sh does for forky),
# so `apt-get download docker-compose/trixie` finds it and nothing is ever installed from it.
# Idempotent: a cached plugin is reused.
set -euo pipefail
# shellcheck source=scripts/apt-suite.sh
. "$(dirname "$0")/apt-suite.sh"
cd "$(dirname "$0")/.."
log() { printf '[compose-compat] %s\n' "$*" >&2; }

SUITE=trixie
dir=$(realpath -m "${1:-${COMPOSYNC_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/composync-ci}/compose-2.26}")
plugin=$dir/cli-plugins/docker-compose

if ! [ -x "$plugin" ]; then
  if [ "$(id -u)" != 0 ]; then log "must run as root to add the $SUITE apt source"; exit 1; fi
  if add_low_suite "$SUITE" log; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; fi
  work=$(mktemp -d); chmod 755 "$work" # apt downloads as _apt
  trap 'rm -rf "$work"' EXIT
  log "downloading docker-compose/$SUITE"
  (cd "$work" && apt-get download -qq docker-compose/$SUITE >&2) || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    (cd "$work" && apt-get download -qq docker-compose/$SUITE >&2)
  }
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
  mkdir -p "$dir/cli-plugins"
  install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
fi
# the Debian CLI in /usr/bin, not a different client earlier on PATH
DOCKER=docker; [ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
log "$(DOCKER_CONFIG=$dir "$DOCKER" compose version)"
echo "$dir"
