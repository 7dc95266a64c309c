#!/bin/sh
# Makes the journal of a node running the code before the registry (commit 001843f), for UpgradeTests.
# Usage: make.sh /path/to/orchestrator.dll built from 001843f (git worktree add /tmp/old 001843f; dotnet build src/Orchestrator.Cli -c Release)
# The images live at a fixed absolute path because the journal names them by absolute path; the test puts them back there.
set -eu
DLL=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=/tmp/orch-upgrade-fixture
rm -rf "$ROOT"
mkdir -p "$ROOT/images" "$ROOT/data"
for d in alpha beta gamma delta; do
  mkdir -p "$ROOT/images/$d"
  qemu-img create -q -f qcow2 "$ROOT/images/$d/base.qcow2" 4M
  qemu-io -f qcow2 -c "write -P 0x${#d}1 0 1M" "$ROOT/images/$d/base.qcow2" >/dev/null
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$ROOT/images/$d/top.qcow2" 4M
  qemu-io -f qcow2 -c "write -P 0x${#d}2 1M 1M" "$ROOT/images/$d/top.qcow2" >/dev/null
done
# A snapshot every 3 events: the old manager's stream then holds a ManagerSnapshot and events after it.
dotnet "$DLL" serve --data "$ROOT/data" --http 127.0.0.1:0 --storage-root "$ROOT/images" --snapshot-interval 3 >"$ROOT/node.log" 2>&1 &
NODE=$!
for i in $(seq 1 120); do [ -s "$ROOT/data/endpoint" ] && break; sleep 0.5; done
cli() { dotnet "$DLL" "$@" --data "$ROOT/data"; }
cli disk add alpha "$ROOT/images/alpha/top.qcow2"
cli disk add beta "$ROOT/images/beta/top.qcow2"
cli disk add gamma "$ROOT/images/gamma/top.qcow2"
cli disk remove gamma
cli disk add delta "$ROOT/images/delta/top.qcow2"
cli snapshot alpha "$ROOT/images/alpha/snap.qcow2"
cli stream beta --wait
cli disk list
kill -TERM $NODE
wait $NODE || true
rm -rf "$HERE/images" "$HERE/data"
cp -r "$ROOT/images" "$HERE/images"
mkdir -p "$HERE/data"
cp "$ROOT/data/journal.db" "$HERE/data/journal.db"
ls -la "$HERE/data" "$HERE/images"/*
