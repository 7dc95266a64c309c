#!/usr/bin/env bash
# The release build of the node and CLI: one self-contained folder (no .NET install needed on the host), compiled
# ReadyToRun so the CLI starts fast. cluster-config/docker/Dockerfile runs this same script (PackagingTests checks it).
#   bash packaging/publish.sh [OUTPUT_DIR] [RUNTIME]     (defaults: artifacts/publish, linux-x64)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-artifacts/publish}"
runtime="${2:-linux-x64}"
dotnet publish src/Orchestrator.Cli -c Release -r "$runtime" --self-contained true \
  -p:PublishReadyToRun=true -p:DebugType=none -o "$out"
cp packaging/orchestrator.service packaging/appsettings.sample.json "$out/"
mkdir -p "$out/docs" && cp docs/*.md "$out/docs/"
echo "publish.sh: $(du -sh "$out" | cut -f1) in $out ($runtime, self-contained, ReadyToRun)"
