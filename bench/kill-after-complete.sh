#!/usr/bin/env bash
# kill-after-complete.sh - is a finished stream durable? Each system streams the seeded chain A <- B <- C <- D
# (base A) and is killed with SIGKILL the moment its BLOCK_JOB_COMPLETED arrives: no close, no flush, as a crash
# right after the job would. Then, untimed, D on disk must back onto A.qcow2, pass qemu-img check, and read exactly
# as the chain did before the job (qemu-img compare against the guest view). A job time that ends before the data
# is safe is not comparable with one that ends after: this script shows which kind each system's is.
#   qemu   qemu-storage-daemon, block-stream over QMP (bench/qsd_stream.py --kill-after-complete)
#   ours   a real `orchestrator serve` node, stream over its HTTP API (bench/node_stream.py --no-guest --kill-after-complete)
# Prints one line per run and a table of intact results per system and mode. Exits 0 whatever the systems do (the
# table is the result); non-zero only when the script itself cannot run.
#
# Knobs (environment): SIZE=4G CLUSTER=65536 SEED=42 RUNS=3 MODES="page direct" WORKDIR=/tmp/orch-kill-bench
#   NODE=path   use this orchestrator CLI binary instead of building src/Orchestrator.Cli (Release)
#
# Needs qemu-utils, qemu-system-common (qemu-storage-daemon), python3, coreutils, and the .NET SDK unless NODE is set.

set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_DIR")
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

common_knobs /tmp/orch-kill-bench "page direct"
WARMUP=0
NODE_GIVEN=${NODE:+yes}
NODE=${NODE:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator}

require_tools() {
  require_chain_tools
  need qemu-storage-daemon "apt-get install qemu-system-common"
}

# kill_run SYSTEM MODE RUN: one stream killed at its completion event, then the verdict on D.
kill_run() {
  local system=$1 mode=$2 run=$3 log
  log=$LOGS/$mode-$run-$system.log
  fresh_scratch
  if [[ $system == qemu ]]; then
    CMD=(python3 "$BENCH_DIR/qsd_stream.py" --dir "$SCRATCH" --cache-direct "$([[ $mode == direct ]] && echo on || echo off)"
         --kill-after-complete)
  else
    CMD=(python3 "$BENCH_DIR/node_stream.py" --dir "$SCRATCH" --orchestrator "$NODE"
         --cache "$([[ $mode == direct ]] && echo none || echo writeback)" --no-guest --kill-after-complete)
  fi
  time_in_scratch "$log" || die "$system did not complete its stream (log: $log)"
  local job_s
  job_s=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["job_s"])' "$log")

  PROBLEMS=()
  read_scratch_backing || PROBLEMS+=("qemu-img info failed")
  [[ ${BACKING_NAME:-} == A.qcow2 ]] || PROBLEMS+=("backing file is '${BACKING_NAME:-?}', want 'A.qcow2'")
  check_scratch_top
  compare_scratch_top_to_reference
  local verdict=intact
  (( ${#PROBLEMS[@]} == 0 )) || verdict=LOST
  printf '[%-6s] run %d  %-4s  job %6.3f s  after SIGKILL at BLOCK_JOB_COMPLETED: %s%s\n' "$mode" "$run" "$system" "$job_s" \
    "$verdict" "$( (( ${#PROBLEMS[@]} )) && printf ' (%s)' "${PROBLEMS[*]}")"
  echo "{\"mode\": \"$mode\", \"run\": $run, \"system\": \"$system\", \"job_s\": $job_s, \"intact\": $([[ $verdict == intact ]] && echo true || echo false)}" \
    >> "$RUNS_JSONL"
}

main() {
  mkdir -p "$WORKDIR" "$LOGS"
  require_tools
  validate_common_knobs page direct
  echo "seed: $SEED  (rerun this chain with SEED=$SEED)"
  build_unless_given "$NODE_GIVEN" src/Orchestrator.Cli NODE
  RUNS_JSONL=$WORKDIR/runs-current.jsonl
  : > "$RUNS_JSONL"
  log "generating chain A <- B <- C <- D and the reference in $PRISTINE"
  generate_chain
  local mode run
  for mode in $MODES; do
    for (( run = 1; run <= RUNS; run++ )); do
      kill_run qemu "$mode" "$run"
      kill_run ours "$mode" "$run"
    done
  done
  rm -rf "$SCRATCH"
  python3 - "$RUNS_JSONL" "$(qemu_version)" "$(repo_commit)" <<'PYEOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"\n{sys.argv[2]}; commit {sys.argv[3]}")
print(f"{'mode':8} {'system':6} {'intact after SIGKILL at completion':>36} {'median job s':>13}")
for mode in dict.fromkeys(r["mode"] for r in runs):
    for system in ("qemu", "ours"):
        rs = [r for r in runs if r["mode"] == mode and r["system"] == system]
        ok = sum(r["intact"] for r in rs)
        print(f"{mode:8} {system:6} {f'{ok}/{len(rs)}':>36} {statistics.median(r['job_s'] for r in rs):13.3f}")
PYEOF
}

main "$@"
