#!/usr/bin/env bash
# restart-1000-disks.sh - how long a restarted node with many registered disks takes to accept commands again, and how
# that grows with the number of disks (1, 10, 100, 1000).
#
# For each count N of COUNTS: a fresh node (`orchestrator serve`, SQLite journal in its data folder), N tiny disks
# (each a chain A <- B in its own folder: A IMAGE_SIZE of data with 4 KiB clusters, B an empty overlay), registered
# through the HTTP API, PARALLEL requests at a time (timed: the registration rate is printed too). Then RESTARTS
# times: the node is stopped with SIGNAL (KILL by default: a crash) and started again on the same data folder, and
# restart_probe.py times, from just before the process starts:
#   answer   the first answer of GET /disks
#   listed   GET /disks lists all N disks
#   command  a live snapshot of the last disk (POST /disks/dN/snapshot, a new overlay Sr.qcow2) answered 200
#   ready    every disk listed in state 'ready' (its chain open)
#   job      with 2 or more disks: a stream (JOB_SPEED bytes/s, so that it runs through every restart) on the disk that
#            sorts last by id apart from the command's (d999 of 1000), a JOB_SIZE chain of its own; the job runs again
# Failed commands before the first success are counted and shown. At the end the node is stopped (SIGTERM), the last
# disk's chain (A <- B <- S1 <- ... <- Sr) and the first disk's must pass `qemu-img check`, read identical to A
# (`qemu-img compare`), and the last disk's top must back onto the snapshot before it.
# Prints per N the registration rate and the median seconds to each point.
# Target (issue 10): a restarted node with 1,000 registered disks accepts commands in under 10 s.
#
# Knobs (environment): COUNTS ("1 10 100 1000"), RESTARTS (3: medians), SIGNAL (KILL or TERM), PARALLEL (8),
# IMAGE_SIZE (256K), JOB_SIZE (16M), JOB_SPEED (65536), TIMEOUT (600: seconds a restart may take before the run fails), WORKDIR
# (/tmp/bench-restart-disks; results.jsonl is appended), ORCH (the built orchestrator.dll; default
# src/Orchestrator.Cli's Release build). Needs qemu-utils, python3, curl, coreutils (xargs, numfmt).
#
# Do not quote numbers from a loaded machine. Smoke run: COUNTS="1 10 100" RESTARTS=1 bench/restart-1000-disks.sh
set -euo pipefail
export LC_ALL=C

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$REPO_ROOT/bench"
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

COUNTS=${COUNTS:-1 10 100 1000}
RESTARTS=${RESTARTS:-3}
SIGNAL=${SIGNAL:-KILL}
PARALLEL=${PARALLEL:-8}
IMAGE_SIZE=${IMAGE_SIZE:-256K}
JOB_SIZE=${JOB_SIZE:-16M}
JOB_SPEED=${JOB_SPEED:-65536}
TIMEOUT=${TIMEOUT:-600}
WORKDIR=${WORKDIR:-/tmp/bench-restart-disks}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator.dll}
RESULTS=$WORKDIR/results.jsonl
LOGS=$WORKDIR/logs
RUN_ID=$(date +%Y%m%d-%H%M%S)

need qemu-img "apt-get install qemu-utils"
need qemu-io "apt-get install qemu-utils"
need python3 "apt-get install python3"
need curl "apt-get install curl"
need xargs "apt-get install findutils"
need numfmt "apt-get install coreutils"
need dotnet "install the .NET 10 SDK"
read -r -a COUNT_LIST <<< "$COUNTS"
(( ${#COUNT_LIST[@]} )) || die "COUNTS is empty"
for n in "${COUNT_LIST[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] && (( n <= 100000 )) || die "COUNTS: '$n' is not a count from 1 to 100000"
done
[[ $RESTARTS =~ ^[1-9][0-9]*$ ]] || die "RESTARTS=$RESTARTS must be a positive integer"
[[ $SIGNAL == KILL || $SIGNAL == TERM ]] || die "SIGNAL=$SIGNAL must be KILL or TERM"
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] && (( PARALLEL <= 64 )) || die "PARALLEL=$PARALLEL must be from 1 to 64"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT=$TIMEOUT must be a positive number of seconds"
IMAGE_BYTES=$(numfmt --from=iec "$IMAGE_SIZE" 2>/dev/null) || die "IMAGE_SIZE=$IMAGE_SIZE is not a size like 256K"
(( IMAGE_BYTES >= 4096 && IMAGE_BYTES % 4096 == 0 )) || die "IMAGE_SIZE=$IMAGE_SIZE must be a multiple of 4K"
[[ -f $ORCH ]] || die "no orchestrator.dll at $ORCH: dotnet build src/Orchestrator.Cli -c Release, or set ORCH"
ORCH=$(realpath "$ORCH")

mkdir -p "$WORKDIR" "$LOGS"
ROUND=$WORKDIR/round
TEMPLATE=$WORKDIR/template
RUNS_JSONL=$WORKDIR/runs-$RUN_ID.jsonl
trap stop_node EXIT

# The one chain every disk copies: backing files are recorded by bare name, so a copied folder is a working chain.
rm -rf "$TEMPLATE" && mkdir -p "$TEMPLATE"
qemu-img create -q -f qcow2 -o cluster_size=4096 "$TEMPLATE/A.qcow2" "$IMAGE_BYTES"
qemu-io -f qcow2 -c "write -P 0x5a 0 $IMAGE_BYTES" "$TEMPLATE/A.qcow2" > /dev/null
qemu-img create -q -f qcow2 -o cluster_size=4096 -b A.qcow2 -F qcow2 "$TEMPLATE/B.qcow2"
# The merging disk's chain: the same shape, JOB_SIZE of data to stream.
JOB_TEMPLATE=$WORKDIR/job-template
rm -rf "$JOB_TEMPLATE" && mkdir -p "$JOB_TEMPLATE"
qemu-img create -q -f qcow2 "$JOB_TEMPLATE/A.qcow2" "$JOB_SIZE"
qemu-img create -q -f qcow2 -b A.qcow2 -F qcow2 "$JOB_TEMPLATE/C.qcow2"
qemu-io -f qcow2 -c "write -P 0x3c 0 $JOB_SIZE" "$JOB_TEMPLATE/C.qcow2" > /dev/null
qemu-img create -q -f qcow2 -b C.qcow2 -F qcow2 "$JOB_TEMPLATE/B.qcow2"

# verify_disk K TOP [REF]: the chain of disk dK, whose active image is TOP, is clean and reads as REF (default A.qcow2,
# in the disk's folder). Appends to PROBLEMS.
verify_disk() {
  local top=$ROUND/images/d$1/$2 ref=${3:-A.qcow2} out rc=0
  out=$(qemu-img check -q "$top" 2>&1) || PROBLEMS+=("d$1: qemu-img check of $top: $out")
  out=$(qemu-img compare -q "$top" "$ROUND/images/d$1/$ref" 2>&1) || rc=$?
  (( rc == 0 )) || PROBLEMS+=("d$1: $top does not read as $ref ($out)")
}

# count N: registers N disks, then restarts the node RESTARTS times; one line per restart in RUNS_JSONL.
count() {
  local n=$1 k t0 t1 reg_s node_log=$LOGS/node-$1.log out r listed job=() merging=""
  rm -rf "$ROUND"
  mkdir -p "$ROUND/images"
  for (( k = 1; k <= n; k++ )); do cp -r "$TEMPLATE" "$ROUND/images/d$k"; done
  if (( n > 1 )); then
    # The disk a restart would start last if disks started in id order (d999 of 1000), not the command's.
    merging=$(seq 1 $(( n - 1 )) | sed 's/^/d/' | sort | tail -1)
    rm -rf "${ROUND:?}/images/$merging" && cp -r "$JOB_TEMPLATE" "$ROUND/images/$merging"
    job=(--job merge)
  fi
  sync
  : > "$node_log"
  start_node "$ROUND/data" "$ROUND/images" 127.0.0.1:0 "$node_log"
  wait_node "$ROUND/data" "$node_log"
  log "$n disk(s): registering, $PARALLEL at a time"
  t0=$EPOCHREALTIME
  seq 1 "$n" | xargs -P "$PARALLEL" -I{} curl -fsS -m 300 -o /dev/null -H "Authorization: Bearer $NODE_TOKEN" \
      -H 'Content-Type: application/json' -d "{\"id\":\"d{}\",\"path\":\"$ROUND/images/d{}/B.qcow2\"}" "$NODE_URL/disks" \
    || die "registering $n disks failed (node log: $node_log)"
  t1=$EPOCHREALTIME
  reg_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  listed=$(api GET /disks | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
  (( listed == n )) || die "GET /disks lists $listed disks after registering $n"
  log "$n disk(s) registered in $reg_s s"
  if [[ -n $merging ]]; then
    api POST "/disks/$merging/stream" "{\"job-id\":\"merge\",\"base\":\"A.qcow2\",\"speed\":$JOB_SPEED}" > /dev/null \
      || die "starting the stream on $merging failed (node log: $node_log)"
    log "a stream runs on $merging at $JOB_SPEED bytes/s"
  fi

  for (( r = 1; r <= RESTARTS; r++ )); do
    stop_node "$SIGNAL"
    start_node "$ROUND/data" "$ROUND/images" 127.0.0.1:0 "$node_log"
    out=$(python3 "$BENCH_DIR/restart_probe.py" --data "$ROUND/data" --since "$NODE_STARTED" --count "$n" \
          --last "d$n" --snapshot "$ROUND/images/d$n/S$r.qcow2" "${job[@]}" --timeout "$TIMEOUT") \
      || die "restart $r with $n disks failed (node log: $node_log)"
    log "$n disk(s), restart $r ($SIGNAL): $out"
    python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(disks=int(sys.argv[2]), restart=int(sys.argv[3]), register_s=float(sys.argv[4])); print(json.dumps(r))' \
      "$out" "$n" "$r" "$reg_s" >> "$RUNS_JSONL.pending"
  done
  stop_node TERM

  PROBLEMS=()
  (( n > 1 )) && verify_disk 1 B.qcow2
  # The merging disk reads as C (its data over an empty A), however far the stream got.
  [[ -n $merging ]] && verify_disk "${merging#d}" B.qcow2 C.qcow2
  verify_disk "$n" "S$RESTARTS.qcow2"
  local backing
  backing=$(qemu-img info --output=json "$ROUND/images/d$n/S$RESTARTS.qcow2" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("backing-filename", ""))')
  local expected=B.qcow2
  (( RESTARTS > 1 )) && expected=S$(( RESTARTS - 1 )).qcow2
  [[ $(basename "$backing") == "$expected" ]] || PROBLEMS+=("d$n: S$RESTARTS.qcow2 backs onto '$backing', not $expected")
  if (( ${#PROBLEMS[@]} )); then
    rm -f "$RUNS_JSONL.pending"
    die "$n disks: ${PROBLEMS[*]} (kept in $ROUND)"
  fi
  cat "$RUNS_JSONL.pending" >> "$RUNS_JSONL"
  rm -f "$RUNS_JSONL.pending"
}

for n in "${COUNT_LIST[@]}"; do count "$n"; done
rm -rf "$ROUND"

python3 - "$RUNS_JSONL" "$RESULTS" "$RUN_ID" "$(repo_commit)" "$SIGNAL" <<'PYEOF'
import json, statistics, sys
runs_file, results, run_id, commit, signal = sys.argv[1:]
runs = [json.loads(line) for line in open(runs_file)]
by_n = {}
for r in runs:
    by_n.setdefault(r["disks"], []).append(r)
def med(rs, key):
    return statistics.median(r[key] for r in rs)
print(f"{'disks':>6} {'register/s':>10} {'answer s':>9} {'listed s':>9} {'command s':>10} {'ready s':>8} {'job runs s':>10} {'failed cmds':>11}")
with open(results, "a") as out:
    for n in sorted(by_n):
        rs = by_n[n]
        row = {k: med(rs, f"{k}_s") for k in ("answer", "listed", "command", "ready")}
        if all("job_s" in r for r in rs):
            row["job"] = med(rs, "job_s")
        rate = n / rs[0]["register_s"]
        failed = sum(r["failed_commands"] for r in rs)
        job = f"{row['job']:>10.3f}" if "job" in row else f"{'-':>10}"
        print(f"{n:>6} {rate:>10.1f} {row['answer']:>9.3f} {row['listed']:>9.3f} {row['command']:>10.3f} {row['ready']:>8.3f} {job} {failed:>11}")
        out.write(json.dumps({"bench": "restart-disks", "run": run_id, "commit": commit, "signal": signal, "disks": n,
                              "restarts": len(rs), "register_s": rs[0]["register_s"],
                              **{f"median_{k}_s": v for k, v in row.items()}, "failed_commands": failed}) + "\n")
print(f"medians of the restarts (SIG{signal}), seconds from the process start; target: 1000 disks accept commands in under 10 s")
PYEOF
log "results appended to $RESULTS; per-restart lines in $RUNS_JSONL; node logs in $LOGS"
