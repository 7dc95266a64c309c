#!/usr/bin/env bash
# checkpoint-pg-vs-sqlite.sh - the cost of checkpoints in PostgreSQL against SQLite, on a real node.
#
# For each journal, RUNS times: a fresh node (fresh SQLite file / fresh PostgreSQL database), a fresh copy of a
# two-image chain (A <- B, B empty, A fully allocated), then a stream of B with base none, unlimited speed, and a
# small --checkpoint-size so that the run is mostly checkpoints. Prints one line per run and, at the end, the median
# stream time per journal and PostgreSQL's overhead. Results also go to WORKDIR/results.jsonl.
#
# Knobs (environment): SIZE (64M), CHECKPOINT (256K), RUNS (3), WORKDIR (/tmp/bench-checkpoint), ORCH (the built
# orchestrator.dll; default src/Orchestrator.Cli's Release build), PG (an Npgsql connection string to a server where
# the user may CREATE DATABASE; default: a private instance started by cluster-config/postgres.sh in WORKDIR on port
# 55434, stopped at the end).
#
# Do not quote numbers from a loaded machine. Smoke run: SIZE=16M RUNS=1 bench/checkpoint-pg-vs-sqlite.sh
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_DIR")
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
SIZE=${SIZE:-64M}
CHECKPOINT=${CHECKPOINT:-256K}
RUNS=${RUNS:-3}
WORKDIR=${WORKDIR:-/tmp/bench-checkpoint}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator.dll}
RESULTS=$WORKDIR/results.jsonl

for tool in qemu-img qemu-io curl jq; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: qemu-utils, curl, jq)"
done
[ -f "$ORCH" ] || die "no orchestrator.dll at $ORCH: dotnet build src/Orchestrator.Cli -c Release, or set ORCH"

mkdir -p "$WORKDIR"
chmod 0755 "$WORKDIR"
started_pg=0
cleanup() {
  stop_node
  [ "$started_pg" -eq 1 ] && "$REPO_ROOT/cluster-config/postgres.sh" stop "$WORKDIR/postgres"
  return 0
}
trap cleanup EXIT
if [ -z "${PG:-}" ]; then
  PG="$("$REPO_ROOT/cluster-config/postgres.sh" start "$WORKDIR/postgres" 55434)"
  started_pg=1
fi
pg_field() { echo "$PG" | tr ';' '\n' | sed -n "s/^$1=//Ip" | head -1; }
psql_admin() {
  PGOPTIONS="-c client_min_messages=warning" PGPASSWORD="$(pg_field Password)" psql -h "$(pg_field Host)" -p "$(pg_field Port)" -U "$(pg_field Username)" -d "$(pg_field Database)" -qtAc "$1"
}

# The pristine chain: A full of data, B an empty overlay; the stream copies all of A into B.
PRISTINE=$WORKDIR/pristine
if [ ! -f "$PRISTINE/B.qcow2" ] || [ "$(cat "$PRISTINE/size" 2>/dev/null)" != "$SIZE" ]; then
  rm -rf "$PRISTINE" && mkdir -p "$PRISTINE"
  qemu-img create -q -f qcow2 "$PRISTINE/A.qcow2" "$SIZE"
  qemu-io -f qcow2 -c "write -P 7 0 $SIZE" "$PRISTINE/A.qcow2" >/dev/null
  qemu-img create -q -f qcow2 -b A.qcow2 -F qcow2 "$PRISTINE/B.qcow2"
  echo "$SIZE" >"$PRISTINE/size"
fi

# run_once JOURNAL RUN: prints the stream's wall time in seconds.
run_once() {
  local journal="$1" run="$2" dir="$WORKDIR/run-$1-$2"
  rm -rf "$dir" && mkdir -p "$dir/images" "$dir/data"
  cp "$PRISTINE/A.qcow2" "$PRISTINE/B.qcow2" "$dir/images/"
  local flag
  if [ "$journal" = postgres ]; then
    local db="bench_ckpt_$$_$run"
    psql_admin "DROP DATABASE IF EXISTS $db" >/dev/null
    psql_admin "CREATE DATABASE $db" >/dev/null
    flag="postgres:$(echo "$PG" | sed "s/Database=[^;]*/Database=$db/I")"
  else
    flag="sqlite:$dir/data/journal.db"
  fi
  start_node "$dir/data" "$dir/images" 127.0.0.1:0 "$dir/node.log" --checkpoint-size "$CHECKPOINT" \
    --batch-size 64K --request-timeout 60 --journal "$flag"
  wait_node "$dir/data" "$dir/node.log" 120
  api POST /disks "{\"id\":\"vm\",\"path\":\"$dir/images/B.qcow2\"}" >/dev/null
  local start end
  start=$(date +%s.%N)
  api POST /disks/vm/stream '{"autoDismiss":true}' >/dev/null
  while curl -fsS -m 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $NODE_TOKEN" "$NODE_URL/jobs/vm" 2>/dev/null | grep -q 200; do
    sleep 0.05
  done
  end=$(date +%s.%N)
  stop_node
  qemu-img check -q "$dir/images/B.qcow2" || die "qemu-img check failed on $dir/images/B.qcow2"
  qemu-img compare -q "$dir/images/B.qcow2" "$PRISTINE/A.qcow2" || die "B differs from A after the stream ($dir)"
  [ "$journal" = postgres ] && psql_admin "DROP DATABASE IF EXISTS bench_ckpt_$$_$run WITH (FORCE)" >/dev/null
  echo "$end - $start" | bc
}

declare -A times
for journal in sqlite postgres; do
  for run in $(seq 1 "$RUNS"); do
    seconds="$(run_once "$journal" "$run")"
    log "$journal run $run: ${seconds} s (size $SIZE, checkpoint every $CHECKPOINT)"
    times[$journal]="${times[$journal]:-} $seconds"
    jq -cn --arg j "$journal" --arg s "$seconds" --arg size "$SIZE" --arg c "$CHECKPOINT" \
      '{journal:$j, seconds:($s|tonumber), size:$size, checkpoint:$c}' >>"$RESULTS"
  done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
sqlite_median="$(echo "${times[sqlite]}" | median)"
pg_median="$(echo "${times[postgres]}" | median)"
checkpoints="$(numfmt --from=iec "$SIZE" | awk -v c="$(numfmt --from=iec "$CHECKPOINT")" '{print int($1 / c)}')"
echo "size $SIZE, about $checkpoints checkpoints per stream, $RUNS runs each"
echo "sqlite   median ${sqlite_median} s"
echo "postgres median ${pg_median} s"
awk -v s="$sqlite_median" -v p="$pg_median" -v n="$checkpoints" \
  'BEGIN { printf "postgres overhead: %+.1f %% (%.2f ms more per checkpoint)\n", (p / s - 1) * 100, (p - s) * 1000 / n }'
