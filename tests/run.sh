#!/usr/bin/env bash
# Installs what the tests need, runs every test project in the solution and ends
# with one plain line "N passed, N failed, N skipped". Used by .ci/run.
# tests/run.sh --postgres-only runs the PostgreSQL section alone (start, check, stop).
set -euo pipefail

postgres_only=0
[ "${1:-}" = "--postgres-only" ] && postgres_only=1

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# --- system packages ---------------------------------------------------------
# The tests compare against real QEMU tools (qemu-img, qemu-io, qemu-nbd, qemu-storage-daemon for the QMP parity
# test), drive the dashboard in headless Chromium and verify the systemd unit; the QD16 NBD crash guest is
# python3-libnbd (Debian's /usr/bin/python3). They fail (never skip) without them.
REQUIRED_TOOLS=(qemu-img qemu-io qemu-nbd nbdinfo nbdcopy qemu-storage-daemon chromium systemd-analyze)
APT_PACKAGES=(qemu-utils qemu-system-common libnbd-bin python3-libnbd chromium systemd)

missing_tools() {
  local tool
  for tool in "${REQUIRED_TOOLS[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || echo "$tool"
  done
}

missing_packages() {
  local pkg
  command -v dpkg-query >/dev/null 2>&1 || return 0
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

if [ "$postgres_only" -eq 0 ] && [ -n "$(missing_tools)$(missing_packages)" ]; then
  echo "run.sh: installing ${APT_PACKAGES[*]} (missing: $(echo $(missing_tools) $(missing_packages)))"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: apt-get not found; install ${APT_PACKAGES[*]} (Debian names) by hand" >&2
    exit 1
  fi
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      echo "run.sh: not root and no sudo; install ${APT_PACKAGES[*]} as root" >&2
      exit 1
    fi
  fi
  # env inside sudo, because sudo may drop DEBIAN_FRONTEND from the environment.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${APT_PACKAGES[@]}"
  still_missing="$(missing_tools)"
  if [ -n "$still_missing" ]; then
    echo "run.sh: still not on PATH after install: $(echo $still_missing)" >&2
    exit 1
  fi
fi

# --- PostgreSQL ----------------------------------------------------------------
# The cluster tests journal to a real PostgreSQL: a private instance (its own data
# folder, 127.0.0.1:ORCH_TEST_PG_PORT, default 55432) started here and stopped on exit.
# postgres.sh installs Debian's postgresql first when it is missing. Tests that need it
# read ORCHESTRATOR_TEST_PG and fail (never skip) without it.
pg_dir="$(mktemp -d /tmp/orch-test-pg.XXXXXX)"
chmod 0755 "$pg_dir"
stop_postgres() { cluster-config/postgres.sh stop "$pg_dir" || true; rm -rf "$pg_dir"; }
trap stop_postgres EXIT
ORCHESTRATOR_TEST_PG="$(cluster-config/postgres.sh start "$pg_dir" "${ORCH_TEST_PG_PORT:-55432}")"
export ORCHESTRATOR_TEST_PG
echo "run.sh: PostgreSQL for the tests: ${ORCHESTRATOR_TEST_PG%%;Username=*}"
if [ "$postgres_only" -eq 1 ]; then
  # Checks this section alone: the instance answers with the exported settings, then the trap stops it.
  psql "postgresql://orch:orch@127.0.0.1:${ORCH_TEST_PG_PORT:-55432}/orchestrator" -qtAc "SELECT 'postgres ok: ' || version()"
  exit 0
fi

# --- .NET SDK --------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
  echo "run.sh: 'dotnet' not found on PATH; install the .NET 10 SDK (see global.json) first" >&2
  exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The tests run many .NET processes at once on few cores: test hosts, the node processes they start, the CLI. An idle
# thread-pool worker spins before it sleeps, and tiered PGO instruments hot methods before it optimises them; here
# both only take CPU from the other processes. Node.Tests' stream crash loop, three runs each: 81-91 CPU-seconds
# with the defaults, 75-80 without them. Nothing the tests check depends on either. A node run by hand keeps the
# runtime's defaults.
export DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 DOTNET_TieredPGO=0

# --- tests -------------------------------------------------------------------------
# Files the tests keep for a person to look at (the dashboard's screenshot, see TestArtifacts.cs). The default
# folder is emptied first so that what is listed at the end comes from this run; a folder given in
# ORCH_TEST_ARTIFACTS is the caller's and is left as it is.
if [ -z "${ORCH_TEST_ARTIFACTS:-}" ]; then
  ORCH_TEST_ARTIFACTS="$PWD/artifacts/tests"
  rm -rf "$ORCH_TEST_ARTIFACTS"
fi
artifacts="$ORCH_TEST_ARTIFACTS"
mkdir -p "$artifacts"
export ORCH_TEST_ARTIFACTS
log="$(mktemp)"
work="$(mktemp -d)"
trap 'rm -f "$log"; rm -rf "$work"; stop_postgres' EXIT

# One build, then the test projects with --no-build in ORCH_TEST_LANES lanes (default 2, one per core): each lane takes
# the next project from one queue, longest first, so that Node.Tests (the longest) starts at once and the short ones
# fill in at the end. A test project missing from the list still runs, after the listed ones.
lanes="${ORCH_TEST_LANES:-2}"
longest_first=(Orchestrator.Node.Tests Orchestrator.Engine.Tests Orchestrator.Cluster.Tests Orchestrator.Qcow2.Tests
  Orchestrator.Interop.Tests Orchestrator.Crash.Tests Orchestrator.Nbd.Tests Orchestrator.Domain.Tests)
projects=()
for name in "${longest_first[@]}"; do
  [ -f "tests/$name/$name.csproj" ] && projects+=("$name")
done
for csproj in tests/*.Tests/*.Tests.csproj; do
  [ -f "$csproj" ] || continue
  name="$(basename "$csproj" .csproj)"
  [[ " ${projects[*]} " == *" $name "* ]] || projects+=("$name")
done

test_args=(-c Release --no-build --blame-hang-timeout 10m --logger "console;verbosity=normal")
# The fleet crash test (three node processes, the host killed and restarted ten times) runs after the rest, alone:
# with other projects beside it on two cores, the nodes' heartbeats starve and a restarted node may not rejoin in time.
# SharedStorageCrashTests (the host killed for good, its shared disk moved, the host started again) joins it there.
fleet_crash="Orchestrator.Cluster.Tests.FleetCrashTests"
shared_crash="Orchestrator.Cluster.Tests.SharedStorageCrashTests"

# Runs one project's tests into its own log; records "SECONDS NAME EXIT" in the timings.
run_project() {
  local name="$1" started=$SECONDS filter=()
  [ "$name" = Orchestrator.Cluster.Tests ] && filter=(--filter "FullyQualifiedName!~$fleet_crash&FullyQualifiedName!~$shared_crash")
  dotnet test "tests/$name" "${test_args[@]}" "${filter[@]}" >"$work/$name.log" 2>&1
  local status=$?
  echo "$((SECONDS - started)) $name $status" >>"$work/timings"
  echo "run.sh: $name finished in $((SECONDS - started)) s (exit $status)"
  return "$status"
}

# A lane: takes the next project from the queue until it is empty; fails when any of its projects failed.
run_lane() {
  local status=0 index
  while :; do
    index="$(flock "$work/queue" bash -c 'i=$(cat "$1"); echo $((i + 1)) >"$1"; echo "$i"' _ "$work/queue")"
    [ "$index" -lt "${#projects[@]}" ] || break
    run_project "${projects[$index]}" || status=1
  done
  return "$status"
}

set +e
started=$SECONDS
dotnet build Orchestrator.sln -c Release 2>&1 | tee "$work/build.log"
build_status=${PIPESTATUS[0]}
echo "run.sh: build finished in $((SECONDS - started)) s (exit $build_status)"
test_status=$build_status
if [ "$build_status" -eq 0 ]; then
  echo 0 >"$work/queue"
  lane_pids=()
  for _ in $(seq 1 "$lanes"); do
    run_lane &
    lane_pids+=($!)
  done
  for pid in "${lane_pids[@]}"; do
    wait "$pid" || test_status=1
  done
  # Each project's output in one piece (the lanes' logs would interleave on the terminal).
  for name in "${projects[@]}"; do
    cat "$work/$name.log"
  done | tee "$log"
  started=$SECONDS
  dotnet test tests/Orchestrator.Cluster.Tests "${test_args[@]}" --filter "FullyQualifiedName~$fleet_crash|FullyQualifiedName~$shared_crash" 2>&1 | tee -a "$log"
  crash_status=${PIPESTATUS[0]}
  echo "$((SECONDS - started)) crash-tests-alone $crash_status" >>"$work/timings"
  [ "$test_status" -ne 0 ] || test_status=$crash_status
fi
set -e

# Sum the per-assembly counts. At minimal verbosity each assembly prints
# "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, ...";
# at normal verbosity it prints a block of "Total tests: N" / "Passed: N" /
# "Failed: N" / "Skipped: N" lines instead. Assemblies run in parallel and their
# lines interleave, so each count line is summed on its own.
counts="$(sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | awk '
  /^(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+, +Total: +[0-9]+/ {
    line = $0
    sub(/^[^-]*- +/, "", line)
    n = split(line, parts, /, +/)
    for (i = 1; i <= n; i++) {
      split(parts[i], kv, /: +/)
      if (kv[1] == "Failed") mf += kv[2]
      else if (kv[1] == "Passed") mp += kv[2]
      else if (kv[1] == "Skipped") ms += kv[2]
      else if (kv[1] == "Total") mt += kv[2]
    }
    minimal = 1
    next
  }
  /^ *Total tests: +[0-9]+ *$/ { sub(/.*: +/, ""); nt += $0 }
  /^ +Passed: +[0-9]+ *$/      { sub(/.*: +/, ""); np += $0 }
  /^ +Failed: +[0-9]+ *$/      { sub(/.*: +/, ""); nf += $0 }
  /^ +Skipped: +[0-9]+ *$/     { sub(/.*: +/, ""); ns += $0 }
  END {
    if (minimal) printf "%d %d %d %d\n", mp, mf, ms, mt
    else printf "%d %d %d %d\n", np, nf, ns, nt
  }')"
read -r passed failed skipped total <<<"$counts"

status=0
if [ "$test_status" -ne 0 ]; then
  echo "run.sh: dotnet test exited with $test_status" >&2
  status=1
fi
if [ "$failed" -gt 0 ]; then
  status=1
fi
if [ "$total" -eq 0 ]; then
  echo "run.sh: no tests ran" >&2
  status=1
fi

# CI keeps only the end of the output: name the failed tests and their first error line there, not only far above.
if [ "$failed" -gt 0 ]; then
  echo "run.sh: failed tests:"
  sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | awk '
    /^ +Failed [A-Za-z_][A-Za-z0-9_.]*/ { name = $0; sub(/^ +Failed +/, "", name); want = 1; next }
    want && /^ +Error Message:/ { next }
    want && NF > 0 { line = $0; sub(/^ +/, "", line); print "  " name; print "      " substr(line, 1, 300); want = 0 }'
fi
if [ -s "$work/timings" ]; then
  echo "run.sh: seconds per test project (run $lanes at a time; the fleet crash test alone after them):"
  sort -rn "$work/timings" | awk '{ printf "  %5d s  %s%s\n", $1, $2, ($3 == 0 ? "" : "  (exit " $3 ")") }'
fi
echo "run.sh: the whole run took $SECONDS s"
echo "run.sh: test artifacts kept in $artifacts: $(cd "$artifacts" && ls | tr '\n' ' ')"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
