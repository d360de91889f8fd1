#!/usr/bin/env bash
# A second Docker engine on this machine, for tests and benchmarks against a "remote" engine:
# its own dockerd listening on a loopback TCP port and a unix socket, with its own data root,
# exec root (and so its own managed containerd), pid file, containerd namespaces and bridge.
#
#   scripts/second-engine.sh start [IMAGE...]
#                                       start it (idempotent) and load the test images (and any
#                                       IMAGE named) into it from the first engine; prints
#                                       DOCKER_HOST=tcp://127.0.0.1:PORT as its last line and
#                                       exits 0, or 3 when it was already running
#   scripts/second-engine.sh stop       stop it (its data root is kept: the next start is quick)
#   scripts/second-engine.sh sshd-start an sshd on loopback (key authentication only) whose key
#                                       runs `docker system dial-stdio` against this engine;
#                                       prints the ssh config file to use (`ssh -F FILE`)
#   scripts/second-engine.sh sshd-stop
#   scripts/second-engine.sh status
#
# It never touches the first engine: no iptables rules (--iptables=false), its own bridge
# (started with --bridge none, dockerd would delete the first engine's docker0), address pools
# that do not overlap the first engine's defaults, and a network store wiped before each start:
# measured here, a dockerd in the host's network namespace that loads stored networks at start
# deletes docker0 even with --bridge set to its own bridge (a fresh store does not). Should
# docker0 vanish anyway, it is put back as it was. Needs root.
set -euo pipefail

PORT=${COMPOSYNC_SECOND_ENGINE_PORT:-23750}
SSH_PORT=${COMPOSYNC_SECOND_ENGINE_SSH_PORT:-22250}
STATE=${COMPOSYNC_SECOND_ENGINE_DIR:-/var/lib/composync-second}
RUN=/run/composync-second
SOCK=$RUN/docker.sock
BRIDGE=csync-br0
BRIDGE_CIDR=10.213.255.1/24
POOL=10.214.0.0/16
IMAGES=(composync/busybox composync/scratch-app)

log() { printf '[second-engine] %s\n' "$*" >&2; }
DOCKER=docker
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; fi
second() { DOCKER_HOST=unix://$SOCK DOCKER_CONTEXT= "$DOCKER" "$@"; }
up() { timeout 10 "$DOCKER" -H "unix://$SOCK" info >/dev/null 2>&1; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root (starts dockerd, creates a bridge)"
    exit 1
  fi
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
}

load_images() {
  local missing=()
  for img in "${IMAGES[@]}" "$@"; do
    local want have
    want=$("$DOCKER" image inspect -f '{{.Id}}' "$img" 2>/dev/null) || {
      log "image $img is missing on the first engine (run scripts/setup-engine.sh)"
      exit 1
    }
    have=$(second image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
    [ "$want" = "$have" ] || missing+=("$img")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "loading ${missing[*]}"
    "$DOCKER" save "${missing[@]}" | second load >/dev/null
  fi
}

start() {
  need_root
  local already=0
  if up; then
    already=1
  else
    ensure_bridge
    mkdir -p "$STATE/data" "$RUN/exec"
    echo '{}' >"$STATE/daemon.json"
    rm -f "$STATE/data/network/files/local-kv.db"
    local docker0
    docker0=$(ip -o -4 addr show docker0 2>/dev/null | awk '{print $4}' | head -n 1)
    log "starting dockerd on tcp://127.0.0.1:$PORT (log: $STATE/dockerd.log)"
    nohup dockerd \
      --config-file "$STATE/daemon.json" \
      --host "unix://$SOCK" --host "tcp://127.0.0.1:$PORT" \
      --data-root "$STATE/data" --exec-root "$RUN/exec" --pidfile "$RUN/docker.pid" \
      --containerd-namespace composync-second \
      --containerd-plugins-namespace composync-second-plugins \
      --bridge "$BRIDGE" --default-address-pool "base=$POOL,size=24" \
      --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
      >"$STATE/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 120); do
      if up; then break; fi
      sleep 0.5
    done
    if ! up; then
      log "dockerd did not come up; last lines of $STATE/dockerd.log:"
      tail -n 30 "$STATE/dockerd.log" >&2 || true
      exit 1
    fi
    if [ -n "$docker0" ] && ! ip link show docker0 >/dev/null 2>&1; then
      log "docker0 of the first engine vanished: putting it back ($docker0)"
      ip link add docker0 type bridge
      ip addr add "$docker0" dev docker0
      ip link set docker0 up
    fi
  fi
  load_images "$@"
  echo "DOCKER_HOST=tcp://127.0.0.1:$PORT"
  if [ "$already" = 1 ]; then exit 3; fi
}

stop() {
  sshd_stop
  [ -f "$RUN/docker.pid" ] || return 0
  local pid
  pid=$(cat "$RUN/docker.pid")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd did not stop in 20 s"
      exit 1
    fi
  fi
  rm -f "$RUN/docker.pid"
}

sshd_start() {
  need_root
  up || { log "the second engine is not running (start it first)"; exit 1; }
  if ! [ -x /usr/sbin/sshd ]; then
    log "installing openssh-server"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >&2
  fi
  local d=$STATE/ssh
  mkdir -p "$d" /run/sshd
  chmod 700 "$d"
  [ -f "$d/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  [ -f "$d/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/client_key"
  # The key's forced environment points `docker system dial-stdio` at this engine.
  printf 'environment="DOCKER_HOST=unix://%s" %s\n' "$SOCK" "$(cat "$d/client_key.pub")" \
    >"$d/authorized_keys"
  cat >"$d/sshd_config" <<CFG
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $RUN/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserEnvironment yes
StrictModes no
UsePAM no
MaxStartups 100:30:200
MaxSessions 100
CFG
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
  cat >"$d/ssh_config" <<CFG
Host 127.0.0.1
  Port $SSH_PORT
  User root
  IdentityFile $d/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
CFG
  if ! { [ -f "$RUN/sshd.pid" ] && kill -0 "$(cat "$RUN/sshd.pid")" 2>/dev/null; }; then
    /usr/sbin/sshd -f "$d/sshd_config" -E "$STATE/sshd.log"
    for _ in $(seq 1 50); do
      [ -f "$RUN/sshd.pid" ] && break
      sleep 0.1
    done
  fi
  ssh -F "$d/ssh_config" 127.0.0.1 true || { log "ssh to 127.0.0.1:$SSH_PORT failed"; tail -n 20 "$STATE/sshd.log" >&2; exit 1; }
  echo "$d/ssh_config"
}

sshd_stop() {
  if [ -f "$RUN/sshd.pid" ]; then
    kill "$(cat "$RUN/sshd.pid")" 2>/dev/null || true
    rm -f "$RUN/sshd.pid"
  fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  sshd-start) sshd_start ;;
  sshd-stop) sshd_stop ;;
  status) if up; then echo "running: tcp://127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|sshd-start|sshd-stop|status" >&2; exit 2 ;;
esac
