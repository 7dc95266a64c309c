#!/usr/bin/env bash
# The release build of the node and CLI: one self-contained folder (no .NET install needed on the host), compiled
# ReadyToRun so the CLI starts fast, plus orchestrator-img (the offline image verbs alone, Native AOT: it starts like
# qemu-img). cluster-config/docker/Dockerfile runs this same script (PackagingTests checks it).
#   bash packaging/publish.sh [OUTPUT_DIR] [RUNTIME]     (defaults: artifacts/publish, linux-x64)
# Native AOT needs a C toolchain for RUNTIME's architecture on this machine: clang (or clang-14) and zlib1g-dev.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-artifacts/publish}"
runtime="${2:-linux-x64}"
if ! command -v clang >/dev/null && ! command -v clang-14 >/dev/null; then
  echo "publish.sh: orchestrator-img is compiled Native AOT, which needs clang and zlib1g-dev (apt-get install clang zlib1g-dev)" >&2
  exit 1
fi
dotnet publish src/Orchestrator.Cli -c Release -r "$runtime" --self-contained true \
  -p:PublishReadyToRun=true -p:DebugType=none -o "$out"
dotnet publish src/Orchestrator.ImageTool -c Release -r "$runtime" -p:DebugType=none -p:CopyOutputSymbolsToPublishDirectory=false -o "$out"
cp packaging/orchestrator.service packaging/appsettings.sample.json "$out/"
mkdir -p "$out/docs" && cp docs/*.md "$out/docs/"
echo "publish.sh: $(du -sh "$out" | cut -f1) in $out ($runtime, self-contained, ReadyToRun; orchestrator-img Native AOT)"
