#!/usr/bin/env bash
# open-scaling.sh - how the cost of opening an image grows with its metadata, ours against qemu-img's.
#
# For every size, one image made by `qemu-img create -f qcow2 -o preallocation=metadata` (every L2 table and
# refcount block exists, so metadata grows with the size: about 2 MiB of L2 tables per 16 GiB at 64 KiB clusters).
# Then, per verb, RUNS timed runs of each of three tools on the same file, rotating who goes first: qemu-img, ours
# (the `orchestrator` CLI, .NET with ReadyToRun) and img (`orchestrator-img`, the same image verbs compiled Native AOT):
#   rebase:  a writable open plus one header write (no backing file before or after):
#              qemu-img rebase -u -f qcow2 -b '' FILE
#              orchestrator image rebase -u -b '' FILE
#              orchestrator-img rebase -u -b '' FILE
#   check:   a full metadata check, read-only:
#              qemu-img check -f qcow2 FILE
#              orchestrator image check FILE
#              orchestrator-img check FILE
#   floor:   each tool's process floor, `info` of a 1 MiB image (runtime start, argument parsing, one tiny open):
#              qemu-img info -f qcow2 FILE / orchestrator image info FILE / orchestrator-img info FILE
#            The tables also give (tool - its floor) for each tool and their ratio: the cost of the open or
#            check itself, apart from process start.
# Each run is verified (untimed): exit status, then qemu-img check of the file (exit 0, and not left dirty).
# Before any timing, orchestrator-img must print exactly what `orchestrator image` prints (info, info --output json
# --backing-chain, map, check of a small chain): the two share their code, this checks the AOT build of it.
# Prints one line per run and a table of medians with ours/qemu and img/qemu per size; appends the table as JSON lines to
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
#   ORCH_IMG=path            use this orchestrator-img instead of publishing src/Orchestrator.ImageTool (Native AOT,
#                            linux-x64) into $WORKDIR/orchestrator-img (a few minutes; needs clang and zlib1g-dev)
#
# Targets: rebase at most 2x qemu-img at every size (issue 8); check at most 1.0x (issue 11).
# Example:  SIZES="1G 16G" RUNS=3 bench/open-scaling.sh
#
# Needs qemu-utils (qemu-img), time (/usr/bin/time), python3, coreutils, and the .NET SDK unless ORCH and ORCH_IMG are set.

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
ORCH_IMG_GIVEN=${ORCH_IMG:+yes}
ORCH_IMG=${ORCH_IMG:-$WORKDIR/orchestrator-img/orchestrator-img}
TOOLS=(qemu ours img)
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

# Sets CMD to VERB by TOOL (qemu|ours|img) on FILE.
tool_command() {
  local verb=$1 tool=$2 file=$3
  case $verb/$tool in
    rebase/qemu) CMD=(qemu-img rebase -u -f qcow2 -b '' "$file") ;;
    rebase/ours) CMD=("$ORCH" image rebase -u -b '' "$file") ;;
    rebase/img) CMD=("$ORCH_IMG" rebase -u -b '' "$file") ;;
    check/qemu) CMD=(qemu-img check -f qcow2 "$file") ;;
    check/ours) CMD=("$ORCH" image check "$file") ;;
    check/img) CMD=("$ORCH_IMG" check "$file") ;;
    floor/qemu) CMD=(qemu-img info -f qcow2 "$file") ;;
    floor/ours) CMD=("$ORCH" image info "$file") ;;
    floor/img) CMD=("$ORCH_IMG" info "$file") ;;
  esac
}

# Publishes orchestrator-img (Native AOT) unless ORCH_IMG was given, as build_unless_given does for the CLI.
publish_image_tool_unless_given() {
  if [[ -z $ORCH_IMG_GIVEN ]]; then
    command -v dotnet >/dev/null || die "dotnet not found: install the .NET 10 SDK, or set ORCH_IMG=/path/to/orchestrator-img"
    command -v clang >/dev/null || command -v clang-14 >/dev/null \
      || die "Native AOT needs clang: apt-get install clang zlib1g-dev, or set ORCH_IMG=/path/to/orchestrator-img"
    log "publishing src/Orchestrator.ImageTool (Release, Native AOT, linux-x64)"
    dotnet publish "$REPO_ROOT/src/Orchestrator.ImageTool" -c Release -r linux-x64 -o "$(dirname "$ORCH_IMG")" \
      > "$LOGS/publish-orchestrator-img.log" 2>&1 \
      || { tail -30 "$LOGS/publish-orchestrator-img.log" >&2; die "dotnet publish of src/Orchestrator.ImageTool failed (log: $LOGS/publish-orchestrator-img.log)"; }
  fi
  [[ -x $ORCH_IMG ]] || die "ORCH_IMG=$ORCH_IMG is not an executable file"
  ORCH_IMG=$(realpath "$ORCH_IMG")
}

# orchestrator-img prints, byte for byte, what `orchestrator image` prints (stdout, stderr and exit status) for
# info, info --output json --backing-chain, map and check of a small chain; dies with the difference otherwise.
verify_same_output() {
  local dir="$WORKDIR/same-output" args a b
  rm -rf "$dir" && mkdir -p "$dir"
  qemu-img create -q -f qcow2 "$dir/base.qcow2" 64M
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$dir/top.qcow2"
  qemu-io -f qcow2 -c 'write -P 7 1M 128k' "$dir/top.qcow2" > /dev/null
  for args in "info top.qcow2" "info --output json --backing-chain top.qcow2" "map top.qcow2" "check top.qcow2" \
      "info missing.qcow2"; do
    # shellcheck disable=SC2086 # the verb's words
    a=$(cd "$dir" && { "$ORCH" image $args 2>&1; echo "exit $?"; } | sed 's/^orchestrator: //')
    # shellcheck disable=SC2086
    b=$(cd "$dir" && { "$ORCH_IMG" $args 2>&1; echo "exit $?"; } | sed 's/^orchestrator-img: //')
    [[ $a == "$b" ]] || die "orchestrator-img $args differs from orchestrator image $args:
$(diff <(echo "$a") <(echo "$b"))"
  done
  rm -rf "$dir"
  log "orchestrator-img prints what orchestrator image prints (info, info --output json --backing-chain, map, check, an error)"
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
      for tool in "${TOOLS[@]}"; do
        tool_command "$verb" "$tool" "$file"
        time_cmd "$LOGS/$size-$verb-$tool-warmup$i.log" || true
      done
    done
    for (( run = 1; run <= RUNS; run++ )); do
      # Rotate who goes first: run 1 qemu ours img, run 2 ours img qemu, run 3 img qemu ours, ...
      for (( i = 0; i < ${#TOOLS[@]}; i++ )); do
        bench_one "$size" "$verb" "${TOOLS[(run - 1 + i) % ${#TOOLS[@]}]}" "$run" "$file"
      done
    done
  done
  rm -f "$file"
}

summarize() {
  python3 - "$RUNS_TSV" "$RESULTS" "$RUN_ID" "$CLUSTER" "$(qemu_version)" "$(repo_commit)" <<'PYEOF'
import json, statistics, sys
tsv, results, run_id, cluster, qemu_version, commit = sys.argv[1:]
TARGET = {"rebase": 2.0, "check": 1.0}
OURS = ("ours", "img")  # the orchestrator CLI (ReadyToRun) and orchestrator-img (Native AOT), each against qemu-img
rows = {}
order = []
for line in open(tsv):
    size, verb, tool, run, secs, ok, cpu = line.rstrip("\n").split("\t")
    if (verb, size) not in rows:
        order.append((verb, size))
    rows.setdefault((verb, size), {}).setdefault(tool, []).append((float(secs), ok == "1", float(cpu)))

def median(samples, field):
    return statistics.median(x[field] for x in samples)

def ratio(a, b):
    return a / b if b > 0 else float("inf")

floor = {}
for key, tools in rows.items():
    if key[0] == "floor":
        floor = {t: median(tools[t], 0) for t in tools}
        print("process floor (info of a 1 MiB image), medians: "
              + ", ".join(f"{name} {floor[t]:.4f} s" for t, name in (("qemu", "qemu-img"), ("ours", "orchestrator"), ("img", "orchestrator-img"))))
with open(results, "a") as out:
    for verb in ("rebase", "check"):
        keys = [k for k in order if k[0] == verb]
        if not keys:
            continue
        print(f"\n{verb}: medians in seconds, target <= {TARGET[verb]}x qemu-img")
        print(f"{'size':>6} {'runs':>4} {'tool':>4} {'wall s':>8} {'/qemu':>6} {'-floor s':>8} {'/qemu':>6}"
              f" {'cpu s':>7} {'/qemu':>6}  verdict")
        for key in keys:
            tools = rows[key]
            med = {t: median(tools[t], 0) for t in tools}
            cpu = {t: median(tools[t], 2) for t in tools}
            net = {t: med[t] - floor.get(t, 0.0) for t in tools}
            record = {"run_id": run_id, "commit": commit, "verb": verb, "size": key[1], "cluster": int(cluster),
                      "qemu_version": qemu_version, "floor_s": floor, "target": TARGET[verb]}
            for t in ("qemu",) + OURS:
                failures = sum(1 for x in tools[t] if not x[1]) + (sum(1 for x in tools["qemu"] if not x[1]) if t != "qemu" else 0)
                r, r_net, r_cpu = ratio(med[t], med["qemu"]), ratio(net[t], net["qemu"]), ratio(cpu[t], cpu["qemu"])
                met = failures == 0 and r <= TARGET[verb]
                verdict = ("" if t == "qemu" else
                           f"INVALID: {failures} run(s) failed verification" if failures else ("met" if met else "NOT met"))
                print(f"{key[1]:>6} {len(tools[t]):>4} {t:>4} {med[t]:>8.4f} {r:>6.2f} {net[t]:>8.4f} {r_net:>6.2f}"
                      f" {cpu[t]:>7.3f} {r_cpu:>6.2f}  {verdict}")
                record[f"{t}_s"] = [x[0] for x in tools[t]]
                record[f"{t}_median_s"] = med[t]
                record[f"cpu_{t}_median_s"] = cpu[t]
                if t != "qemu":
                    record[f"ratio_{t}_over_qemu"] = round(r, 3)
                    record[f"ratio_{t}_without_floor"] = round(r_net, 3)
                    record[f"target_met_{t}"] = met
            out.write(json.dumps(record) + "\n")
print("\nwall time of the whole process (ours = `orchestrator image`, which includes the .NET runtime's start;"
      " img = orchestrator-img, Native AOT); '/qemu' is the ratio to qemu-img's median; '-floor' is the median"
      " minus that tool's own floor: the open or check without process start")
PYEOF
}

main() {
  need qemu-img "apt-get install qemu-utils"
  need python3 "apt-get install python3"
  need numfmt "apt-get install coreutils"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time not found: apt-get install time"
  validate_knobs
  mkdir -p "$WORKDIR" "$LOGS"
  need qemu-io "apt-get install qemu-utils"
  build_unless_given "$ORCH_GIVEN" src/Orchestrator.Cli ORCH
  publish_image_tool_unless_given
  log "ours: $ORCH"
  log "img:  $ORCH_IMG"
  verify_same_output
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
