#!/usr/bin/env bash
# nbd-vs-qemu-nbd.sh - NBD throughput of a disk exported by `orchestrator serve` against the same
# qcow2 image exported by `qemu-nbd`, both over a Unix socket, both with the page cache.
#
# One fully allocated qcow2 image; for every run each server gets a fresh copy, then
#   read:  nbdcopy --connections=1 URI null:              (the whole disk)
#   write: nbdcopy --connections=1 --flush SRC.raw URI     (the whole disk, in place, flushed)
# and the written image is compared with SRC.raw (qemu-img compare) afterwards, untimed.
# One connection for both: ours does not advertise multi-conn, and requests on one connection are
# served one at a time (qemu-nbd serves them concurrently); that difference is part of the figure.
#
# Knobs: SIZE=1G RUNS=3 WORKDIR=/tmp/orch-nbd-bench ORCH=path-to-orchestrator
# Needs qemu-utils (qemu-img, qemu-io, qemu-nbd), libnbd-bin (nbdcopy), and a Release build.
set -euo pipefail
export LC_ALL=C

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
WORKDIR=${WORKDIR:-/tmp/orch-nbd-bench}
ORCH=${ORCH:-$REPO_ROOT/src/Orchestrator.Cli/bin/Release/net10.0/orchestrator}

die() { echo "error: $*" >&2; exit 1; }
for tool in qemu-img qemu-io qemu-nbd nbdcopy; do command -v "$tool" >/dev/null || die "$tool not found"; done
[ -x "$ORCH" ] || die "$ORCH not found: dotnet build src/Orchestrator.Cli -c Release"
ORCH=$(realpath "$ORCH")   # the runs start in WORKDIR

rm -rf "$WORKDIR" && mkdir -p "$WORKDIR"
cd "$WORKDIR"
qemu-img create -q -f qcow2 pristine.qcow2 "$SIZE"
qemu-io -f qcow2 -c "write -P 0x5a 0 $SIZE" pristine.qcow2 >/dev/null
head -c "$(numfmt --from=iec "$SIZE")" /dev/urandom > src.raw

now() { echo "$EPOCHREALTIME"; }
timed() { local t0; t0=$(now); "$@" >/dev/null; awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
wait_for() { for _ in $(seq 1 300); do [ -e "$1" ] && return 0; sleep 0.05; done; die "$1 did not appear"; }

# copy_through SERVER RUN URI PID IMAGE: times a whole-disk read and a whole-disk write (then flush) through URI, stops
# the server PID, checks that IMAGE now holds src.raw, and prints "SERVER RUN read_s write_s".
copy_through() {
  local server=$1 run=$2 uri=$3 pid=$4 image=$5 r w
  r=$(timed nbdcopy --connections=1 "$uri" null:)
  w=$(timed nbdcopy --connections=1 --flush src.raw "$uri")
  kill -TERM "$pid"; wait "$pid" || true
  qemu-img compare -q -f qcow2 -F raw "$image" src.raw || die "$server: the written image differs from src.raw"
  echo "$server $run $r $w"
}

ours() {  # $1 = run
  local dir=$WORKDIR/ours && rm -rf "$dir" && mkdir -p "$dir/images"
  cp pristine.qcow2 "$dir/images/disk.qcow2"
  "$ORCH" serve --data "$dir/data" --http 127.0.0.1:0 --storage-root "$dir/images" >"$dir/node.log" 2>&1 &
  local pid=$!
  wait_for "$dir/data/endpoint"
  "$ORCH" disk add disk "$dir/images/disk.qcow2" --data "$dir/data" >/dev/null
  copy_through ours "$1" "nbd+unix:///disk?socket=$dir/data/nbd.sock" "$pid" "$dir/images/disk.qcow2"
}

qemu() {  # $1 = run
  local dir=$WORKDIR/qemu && rm -rf "$dir" && mkdir -p "$dir"
  cp pristine.qcow2 "$dir/disk.qcow2"
  qemu-nbd -f qcow2 --cache=writeback -x disk -k "$dir/nbd.sock" --persistent "$dir/disk.qcow2" &
  local pid=$!
  wait_for "$dir/nbd.sock"
  copy_through qemu "$1" "nbd+unix:///disk?socket=$dir/nbd.sock" "$pid" "$dir/disk.qcow2"
}

for run in $(seq 1 "$RUNS"); do ours "$run"; qemu "$run"; done | tee runs.txt
bytes=$(numfmt --from=iec "$SIZE")
awk -v bytes="$bytes" '
  function median(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
                                        return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
  { n[$1]++; r[$1, n[$1]] = $3; w[$1, n[$1]] = $4 }
  END {
    printf "%-10s %12s %12s\n", "server", "read MiB/s", "write MiB/s"
    for (s in n) { delete a; delete b; for (i = 1; i <= n[s]; i++) { a[i] = r[s, i]; b[i] = w[s, i] }
      printf "%-10s %12.0f %12.0f\n", (s == "ours" ? "orchestrator" : "qemu-nbd"), bytes / 1048576 / median(a, n[s]), bytes / 1048576 / median(b, n[s]) }
  }' runs.txt
