# lib.sh - helpers shared by the benchmark scripts (stream-vs-qemu.sh, live-stream-vs-qemu.sh, and for the chain and a
# node many-streams.sh, restart-1000-disks.sh, fleet-latency.sh).
# Sourced, not run: the caller sets BENCH_DIR and REPO_ROOT, sources this file, calls common_knobs, and defines
# tool_command TOOL MODE (sets the array CMD), bench_mode MODE and summarize, which the helpers below call.

# shellcheck shell=bash

# common_knobs DEFAULT_WORKDIR DEFAULT_MODES: the knobs both scripts read from the environment (see their headers)
# and the layout of the work folder.
common_knobs() {
  SIZE=${SIZE:-4G}
  CLUSTER=${CLUSTER:-65536}
  SEED=${SEED:-42}
  RUNS=${RUNS:-3}
  WORKDIR=${WORKDIR:-$1}
  MODES=${MODES:-$2}
  WARMUP=${WARMUP:-1}
  PRISTINE=$WORKDIR/pristine      # generated chain + ref.raw; never modified after setup
  SCRATCH=$WORKDIR/scratch        # per-run copy the tools modify
  LOGS=$WORKDIR/logs
  RESULTS=$WORKDIR/results.jsonl  # appended: history across invocations
  RUN_ID=$(date +%Y%m%d-%H%M%S)
  FAILURES=0
  KEPT_FAILURE=""
  D_BEFORE=0                      # D's own allocated bytes in the pristine chain
}

log() { echo "[$(date +%H:%M:%S)] $*"; }
die() { echo "error: $*" >&2; exit 1; }

# ------------------------------------------------------------------ setup checks

# need TOOL HINT: fail at once, saying how to install TOOL, when it is not on PATH.
need() {
  command -v "$1" >/dev/null || die "$1 not found: $2"
}

# What building and checking the chain needs, in every script.
require_chain_tools() {
  need qemu-img "apt-get install qemu-utils"
  need qemu-io "apt-get install qemu-utils"
  need python3 "apt-get install python3"
  need numfmt "apt-get install coreutils"
  [[ -f $BENCH_DIR/gen_chain.py ]] || die "$BENCH_DIR/gen_chain.py is missing"
}

# validate_common_knobs MODE...: rejects bad common knobs (and modes other than the ones named) before spending
# minutes on building a chain. Sets SIZE_BYTES.
validate_common_knobs() {
  SIZE_BYTES=$(numfmt --from=iec "$SIZE" 2>/dev/null) || die "SIZE=$SIZE is not a size like 4G or 512M"
  [[ $CLUSTER =~ ^[0-9]+$ ]] && (( CLUSTER >= 512 && CLUSTER <= 2097152 && (CLUSTER & (CLUSTER - 1)) == 0 )) \
    || die "CLUSTER=$CLUSTER must be a power of two from 512 to 2M"
  (( SIZE_BYTES % CLUSTER == 0 )) || die "SIZE=$SIZE must be a multiple of CLUSTER=$CLUSTER"
  [[ $SEED =~ ^[0-9]+$ ]] || die "SEED=$SEED must be a non-negative integer"
  [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS must be a positive integer"
  [[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP=$WARMUP must be a non-negative integer"
  local m known
  for m in $MODES; do
    for known in "$@"; do [[ $m == "$known" ]] && continue 2; done
    die "MODES: unknown mode '$m' (use $(sed 's/ / and\/or /' <<< "$*"))"
  done
  [[ -n ${MODES// /} ]] || die "MODES is empty"
}

# ------------------------------------------------------------------ the chain

# Feed one layer's planned writes to qemu-io; one process per layer because starting
# qemu-io per write would dominate the setup time.
apply_layer() {
  local layer=$1 args=() cmd
  while IFS= read -r cmd; do args+=(-c "$cmd"); done < "$PRISTINE/cmds_$layer.txt"
  qemu-io -f qcow2 "$PRISTINE/$layer.qcow2" "${args[@]}" > "$LOGS/qemu-io_$layer.log" 2>&1 \
    || { cat "$LOGS/qemu-io_$layer.log" >&2; die "qemu-io failed writing layer $layer"; }
}

# The seeded chain A <- B <- C <- D (gen_chain.py plans the writes) and ref.raw, the guest-visible content of D
# before any job: every result must read back identical. Backing files are recorded by bare name, so a copy of
# the folder is a working chain. Sets D_BEFORE, D's own allocated bytes.
generate_chain() {
  rm -rf "$PRISTINE"
  mkdir -p "$PRISTINE"
  python3 "$BENCH_DIR/gen_chain.py" --size "$SIZE_BYTES" --cluster "$CLUSTER" --seed "$SEED" \
    --outdir "$PRISTINE" > "$PRISTINE/gen.json"
  log "plan: $(cat "$PRISTINE/gen.json")"
  local layer prev=""
  for layer in A B C D; do
    if [[ -z $prev ]]; then
      qemu-img create -q -f qcow2 -o cluster_size="$CLUSTER" "$PRISTINE/$layer.qcow2" "$SIZE_BYTES"
    else
      qemu-img create -q -f qcow2 -o cluster_size="$CLUSTER" -b "$prev.qcow2" -F qcow2 "$PRISTINE/$layer.qcow2"
    fi
    apply_layer "$layer"
    prev=$layer
  done
  qemu-img convert -f qcow2 -O raw "$PRISTINE/D.qcow2" "$PRISTINE/ref.raw"
  D_BEFORE=$(own_allocated_bytes "$PRISTINE/D.qcow2")
}

# Bytes an image itself maps (data and zero clusters), not its backing files.
own_allocated_bytes() {
  qemu-img map -f qcow2 --output=json "$1" | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["depth"] == 0 and e.get("present", True)))'
}

# ------------------------------------------------------------------ one run

# A fresh copy per run: every tool rewrites D in place. sync so one run's writeback
# does not land inside the next run's timing.
fresh_scratch() {
  rm -rf "$SCRATCH"
  mkdir -p "$SCRATCH"
  cp "$PRISTINE"/{A,B,C,D}.qcow2 "$SCRATCH/"
  sync
}

# time_in_scratch OUT [ERR]: runs CMD in the scratch folder with no terminal (so no progress bar is drawn), its
# stdout to OUT and its stderr to ERR (to OUT as well without ERR). Sets ELAPSED (wall seconds). Returns CMD's status.
time_in_scratch() {
  local out=$1 err=${2:-} t0 t1 rc=0
  t0=$EPOCHREALTIME
  if [[ -n $err ]]; then
    ( cd "$SCRATCH" && exec "${CMD[@]}" ) < /dev/null > "$out" 2> "$err" || rc=$?
  else
    ( cd "$SCRATCH" && exec "${CMD[@]}" ) < /dev/null > "$out" 2>&1 || rc=$?
  fi
  t1=$EPOCHREALTIME
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  return $rc
}

# Untimed checks of the scratch chain's D; each appends what it finds wrong to PROBLEMS.
check_scratch_top() {
  local out rc=0
  out=$(qemu-img check -f qcow2 "$SCRATCH/D.qcow2" 2>&1) || rc=$?
  (( rc == 0 )) || PROBLEMS+=("qemu-img check exit $rc: $(grep -m3 -E 'ERROR|Leaked|corrupt|error' <<< "$out" | tr '\n' ' ')")
}

compare_scratch_top_to_reference() {
  local out rc=0
  out=$(qemu-img compare -f qcow2 -F raw "$SCRATCH/D.qcow2" "$PRISTINE/ref.raw" 2>&1) || rc=$?
  (( rc == 0 )) || PROBLEMS+=("qemu-img compare exit $rc: $(head -1 <<< "$out")")
}

# Sets BACKING_NAME and BACKING_FORMAT to what D's header says ("<none>" when absent); returns 1 if qemu-img info fails.
read_scratch_backing() {
  local backing
  backing=$( (cd "$SCRATCH" && qemu-img info --output=json D.qcow2) | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j.get("backing-filename", "<none>"), j.get("backing-filename-format", "<none>"))') || return 1
  BACKING_NAME=${backing% *}
  BACKING_FORMAT=${backing#* }
}

# Keep the first failing chain for inspection; later runs would overwrite the scratch folder.
keep_failure() {
  [[ -n $KEPT_FAILURE ]] && return
  KEPT_FAILURE="$WORKDIR/failed-$1"
  rm -rf "$KEPT_FAILURE"
  mv "$SCRATCH" "$KEPT_FAILURE"
}

# warm_up MODE TOOL...: untimed, unverified passes of each tool, WARMUP times: the first job on a freshly set up
# chain runs slower (about 2x in trials here), whichever tool it is.
warm_up() {
  local mode=$1 i tool
  shift
  for (( i = 1; i <= WARMUP; i++ )); do
    for tool in "$@"; do
      fresh_scratch
      tool_command "$tool" "$mode"
      time_in_scratch "$LOGS/$mode-warmup$i-$tool.log" || true
      echo "[$(printf '%-6s' "$mode")] warm-up $i  $tool  $ELAPSED s (not counted)"
    done
  done
}

# build_unless_given GIVEN PROJECT VAR: builds PROJECT (Release; a path below the repository) unless the caller
# brought a binary (GIVEN non-empty): a stale binary would time old code. Then the file named by the variable VAR
# must be executable, and VAR becomes its full path (the runs start in the scratch folder).
build_unless_given() {
  local given=$1 project=$2 var=$3 name
  name=$(basename "$project")
  if [[ -z $given ]]; then
    command -v dotnet >/dev/null || die "dotnet not found: install the .NET 10 SDK, or set $var=/path/to/the/binary"
    log "building $project (Release)"
    dotnet build "$REPO_ROOT/$project" -c Release -v q > "$LOGS/build-$name.log" 2>&1 \
      || { tail -30 "$LOGS/build-$name.log" >&2; die "dotnet build of $project failed (log: $LOGS/build-$name.log)"; }
  fi
  [[ -x ${!var} ]] || die "$var=${!var} is not an executable file"
  printf -v "$var" '%s' "$(realpath "${!var}")"
}

# The values every summary records: qemu-img's version and the commit measured.
qemu_version() { qemu-img --version | head -1; }
repo_commit() { git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo none; }

# Generates the chain, runs bench_mode for every mode, summarizes; exits 1 if any run failed.
run_modes_and_report() {
  log "generating chain A <- B <- C <- D and the reference in $PRISTINE"
  generate_chain
  log "reference ready; D owns $D_BEFORE bytes before the job"
  local mode
  for mode in $MODES; do bench_mode "$mode"; done
  rm -rf "$SCRATCH"
  summarize
  log "results appended to $RESULTS; per-run logs in $LOGS"
  if (( FAILURES )); then
    echo "*** $FAILURES run(s) FAILED; see the *** lines above" >&2
    exit 1
  fi
}

# ------------------------------------------------------------------ a node (many-streams.sh, restart-1000-disks.sh, checkpoint-pg-vs-sqlite.sh)

# start_node DATA ROOT HTTP LOG [ARG...]: starts `orchestrator serve` ($ORCH, a built orchestrator.dll) in the
# background with data folder DATA, storage root ROOT, its HTTP API on HTTP (127.0.0.1:PORT, or :0 for any port: the
# node writes DATA/endpoint) and its output appended to LOG. Sets NODE_PID and NODE_STARTED ($EPOCHREALTIME just
# before the process starts). A stale DATA/endpoint is removed first, so wait_node never reads the last run's.
start_node() {
  local data=$1 root=$2 http=$3 node_log=$4
  shift 4
  mkdir -p "$data"
  rm -f "$data/endpoint"
  NODE_STARTED=$EPOCHREALTIME
  dotnet "$ORCH" serve --data "$data" --http "$http" --storage-root "$root" "$@" < /dev/null >> "$node_log" 2>&1 &
  NODE_PID=$!
}

# wait_node DATA LOG [SECONDS]: waits until the node started by start_node answers GET /disks; sets NODE_URL and
# NODE_TOKEN. Dies naming LOG when the process exits or SECONDS (default 180) pass.
wait_node() {
  local data=$1 node_log=$2 limit=${3:-180} deadline
  deadline=$(( SECONDS + limit ))
  until [[ -s $data/endpoint && -s $data/token ]] \
      && curl -fsS -m 10 -o /dev/null -H "Authorization: Bearer $(tr -d '\n' < "$data/token")" "$(cat "$data/endpoint")/disks" 2>/dev/null; do
    kill -0 "$NODE_PID" 2>/dev/null || die "the node exited; see $node_log"
    (( SECONDS < deadline )) || die "the node did not answer within $limit s; see $node_log"
    sleep 0.1
  done
  NODE_URL=$(cat "$data/endpoint")
  NODE_TOKEN=$(tr -d '\n' < "$data/token")
}

# stop_node [SIGNAL]: SIGTERM (coordinated shutdown; the default) or KILL the node started by start_node and wait.
stop_node() {
  [[ -n ${NODE_PID:-} ]] || return 0
  kill "-${1:-TERM}" "$NODE_PID" 2>/dev/null || true
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=""
}

# api METHOD PATH [JSON]: one request to the node (NODE_URL, NODE_TOKEN); prints the body, fails on an HTTP error.
api() {
  local args=(-fsS -m 120 -X "$1" -H "Authorization: Bearer $NODE_TOKEN")
  [[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "$NODE_URL$2"
}
