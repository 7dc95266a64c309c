#!/usr/bin/env bash
# A three-node cluster on this machine, as operators' scripts use it:
#
#   cluster-config/local-cluster.sh up DIR     starts PostgreSQL and the nodes n1, n2, n3 on 127.0.0.1 (HTTP 8081..8083,
#                                              NBD 10811..10813, cluster 2551..2553), data folders DIR/n1..DIR/n3, pid
#                                              files DIR/n1.pid.., one API token in DIR/token (clients: --token-file
#                                              DIR/token --server http://127.0.0.1:8081); returns when all three are Up.
#                                              Run again, it restarts any node that is not running.
#   cluster-config/local-cluster.sh down DIR   stops the nodes (SIGTERM: coordinated shutdown), then PostgreSQL.
#
# Each node's images live in DIR/nX/images (its storage root); DIR/shared is a second storage root that all three
# declare shared (ORCHESTRATOR_SHAREDROOTS), so a disk whose images lie there moves to a surviving node when its host
# is downed (docs/operations.md, "Shared storage"). Logs: DIR/nX.log, DIR/postgres/postgres.log.
# Environment: ORCHESTRATOR_DLL (the built orchestrator.dll; default: src/Orchestrator.Cli's Release build, built if
# missing), LOCAL_CLUSTER_PG_PORT (default 55433), LOCAL_CLUSTER_UP_TIMEOUT (seconds, default 180),
# LOCAL_CLUSTER_MAX_RESTARTS (default 3: how many times `up` starts again a node that exits while it waits, as a
# service manager would; a node that cannot join its seeds within its JoinTimeout exits with 75 for this).
# docker-compose.yml runs the same cluster in containers.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODES=(n1 n2 n3)
PG_PORT="${LOCAL_CLUSTER_PG_PORT:-55433}"
UP_TIMEOUT="${LOCAL_CLUSTER_UP_TIMEOUT:-180}"
MAX_RESTARTS="${LOCAL_CLUSTER_MAX_RESTARTS:-3}"

die() { echo "local-cluster.sh: $*" >&2; exit 1; }
say() { echo "local-cluster.sh: $*" >&2; }

index_of() { echo "${1#n}"; }                      # n2 -> 2
http_port() { echo $((8080 + $(index_of "$1"))); }
nbd_port() { echo $((10810 + $(index_of "$1"))); }
cluster_port() { echo $((2550 + $(index_of "$1"))); }

port_taken() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() {
  local pidfile="$DIR/$1.pid"
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

orchestrator_dll() {
  local dll="${ORCHESTRATOR_DLL:-$REPO/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator.dll}"
  if [ ! -f "$dll" ]; then
    say "building the CLI (dotnet build src/Orchestrator.Cli -c Release)"
    dotnet build "$REPO/src/Orchestrator.Cli" -c Release >&2 || die "the build failed"
  fi
  [ -f "$dll" ] || die "no orchestrator.dll at $dll (set ORCHESTRATOR_DLL)"
  echo "$dll"
}

ensure_token() {
  if [ ! -s "$DIR/token" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$DIR/token"; echo >>"$DIR/token")
  fi
  chmod 600 "$DIR/token"
}

start_node() {
  local node="$1" dll="$2" seeds=() other
  for other in "${NODES[@]}"; do
    seeds+=(--seed "127.0.0.1:$(cluster_port "$other")")
  done
  local port
  for port in "$(http_port "$node")" "$(nbd_port "$node")" "$(cluster_port "$node")"; do
    port_taken "$port" && die "port $port on 127.0.0.1 (needed by $node) is taken by another program"
  done
  mkdir -p "$DIR/$node/images" "$DIR/shared"
  # Every node serves the cluster's one token: the data folder keeps the token it finds.
  install -m 600 "$DIR/token" "$DIR/$node/token"
  say "starting $node (http 127.0.0.1:$(http_port "$node"), nbd 127.0.0.1:$(nbd_port "$node"), cluster 127.0.0.1:$(cluster_port "$node"))"
  (
    cd "$DIR/$node"
    ORCHESTRATOR_SHAREDROOTS="$DIR/shared" exec setsid dotnet "$dll" serve --data "$DIR/$node" --http "127.0.0.1:$(http_port "$node")" \
      --nbd "127.0.0.1:$(nbd_port "$node")" --storage-root "$DIR/$node/images" --storage-root "$DIR/shared" \
      --node-name "$node" --cluster-host 127.0.0.1 --cluster-port "$(cluster_port "$node")" "${seeds[@]}" \
      --journal "$JOURNAL" \
      </dev/null >>"$DIR/$node.log" 2>&1
  ) &
  echo $! >"$DIR/$node.pid"
}

# True when NODE answers /cluster/members with all three nodes Up and reachable.
all_up_seen_by() {
  local node="$1" body
  body="$(curl -fsS -m 5 -H "Authorization: Bearer $(tr -d '\n' <"$DIR/token")" "http://127.0.0.1:$(http_port "$node")/cluster/members" 2>/dev/null)" || return 1
  local n
  for n in "${NODES[@]}"; do
    echo "$body" | grep -q "\"node\":\"$n\",\"address\":\"[^\"]*\",\"status\":\"Up\",\"reachable\":true" || return 1
  done
}

up() {
  command -v curl >/dev/null 2>&1 || die "curl is required (Debian package curl)"
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  chmod 0755 "$DIR"
  # One database for the whole cluster: each host's registry has its own stream (registry-n1, ...), disk ids are
  # unique fleet-wide, and sharding's remembered entities must be seen by every node.
  JOURNAL="postgres:$("$REPO/cluster-config/postgres.sh" start "$DIR/postgres" "$PG_PORT")"
  ensure_token
  local dll node
  dll="$(orchestrator_dll)"
  for node in "${NODES[@]}"; do
    if running "$node"; then
      say "$node is running (pid $(cat "$DIR/$node.pid"))"
    else
      start_node "$node" "$dll"
    fi
  done

  # A node that exits while we wait is started again, a few times: a node that could not join its seeds within its
  # JoinTimeout, or was downed, exits with 75 for exactly that (a fresh incarnation joins where the stuck one could not).
  local deadline=$((SECONDS + UP_TIMEOUT)) restarts=0
  for node in "${NODES[@]}"; do
    until all_up_seen_by "$node"; do
      local other
      for other in "${NODES[@]}"; do
        running "$other" && continue
        [ "$restarts" -lt "$MAX_RESTARTS" ] || die "$other exited again ($restarts restarts already); see $DIR/$other.log"
        restarts=$((restarts + 1))
        say "$other exited ($(tail -n 1 "$DIR/$other.log" 2>/dev/null | cut -c1-200)); starting it again"
        start_node "$other" "$dll"
      done
      [ "$SECONDS" -lt "$deadline" ] || die "$node does not see n1, n2 and n3 Up within $UP_TIMEOUT s; see $DIR/$node.log"
      sleep 0.2
    done
  done
  say "n1, n2 and n3 are Up: orchestrator --server http://127.0.0.1:8081 --token-file $DIR/token ..."
}

down() {
  [ -d "$DIR" ] || die "no folder $DIR"
  DIR="$(cd "$DIR" && pwd)"
  local node pid
  for node in "${NODES[@]}"; do
    if running "$node"; then
      kill -TERM "$(cat "$DIR/$node.pid")"
    fi
  done
  for node in "${NODES[@]}"; do
    [ -s "$DIR/$node.pid" ] || continue
    pid="$(cat "$DIR/$node.pid")"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$node did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/$node.pid"
  done
  "$REPO/cluster-config/postgres.sh" stop "$DIR/postgres"
  say "stopped"
}

cmd="${1:-}"
DIR="${2:-}"
[ -n "$DIR" ] || die "usage: local-cluster.sh up|down DIR"
case "$cmd" in
  up) up ;;
  down) down ;;
  *) die "usage: local-cluster.sh up|down DIR" ;;
esac
