#!/usr/bin/env bash
# fleet-latency.sh - what asking a non-host node costs: latency of a job query and of a stream start sent to the
# disk's host itself against the same requests sent to another node, which forwards them to the host.
#
# Starts the three-node cluster of cluster-config/local-cluster.sh (PostgreSQL journal, n1..n3 on 127.0.0.1:8081..8083)
# in WORKDIR/cluster, builds two chains A <- B in n1's storage root (A full of data, B an empty overlay) and registers
# them on n1 with `orchestrator disk add --host n1` through n2: lat-q (16 MiB), whose stream is started slow and
# paused (the job queried), and lat-s, the disk streams are started on. Each start copies up to one batch (1 MiB)
# into lat-s's B before its cancel, so lat-s's A holds 1 MiB per start plus 16 MiB: a start must never find nothing
# left to copy (it would complete at once, and the probe stops with that message). Then latency_probe.py asks every node of
# NODES in turn, ITERATIONS times after WARMUP uncounted ones, over one keep-alive connection per node:
#   query  GET /jobs/lat-query                       200, the job and its host n1
#   start  POST /disks/lat-s/stream (speed 64 KiB/s) 201, the new job and its host n1; cancelled and waited for,
#                                                    untimed, before the next start
# Afterwards the cluster is stopped and both B images must pass `qemu-img check` and read identical to their A
# (a cancelled stream leaves the content as it was); the figures are printed only then.
# Prints p50/p99 per node and operation and the p99 each non-host node adds to the host's.
# Target (issue 10): under 2 ms added at p99 on loopback.
#
# Knobs (environment): ITERATIONS (200), WARMUP (20), NODES ("n1 n2": n1 is the host and must come first; n3 may be
# added), WORKDIR (/tmp/bench-fleet-latency; emptied at start, results.jsonl kept), ORCH (the
# built orchestrator.dll; default src/Orchestrator.Cli's Release build). Needs ports 8081..8083, 10811..10813,
# 2551..2553 and 55433 free (local-cluster.sh's), qemu-utils, python3, curl and PostgreSQL (postgres.sh installs it).
#
# Do not quote numbers from a loaded machine. Smoke run: ITERATIONS=10 WARMUP=2 bench/fleet-latency.sh
set -euo pipefail
export LC_ALL=C

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$REPO_ROOT/bench"
ITERATIONS=${ITERATIONS:-200}
WARMUP=${WARMUP:-20}
NODES=${NODES:-n1 n2}
WORKDIR=${WORKDIR:-/tmp/bench-fleet-latency}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator.dll}
RESULTS=$WORKDIR/results.jsonl
HOST=n1

# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

need qemu-img "apt-get install qemu-utils"
need qemu-io "apt-get install qemu-utils"
need python3 "apt-get install python3"
need curl "apt-get install curl"
need numfmt "apt-get install coreutils"
need dotnet "install the .NET 10 SDK"
[[ $ITERATIONS =~ ^[1-9][0-9]*$ ]] || die "ITERATIONS=$ITERATIONS must be a positive integer"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP=$WARMUP must be a non-negative integer"
read -r -a ASKED <<< "$NODES"
[[ ${ASKED[0]:-} == "$HOST" ]] || die "NODES=\"$NODES\" must start with the host $HOST"
(( ${#ASKED[@]} >= 2 )) || die "NODES=\"$NODES\" must name at least one node besides $HOST"
for node in "${ASKED[@]}"; do
  [[ $node =~ ^n[123]$ ]] || die "NODES: '$node' is not one of n1 n2 n3"
done
STARTS_MIB=$(( (ITERATIONS + WARMUP) * ${#ASKED[@]} + 16 ))
[[ -f $ORCH ]] || die "no orchestrator.dll at $ORCH: dotnet build src/Orchestrator.Cli -c Release, or set ORCH"
ORCH=$(realpath "$ORCH")

mkdir -p "$WORKDIR"
find "$WORKDIR" -mindepth 1 -maxdepth 1 ! -name results.jsonl -exec rm -rf {} +
chmod 0755 "$WORKDIR"   # PostgreSQL runs as the postgres user and must reach its folder below
CLUSTER_DIR=$WORKDIR/cluster
IMAGES=$CLUSTER_DIR/$HOST/images
TOKEN=$CLUSTER_DIR/token
cluster_started=0
cleanup() {
  (( cluster_started )) && "$REPO_ROOT/cluster-config/local-cluster.sh" down "$CLUSTER_DIR" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT

orch() { dotnet "$ORCH" "$@" --server "http://127.0.0.1:8082" --token-file "$TOKEN"; }
http_port() { echo $((8080 + ${1#n})); }

log "starting the cluster in $CLUSTER_DIR"
cluster_started=1
ORCHESTRATOR_DLL=$ORCH "$REPO_ROOT/cluster-config/local-cluster.sh" up "$CLUSTER_DIR" > "$WORKDIR/cluster-up.log" 2>&1 \
  || { tail -20 "$WORKDIR/cluster-up.log" >&2; die "the cluster did not start (log: $WORKDIR/cluster-up.log)"; }

# chain NAME SIZE: A full of data, B an empty overlay, in n1's storage root.
chain() {
  mkdir -p "$IMAGES/$1"
  qemu-img create -q -f qcow2 "$IMAGES/$1/A.qcow2" "$2"
  qemu-io -f qcow2 -c "write -P 7 0 $2" "$IMAGES/$1/A.qcow2" > /dev/null
  qemu-img create -q -f qcow2 -b A.qcow2 -F qcow2 "$IMAGES/$1/B.qcow2"
}
chain q 16M
chain s "${STARTS_MIB}M"
orch disk add lat-q "$IMAGES/q/B.qcow2" --host "$HOST" > /dev/null
orch disk add lat-s "$IMAGES/s/B.qcow2" --host "$HOST" > /dev/null
orch stream lat-q --job-id lat-query --speed 65536 > /dev/null
orch job pause lat-query > /dev/null

node_args=()
for node in "${ASKED[@]}"; do node_args+=(--node "$node=http://127.0.0.1:$(http_port "$node")"); done
log "timing $ITERATIONS iterations (+$WARMUP warm-up) against ${ASKED[*]}"
python3 "$BENCH_DIR/latency_probe.py" "${node_args[@]}" --token-file "$TOKEN" --host "$HOST" --query-job lat-query \
  --stream-disk lat-s --iterations "$ITERATIONS" --warmup "$WARMUP" > "$WORKDIR/probe.jsonl" \
  || die "the probe failed"

orch job cancel lat-query > /dev/null
"$REPO_ROOT/cluster-config/local-cluster.sh" down "$CLUSTER_DIR" > "$WORKDIR/cluster-down.log" 2>&1
cluster_started=0

# Verified before anything is reported: both chains intact, their content unchanged.
for name in q s; do
  qemu-img check -q "$IMAGES/$name/B.qcow2" || die "qemu-img check failed on $IMAGES/$name/B.qcow2"
  qemu-img compare -q "$IMAGES/$name/B.qcow2" "$IMAGES/$name/A.qcow2" || die "$IMAGES/$name/B.qcow2 differs from its A"
done

python3 - "$WORKDIR/probe.jsonl" "$RESULTS" "$HOST" "$(date +%Y%m%d-%H%M%S)" "$(repo_commit)" "$ITERATIONS" <<'PYEOF'
import json, sys
probe, results, host, run_id, commit, iterations = sys.argv[1:]
rows = [json.loads(line) for line in open(probe)]
by = {(r["node"], r["op"]): r for r in rows}
print(f"{'node':<6} {'op':<6} {'p50 ms':>8} {'p99 ms':>8} {'added p99 ms':>13}")
with open(results, "a") as out:
    for r in rows:
        added = None if r["node"] == host else round(r["p99_ms"] - by[(host, r["op"])]["p99_ms"], 3)
        shown = "(host)" if added is None else f"{added:+.3f}"
        print(f"{r['node']:<6} {r['op']:<6} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {shown:>13}")
        out.write(json.dumps({"bench": "fleet-latency", "run": run_id, "commit": commit, "iterations": int(iterations),
                              "host": host, **r, "added_p99_ms": added}) + "\n")
print("target: under 2 ms added at p99 (loopback)")
PYEOF
log "results appended to $RESULTS"
