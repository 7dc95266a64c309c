#!/usr/bin/env bash
# many-streams.sh - aggregate stream throughput of one node with 1, 4 and 16 disks streaming at once.
#
# Builds the seeded chain A <- B <- C <- D of lib.sh (gen_chain.py; SIZE virtual, A 1/8 of the disk, B and C 1/16,
# D 1/64) and its reference content. Then for each count N of COUNTS, RUNS times: N fresh copies of the chain (one
# folder each), a fresh node (`orchestrator serve`, SQLite journal, one storage root), the N disks registered, and
# streams_probe.py starts a stream with base A on every disk at once (one connection each, released together). The
# wall time runs from the first job's 'created' event to the last BLOCK_JOB_COMPLETED (the events' timestamps). The
# node is stopped, and every D must then pass `qemu-img check`, read identical to the reference (`qemu-img compare`)
# and back onto A.qcow2, and what D maps (`qemu-img map`) must have grown by what gen.json planned to copy (the
# bytes streamed per disk); a run with any problem is reported and not counted. Aggregate MiB/s = all disks' bytes / wall time.
# Prints per N the median wall time, aggregate MiB/s, and its ratio to the single stream's (N=1).
# Target (issue 10): the aggregate with 4 and 16 disks at least 90 % of one stream's (ratio >= 0.90).
#
# Knobs (environment): COUNTS ("1 4 16"; must hold 1, the reference), SIZE (1G virtual per chain; 16 copies of a 1G
# chain take about 7 GB of disk), CLUSTER (65536), SEED (42), RUNS (3: medians), WARMUP (1: untimed single-disk
# rounds first), CACHE (writeback or none: the node's --cache), TIMEOUT (1800 s per round), WORKDIR
# (/tmp/bench-many-streams; results.jsonl is appended), ORCH (the built orchestrator.dll; default
# src/Orchestrator.Cli's Release build). Needs qemu-utils, python3, curl, coreutils.
#
# Do not quote numbers from a loaded machine. Smoke run: COUNTS="1 4" SIZE=64M RUNS=1 WARMUP=0 bench/many-streams.sh
set -euo pipefail
export LC_ALL=C

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$REPO_ROOT/bench"
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

SIZE=${SIZE:-1G}
MODES=stream              # lib.sh's knobs are per mode; this script has one
common_knobs /tmp/bench-many-streams stream
COUNTS=${COUNTS:-1 4 16}
CACHE=${CACHE:-writeback}
TIMEOUT=${TIMEOUT:-1800}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator.dll}

require_chain_tools
need curl "apt-get install curl"
need dotnet "install the .NET 10 SDK"
validate_common_knobs stream
read -r -a COUNT_LIST <<< "$COUNTS"
(( ${#COUNT_LIST[@]} )) || die "COUNTS is empty"
for n in "${COUNT_LIST[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] && (( n <= 256 )) || die "COUNTS: '$n' is not a count from 1 to 256"
done
[[ " $COUNTS " == *" 1 "* ]] || die "COUNTS=\"$COUNTS\" must hold 1: the single stream is the reference"
[[ $CACHE == writeback || $CACHE == none ]] || die "CACHE=$CACHE must be writeback or none"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT=$TIMEOUT must be a positive number of seconds"
[[ -f $ORCH ]] || die "no orchestrator.dll at $ORCH: dotnet build src/Orchestrator.Cli -c Release, or set ORCH"
ORCH=$(realpath "$ORCH")

mkdir -p "$WORKDIR" "$LOGS"
ROUND=$WORKDIR/round
RUNS_JSONL=$WORKDIR/runs-$RUN_ID.jsonl
trap stop_node EXIT

# round N LABEL: one timed round with N disks; appends a line to RUNS_JSONL unless LABEL is "warmup".
round() {
  local n=$1 label=$2 k disks=() out
  rm -rf "$ROUND"
  for (( k = 1; k <= n; k++ )); do
    mkdir -p "$ROUND/images/d$k"
    cp "$PRISTINE"/{A,B,C,D}.qcow2 "$ROUND/images/d$k/"
    disks+=("d$k")
  done
  sync
  start_node "$ROUND/data" "$ROUND/images" 127.0.0.1:0 "$LOGS/node-$n-$label.log" --cache "$CACHE"
  wait_node "$ROUND/data" "$LOGS/node-$n-$label.log"
  for k in "${disks[@]}"; do
    api POST /disks "{\"id\":\"$k\",\"path\":\"$ROUND/images/$k/D.qcow2\"}" > /dev/null || die "registering $k failed"
  done
  out=$(python3 "$BENCH_DIR/streams_probe.py" --url "$NODE_URL" --token-file "$ROUND/data/token" --base A.qcow2 \
        --timeout "$TIMEOUT" "${disks[@]}") || die "the streams failed (node log: $LOGS/node-$n-$label.log)"
  stop_node TERM

  # Untimed checks of every disk; the run counts only if all pass.
  local problems_all=() bytes=0 own
  for k in "${disks[@]}"; do
    PROBLEMS=()
    SCRATCH=$ROUND/images/$k
    check_scratch_top
    compare_scratch_top_to_reference
    read_scratch_backing || PROBLEMS+=("qemu-img info failed")
    [[ ${BACKING_NAME:-} == A.qcow2 ]] || PROBLEMS+=("D backs onto '${BACKING_NAME:-?}', not A.qcow2")
    own=$(( $(own_allocated_bytes "$SCRATCH/D.qcow2") - D_BEFORE ))
    (( own == EXPECTED )) || PROBLEMS+=("D gained $own bytes, the plan says $EXPECTED")
    bytes=$(( bytes + own ))
    (( ${#PROBLEMS[@]} )) && problems_all+=("$k: ${PROBLEMS[*]}")
  done
  if (( ${#problems_all[@]} )); then
    FAILURES=$(( FAILURES + 1 ))
    echo "*** $n disks, $label: ${problems_all[*]}" >&2
    SCRATCH=$ROUND
    keep_failure "$n-$label"
    return
  fi
  local wall
  wall=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["wall_s"])' "$out")
  log "$n disk(s), $label: $wall s, $(numfmt --to=iec "$bytes")B streamed, verified"
  [[ $label == warmup ]] && return
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(run=sys.argv[2], bytes=int(sys.argv[3])); print(json.dumps(r))' \
    "$out" "$label" "$bytes" >> "$RUNS_JSONL"
}

log "generating chain A <- B <- C <- D ($SIZE) and the reference in $PRISTINE"
generate_chain
log "reference ready; D owns $D_BEFORE bytes before the job"
EXPECTED=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["expected_copy"]["bytes"])' "$PRISTINE/gen.json")
for (( w = 1; w <= WARMUP; w++ )); do round 1 warmup; done
for n in "${COUNT_LIST[@]}"; do
  for (( r = 1; r <= RUNS; r++ )); do round "$n" "$r"; done
done
rm -rf "$ROUND"

[[ -s $RUNS_JSONL ]] || die "no run passed its checks"
python3 - "$RUNS_JSONL" "$RESULTS" "$RUN_ID" "$(repo_commit)" "$(qemu_version)" "$SIZE" "$CACHE" <<'PYEOF'
import json, statistics, sys
runs_file, results, run_id, commit, qemu, size, cache = sys.argv[1:]
runs = [json.loads(line) for line in open(runs_file)]
by_n = {}
for r in runs:
    by_n.setdefault(r["streams"], []).append(r)
def aggregate(r):
    return r["bytes"] / 1048576 / r["wall_s"]
one = statistics.median(aggregate(r) for r in by_n[1]) if 1 in by_n else None
print(f"{'disks':>5} {'runs':>4} {'wall s':>8} {'aggregate MiB/s':>16} {'per stream MiB/s':>17} {'ratio to 1':>10}")
with open(results, "a") as out:
    for n in sorted(by_n):
        rs = by_n[n]
        wall = statistics.median(r["wall_s"] for r in rs)
        agg = statistics.median(aggregate(r) for r in rs)
        ratio = None if one is None else round(agg / one, 3)
        shown = "-" if ratio is None else f"{ratio:.3f}"
        print(f"{n:>5} {len(rs):>4} {wall:>8.3f} {agg:>16.1f} {agg / n:>17.1f} {shown:>10}")
        out.write(json.dumps({"bench": "many-streams", "run": run_id, "commit": commit, "qemu": qemu, "size": size,
                              "cache": cache, "streams": n, "runs": len(rs), "median_wall_s": wall,
                              "median_aggregate_mib_s": round(agg, 1), "ratio_to_one": ratio,
                              "bytes_per_run": rs[0]["bytes"]}) + "\n")
print("target: aggregate with 4 and 16 disks at least 0.90 of one stream's")
PYEOF
log "results appended to $RESULTS; per-run lines in $RUNS_JSONL; logs in $LOGS"
if (( FAILURES )); then
  echo "*** $FAILURES run(s) FAILED their checks; see the *** lines above" >&2
  exit 1
fi
