#!/usr/bin/env bash
# open-scaling.sh - how the cost of opening an image grows with its metadata, ours against qemu-img's.
#
# For every size, one image made by `qemu-img create -f qcow2 -o preallocation=metadata` (every L2 table and
# refcount block exists, so metadata grows with the size: about 2 MiB of L2 tables per 16 GiB at 64 KiB clusters).
# Then, per verb, RUNS timed runs of each tool on the same file, alternating who goes first:
#   rebase:  a writable open plus one header write (no backing file before or after):
#              qemu-img rebase -u -f qcow2 -b '' FILE
#              orchestrator image rebase -u -b '' FILE
#   check:   a full metadata check, read-only:
#              qemu-img check -f qcow2 FILE
#              orchestrator image check FILE
#   floor:   each tool's process floor, `info` of a 1 MiB image (runtime start, argument parsing, one tiny open):
#              qemu-img info -f qcow2 FILE / orchestrator image info FILE
#            The tables also give (tool - its floor) for each tool and their ratio: the cost of the open or
#            check itself, apart from process start.
# Each run is verified (untimed): exit status, then qemu-img check of the file (exit 0, and not left dirty).
# Prints one line per run and a table of medians with ours/qemu per size; appends the table as JSON lines to
# $WORKDIR/results.jsonl. Exits non-zero if a run failed verification.
#
# Knobs (environment):
#   SIZES="1G 16G 256G 1T"   virtual sizes (numfmt --from=iec syntax)
#   VERBS="rebase check"
#   CLUSTER=65536
#   RUNS=5                   timed runs per tool, verb and size
#   WARMUP=1                 untimed runs of each tool per verb and size first
#   WORKDIR=/tmp/orch-open-bench   the images take ~ (size / 8192) bytes each on disk (128 MiB for 1 TiB)
#   ORCH=path                use this CLI binary instead of building src/Orchestrator.Cli (Release)
#
# Targets: rebase at most 2x qemu-img at every size (issue 8); check at most 1.0x (issue 11).
# Example:  SIZES="1G 16G" RUNS=3 bench/open-scaling.sh
#
# Needs qemu-utils (qemu-img), time (/usr/bin/time), python3, coreutils, and the .NET SDK unless ORCH is set.

set -euo pipefail
export LC_ALL=C          # '.' as decimal separator in $EPOCHREALTIME, awk and numfmt

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_DIR")
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

SIZES=${SIZES:-1G 16G 256G 1T}
VERBS=${VERBS:-rebase check}
CLUSTER=${CLUSTER:-65536}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
WORKDIR=${WORKDIR:-/tmp/orch-open-bench}
ORCH_GIVEN=${ORCH:+yes}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator}
LOGS=$WORKDIR/logs
RESULTS=$WORKDIR/results.jsonl
RUNS_TSV=$WORKDIR/runs.tsv
RUN_ID=$(date +%Y%m%d-%H%M%S)
FAILURES=0

validate_knobs() {
  local s v
  for s in $SIZES; do
    numfmt --from=iec "$s" > /dev/null 2>&1 || die "SIZES: '$s' is not a size like 16G or 1T"
  done
  [[ -n ${SIZES// /} ]] || die "SIZES is empty"
  for v in $VERBS; do
    [[ $v == rebase || $v == check ]] || die "VERBS: unknown verb '$v' (use rebase and/or check)"
  done
  [[ -n ${VERBS// /} ]] || die "VERBS is empty"
  [[ $CLUSTER =~ ^[0-9]+$ ]] && (( CLUSTER >= 512 && CLUSTER <= 2097152 && (CLUSTER & (CLUSTER - 1)) == 0 )) \
    || die "CLUSTER=$CLUSTER must be a power of two from 512 to 2M"
  [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS must be a positive integer"
  [[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP=$WARMUP must be a non-negative integer"
}

# Sets CMD to VERB by TOOL (qemu|ours) on FILE.
tool_command() {
  local verb=$1 tool=$2 file=$3
  case $verb/$tool in
    rebase/qemu) CMD=(qemu-img rebase -u -f qcow2 -b '' "$file") ;;
    rebase/ours) CMD=("$ORCH" image rebase -u -b '' "$file") ;;
    check/qemu) CMD=(qemu-img check -f qcow2 "$file") ;;
    check/ours) CMD=("$ORCH" image check "$file") ;;
    floor/qemu) CMD=(qemu-img info -f qcow2 "$file") ;;
    floor/ours) CMD=("$ORCH" image info "$file") ;;
  esac
}

# time_cmd OUT: runs CMD with no terminal, output to OUT; sets ELAPSED (wall seconds) and CPU (user + system
# seconds, from /usr/bin/time: on a loaded machine the steadier of the two); returns CMD's status.
time_cmd() {
  local out=$1 t0 t1 rc=0 cpu_file="$WORKDIR/.cpu"
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S' -o "$cpu_file" "${CMD[@]}" < /dev/null > "$out" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
  CPU=$(awk 'END { printf "%.3f", $1 + $2 }' "$cpu_file")
  return $rc
}

# The file must still be clean for qemu-img: no corruption, no leak, dirty bit clear.
verify_file() {
  local file=$1 out rc=0
  out=$(qemu-img check -f qcow2 "$file" 2>&1) || rc=$?
  (( rc == 0 )) || PROBLEMS+=("qemu-img check exit $rc: $(head -2 <<< "$out" | tr '\n' ' ')")
  qemu-img info --output=json -f qcow2 "$file" | grep -q '"dirty-flag": false' || PROBLEMS+=("left with the dirty bit set")
}

bench_one() {
  local size=$1 verb=$2 tool=$3 run=$4 file=$5 ok=1 p
  local log="$LOGS/$size-$verb-$tool-run$run.log"
  PROBLEMS=()
  tool_command "$verb" "$tool" "$file"
  time_cmd "$log" || PROBLEMS+=("exit status $? (output: $log)")
  verify_file "$file"
  printf '[%-5s %-6s] run %d/%d  %-4s  %8.4f s  cpu %6.3f s  %s\n' "$size" "$verb" "$run" "$RUNS" "$tool" "$ELAPSED" "$CPU" \
    "$([[ ${#PROBLEMS[@]} == 0 ]] && echo "verify ok" || echo "VERIFY FAILED")"
  if (( ${#PROBLEMS[@]} )); then
    ok=0
    FAILURES=$((FAILURES + 1))
    for p in "${PROBLEMS[@]}"; do echo "***   $size $verb $tool run $run: $p"; done
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$verb" "$tool" "$run" "$ELAPSED" "$ok" "$CPU" >> "$RUNS_TSV"
}

bench_size() {
  local size=$1 verbs=${2:-$VERBS} file="$WORKDIR/prealloc-$1.qcow2" verb run i tool
  log "creating $file (preallocation=metadata, cluster $CLUSTER)"
  rm -f "$file"
  qemu-img create -q -f qcow2 -o preallocation=metadata,cluster_size="$CLUSTER" "$file" "$size"
  log "  $(du -h "$file" | cut -f1) on disk"
  sync
  for verb in $verbs; do
    for (( i = 1; i <= WARMUP; i++ )); do
      for tool in ours qemu; do
        tool_command "$verb" "$tool" "$file"
        time_cmd "$LOGS/$size-$verb-$tool-warmup$i.log" || true
      done
    done
    for (( run = 1; run <= RUNS; run++ )); do
      if (( run % 2 == 1 )); then
        bench_one "$size" "$verb" ours "$run" "$file"
        bench_one "$size" "$verb" qemu "$run" "$file"
      else
        bench_one "$size" "$verb" qemu "$run" "$file"
        bench_one "$size" "$verb" ours "$run" "$file"
      fi
    done
  done
  rm -f "$file"
}

summarize() {
  python3 - "$RUNS_TSV" "$RESULTS" "$RUN_ID" "$CLUSTER" "$(qemu_version)" "$(repo_commit)" <<'PYEOF'
import json, statistics, sys
tsv, results, run_id, cluster, qemu_version, commit = sys.argv[1:]
TARGET = {"rebase": 2.0, "check": 1.0}
rows = {}
order = []
for line in open(tsv):
    size, verb, tool, run, secs, ok, cpu = line.rstrip("\n").split("\t")
    if (verb, size) not in rows:
        order.append((verb, size))
    rows.setdefault((verb, size), {}).setdefault(tool, []).append((float(secs), ok == "1", float(cpu)))
floor = {}
for key, tools in rows.items():
    if key[0] == "floor":
        floor = {t: statistics.median(x[0] for x in tools[t]) for t in ("qemu", "ours")}
        print(f"process floor (info of a 1 MiB image), medians: qemu-img {floor['qemu']:.4f} s, ours {floor['ours']:.4f} s")
with open(results, "a") as out:
    for verb in ("rebase", "check"):
        keys = [k for k in order if k[0] == verb]
        if not keys:
            continue
        print(f"\n{verb}: medians in seconds, target ours/qemu <= {TARGET[verb]}")
        print(f"{'size':>6} {'runs':>4} {'qemu-img s':>10} {'ours s':>8} {'ours/qemu':>9}"
              f" {'qemu-floor':>10} {'ours-floor':>10} {'ratio':>6} {'cpu qemu':>8} {'cpu ours':>8} {'ratio':>6}  verdict")
        for key in keys:
            tools = rows[key]
            med = {t: statistics.median(x[0] for x in tools[t]) for t in ("qemu", "ours")}
            failures = sum(1 for t in ("qemu", "ours") for x in tools[t] if not x[1])
            ratio = med["ours"] / med["qemu"] if med["qemu"] > 0 else float("inf")
            met = failures == 0 and ratio <= TARGET[verb]
            verdict = f"INVALID: {failures} run(s) failed verification" if failures else ("met" if met else "NOT met")
            net = {t: med[t] - floor.get(t, 0.0) for t in ("qemu", "ours")}
            net_ratio = net["ours"] / net["qemu"] if net["qemu"] > 0 else float("inf")
            cpu = {t: statistics.median(x[2] for x in tools[t]) for t in ("qemu", "ours")}
            cpu_ratio = cpu["ours"] / cpu["qemu"] if cpu["qemu"] > 0 else float("inf")
            print(f"{key[1]:>6} {len(tools['ours']):>4} {med['qemu']:>10.4f} {med['ours']:>8.4f} {ratio:>9.2f}"
                  f" {net['qemu']:>10.4f} {net['ours']:>10.4f} {net_ratio:>6.2f}"
                  f" {cpu['qemu']:>8.3f} {cpu['ours']:>8.3f} {cpu_ratio:>6.2f}  {verdict}")
            out.write(json.dumps({"run_id": run_id, "commit": commit, "verb": verb, "size": key[1], "cluster": int(cluster),
                                  "qemu_version": qemu_version,
                                  "qemu_s": [x[0] for x in tools["qemu"]], "ours_s": [x[0] for x in tools["ours"]],
                                  "qemu_median_s": med["qemu"], "ours_median_s": med["ours"],
                                  "ratio_ours_over_qemu": round(ratio, 3), "floor_s": floor,
                                  "ratio_without_floor": round(net_ratio, 3),
                                  "cpu_qemu_median_s": cpu["qemu"], "cpu_ours_median_s": cpu["ours"],
                                  "target": TARGET[verb], "target_met": met}) + "\n")
print("\nwall time of the whole process for both tools (ours includes the .NET runtime's start); the verdict is on"
      " ours/qemu; 'ratio' is (ours - its floor) / (qemu-img - its floor), the open or check without process start")
PYEOF
}

main() {
  need qemu-img "apt-get install qemu-utils"
  need python3 "apt-get install python3"
  need numfmt "apt-get install coreutils"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time not found: apt-get install time"
  validate_knobs
  mkdir -p "$WORKDIR" "$LOGS"
  build_unless_given "$ORCH_GIVEN" src/Orchestrator.Cli ORCH
  log "ours: $ORCH"
  log "qemu: $(qemu_version)"
  log "sizes '$SIZES', verbs '$VERBS', cluster $CLUSTER, $RUNS run(s) each"
  : > "$RUNS_TSV"
  local size
  bench_size 1M floor
  for size in $SIZES; do bench_size "$size"; done
  summarize
  log "results appended to $RESULTS; per-run logs in $LOGS"
  if (( FAILURES )); then
    echo "*** $FAILURES run(s) FAILED verification; see the *** lines above" >&2
    exit 1
  fi
}

main "$@"
