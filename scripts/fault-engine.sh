#!/usr/bin/env bash
# A throw-away Docker engine for fault tests that stop and start the engine itself
# (test/faults.test.ts). It is neither the main engine nor scripts/second-engine.sh's (other
# test files use those while this one runs): its own dockerd with its own data root, exec root
# (so its own managed containerd), pid file and containerd namespaces, in its own network
# namespace with its own bridge. Measured here: a dockerd in the host's network namespace,
# restarted with --bridge set to its own bridge, deleted the main engine's docker0 while
# loading its stored networks; in a namespace of its own it cannot touch any host interface.
# Its API is its unix socket, and 127.0.0.1:PORT on the host, forwarded to that socket by a
# small node process (loopback only). Needs root.
#
#   scripts/fault-engine.sh start    start it (idempotent), load composync/busybox into it;
#                                    prints DOCKER_HOST=tcp://127.0.0.1:PORT as its last line
#   scripts/fault-engine.sh stop     stop dockerd (and so its containerd and containers)
#   scripts/fault-engine.sh teardown stop, and remove the forwarder and the network namespace
#   scripts/fault-engine.sh status
set -euo pipefail

PORT=${COMPOSYNC_FAULT_ENGINE_PORT:-23760}
STATE=${COMPOSYNC_FAULT_ENGINE_DIR:-/var/lib/composync-fault}
RUN=/run/composync-fault
SOCK=$RUN/docker.sock
NETNS=composync-fault
BRIDGE=csync-fault0
BRIDGE_CIDR=10.215.255.1/24
POOL=10.216.0.0/16
IMAGES=(composync/busybox)

log() { printf '[fault-engine] %s\n' "$*" >&2; }
DOCKER=docker
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; fi
mine() { DOCKER_HOST=unix://$SOCK DOCKER_CONTEXT= "$DOCKER" "$@"; }
up() { timeout 10 "$DOCKER" -H "unix://$SOCK" info >/dev/null 2>&1; }

start() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root (starts dockerd, creates a bridge)"
    exit 1
  fi
  if ! ip netns list | grep -qw "$NETNS"; then ip netns add "$NETNS"; fi
  inns() { ip netns exec "$NETNS" "$@"; }
  inns ip link set lo up
  if ! up; then
    if ! inns ip link show "$BRIDGE" >/dev/null 2>&1; then
      inns ip link add "$BRIDGE" type bridge
      inns ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
    fi
    inns ip link set "$BRIDGE" up
    mkdir -p "$STATE/data" "$RUN/exec"
    echo '{}' >"$STATE/daemon.json"
    log "starting dockerd in network namespace $NETNS (log: $STATE/dockerd.log)"
    # nsenter, not ip netns exec: only the network namespace (dockerd needs the host cgroup mounts)
    nohup nsenter --net="/run/netns/$NETNS" dockerd \
      --config-file "$STATE/daemon.json" \
      --host "unix://$SOCK" \
      --data-root "$STATE/data" --exec-root "$RUN/exec" --pidfile "$RUN/docker.pid" \
      --containerd-namespace composync-fault \
      --containerd-plugins-namespace composync-fault-plugins \
      --bridge "$BRIDGE" --default-address-pool "base=$POOL,size=24" \
      --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
      >>"$STATE/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 120); do
      if up; then break; fi
      sleep 0.5
    done
    if ! up; then
      log "dockerd did not come up; last lines of $STATE/dockerd.log:"
      tail -n 30 "$STATE/dockerd.log" >&2 || true
      exit 1
    fi
  fi
  if ! { [ -f "$RUN/proxy.pid" ] && kill -0 "$(cat "$RUN/proxy.pid")" 2>/dev/null; }; then
    # tcp://127.0.0.1:PORT -> the unix socket; it outlives dockerd restarts, like a tunnel
    nohup node -e '
      const net = require("node:net");
      const [sock, port] = process.argv.slice(1);
      // half-open: an exec client ends its input and still reads the output
      net.createServer({ allowHalfOpen: true }, (c) => {
        const u = net.connect({ path: sock, allowHalfOpen: true });
        c.on("error", () => u.destroy());
        u.on("error", () => c.destroy());
        c.pipe(u).pipe(c);
      }).listen(Number(port), "127.0.0.1");
    ' "$SOCK" "$PORT" >/dev/null 2>&1 </dev/null &
    echo $! >"$RUN/proxy.pid"
    for _ in $(seq 1 50); do
      if timeout 5 "$DOCKER" -H "tcp://127.0.0.1:$PORT" version >/dev/null 2>&1; then break; fi
      sleep 0.1
    done
  fi
  for img in "${IMAGES[@]}"; do
    local want have
    want=$("$DOCKER" image inspect -f '{{.Id}}' "$img" 2>/dev/null) || {
      log "image $img is missing on the main engine (run scripts/setup-engine.sh)"
      exit 1
    }
    have=$(mine image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
      log "loading $img"
      "$DOCKER" save "$img" | mine load >/dev/null
    fi
  done
  echo "DOCKER_HOST=tcp://127.0.0.1:$PORT"
}

stop() {
  [ -f "$RUN/docker.pid" ] || return 0
  local pid
  pid=$(cat "$RUN/docker.pid")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd did not stop in 30 s"
      exit 1
    fi
  fi
  rm -f "$RUN/docker.pid"
}

# stop, and remove the forwarder and the network namespace too
teardown() {
  stop
  if [ -f "$RUN/proxy.pid" ]; then
    kill "$(cat "$RUN/proxy.pid")" 2>/dev/null || true
    rm -f "$RUN/proxy.pid"
  fi
  if ip netns list | grep -qw "$NETNS"; then ip netns delete "$NETNS"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  teardown) teardown ;;
  status) if up; then echo "running: tcp://127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|teardown|status" >&2; exit 2 ;;
esac
