#!/usr/bin/env bash
# nbd-vs-qemu-nbd.sh - guest I/O over NBD: a disk exported by `orchestrator serve` against the same qcow2 image
# exported by qemu-storage-daemon, both over a Unix socket, both measured by fio's nbd engine (libnbd).
#
# For each cache mode (none = O_DIRECT, writeback = page cache) each server gets a fresh copy of one fully allocated
# image, and fio runs, one after the other:
#   4k randread QD1, 4k randread QD16, 4k randwrite QD1, 4k randwrite QD16, 1M read QD8, 1M write QD8
# printing IOPS (or MiB/s) and p99 completion latency for both, and the ratio ours/qemu (IOPS: higher is better;
# p99: lower is better). After the writes, qemu-img check must find the image clean.
#
# Knobs: SIZE=1G RUNTIME=10 MODES="none writeback" WORKDIR=/tmp/orch-nbd-bench ORCH=path-to-orchestrator
# Needs qemu-utils (qemu-img, qemu-io), qemu-system-common (qemu-storage-daemon), fio with the nbd engine,
# python3, and a Release build of src/Orchestrator.Cli. Run it on a quiet machine: the figures are ratios of
# two runs made minutes apart.
set -euo pipefail
export LC_ALL=C

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-1G}
RUNTIME=${RUNTIME:-10}
MODES=${MODES:-none writeback}
WORKDIR=${WORKDIR:-/tmp/orch-nbd-bench}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator}

die() { echo "error: $*" >&2; exit 1; }
for tool in qemu-img qemu-io qemu-storage-daemon fio python3; do command -v "$tool" >/dev/null || die "$tool not found"; done
fio --enghelp=nbd >/dev/null 2>&1 || die "this fio has no nbd engine (Debian's fio has it; libnbd is needed)"
[ -x "$ORCH" ] || die "$ORCH not found: dotnet build src/Orchestrator.Cli -c Release"
ORCH=$(realpath "$ORCH")   # the runs start in WORKDIR

rm -rf "$WORKDIR" && mkdir -p "$WORKDIR"
cd "$WORKDIR"
qemu-img create -q -f qcow2 pristine.qcow2 "$SIZE"
qemu-io -f qcow2 -c "write -P 0x5a 0 $SIZE" pristine.qcow2 >/dev/null

wait_for() { for _ in $(seq 1 600); do [ -e "$1" ] && return 0; sleep 0.05; done; die "$1 did not appear"; }

# fio_run URI NAME RW BS QD: one fio job; prints "iops p99_us mib_s".
fio_run() {
  local uri=$1 name=$2 rw=$3 bs=$4 qd=$5
  fio --name="$name" --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" --iodepth="$qd" --size="$SIZE" \
      --runtime="$RUNTIME" --time_based --group_reporting --output-format=json >"$name.json" 2>"$name.err" \
    || die "fio $name failed: $(cat "$name.err")"
  python3 - "$name.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
job = json.loads(text[text.index("{"):])["jobs"][0]   # the nbd engine prints "fio: connected to NBD server" first
side = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
p99 = side["clat_ns"].get("percentile", {}).get("99.000000", 0) / 1000
print(f'{side["iops"]:.0f} {p99:.0f} {side["bw_bytes"] / 1048576:.1f}')
PY
}

WORKLOADS=("randread 4k 1" "randread 4k 16" "randwrite 4k 1" "randwrite 4k 16" "read 1M 8" "write 1M 8")

# measure SERVER MODE URI: every workload against URI; lines "SERVER MODE rw bs qd iops p99 mib".
measure() {
  local server=$1 mode=$2 uri=$3 w
  for w in "${WORKLOADS[@]}"; do
    set -- $w
    echo "$server $mode $1 $2 $3 $(fio_run "$uri" "$server-$mode-$1-$2-$3" "$1" "$2" "$3")"
  done
}

ours() {  # $1 = cache mode
  local dir=$WORKDIR/ours-$1 && rm -rf "$dir" && mkdir -p "$dir/images"
  cp pristine.qcow2 "$dir/images/disk.qcow2"
  "$ORCH" serve --data "$dir/data" --http 127.0.0.1:0 --storage-root "$dir/images" --cache "$1" >"$dir/node.log" 2>&1 &
  local pid=$!
  wait_for "$dir/data/endpoint"
  "$ORCH" disk add disk "$dir/images/disk.qcow2" --data "$dir/data" >/dev/null
  measure ours "$1" "nbd+unix:///disk?socket=$dir/data/nbd.sock"
  kill -TERM "$pid"; wait "$pid" || true
  qemu-img check -q "$dir/images/disk.qcow2" || die "ours ($1): qemu-img check found problems"
}

qemu() {  # $1 = cache mode
  local dir=$WORKDIR/qemu-$1 && rm -rf "$dir" && mkdir -p "$dir"
  cp pristine.qcow2 "$dir/disk.qcow2"
  local direct=off && [ "$1" = none ] && direct=on
  qemu-storage-daemon \
    --blockdev "driver=file,node-name=file,filename=$dir/disk.qcow2,cache.direct=$direct,aio=threads" \
    --blockdev driver=qcow2,node-name=disk,file=file \
    --nbd-server "addr.type=unix,addr.path=$dir/nbd.sock" \
    --export type=nbd,id=exp,node-name=disk,name=disk,writable=on >"$dir/qsd.log" 2>&1 &
  local pid=$!
  wait_for "$dir/nbd.sock"
  measure qemu "$1" "nbd+unix:///disk?socket=$dir/nbd.sock"
  kill -TERM "$pid"; wait "$pid" || true
  qemu-img check -q "$dir/disk.qcow2" || die "qemu ($1): qemu-img check found problems"
}

for mode in $MODES; do
  ours "$mode"
  qemu "$mode"
done | tee results.txt

python3 - results.txt <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    server, mode, rw, bs, qd, iops, p99, mib = line.split()
    rows[(server, mode, rw, bs, qd)] = (float(iops), float(p99), float(mib))
print(f'\n{"mode":10} {"workload":18} {"ours":>18} {"qemu-storage-daemon":>20} {"ratio":>16}')
for (server, mode, rw, bs, qd), (iops, p99, mib) in rows.items():
    if server != "ours":
        continue
    q = rows.get(("qemu", mode, rw, bs, qd))
    if q is None:
        continue
    if bs == "1M":
        print(f'{mode:10} {rw+" "+bs+" QD"+qd:18} {mib:11.0f} MiB/s {q[2]:13.0f} MiB/s {mib / max(q[2], 1e-9):10.2f}x MiB/s')
    else:
        print(f'{mode:10} {rw+" "+bs+" QD"+qd:18} {iops:7.0f} IOPS p99 {p99:5.0f}us {q[0]:7.0f} IOPS p99 {q[1]:5.0f}us '
              f'{iops / max(q[0], 1e-9):5.2f}x IOPS {p99 / max(q[1], 1e-9):5.2f}x p99')
PY
