#!/usr/bin/env python3
"""Time a restarting node until it accepts commands again; restart-1000-disks.sh calls it.

From --since (the wall clock just before the node's process started), polling every --interval seconds:
  answer   the first answer of GET /disks (any disk count; DATA/endpoint must exist first)
  listed   GET /disks lists --count disks
  ready    ... and every one of them is in state 'ready' (its chain open)
  command  POST /disks/LAST/snapshot {path: --snapshot} answered 200 (a live external snapshot: the disk's entity
           up, its chain open and writable); tried once 'listed' holds; failed answers are counted and retried
  job      with --job: GET /jobs/JOB answers status 'running' (the merge resumed on its own)
Prints one JSON line with the seconds from --since to each point, and the failed commands (with the last error).
"""
import argparse
import json
import os
import sys
import time

from orch_api import Api, read_token


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the node's data folder (endpoint, token)")
    ap.add_argument("--since", type=float, required=True, help="epoch seconds when the process was started")
    ap.add_argument("--count", type=int, required=True, help="disks registered")
    ap.add_argument("--last", required=True, help="the disk the command goes to")
    ap.add_argument("--snapshot", required=True, help="the new overlay's path")
    ap.add_argument("--job", help="a job that was running at the kill: time until it runs again")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--interval", type=float, default=0.05)
    return ap.parse_args()


def main():
    a = parse_args()
    deadline = time.monotonic() + a.timeout
    marks, failures, last_error = {}, 0, None

    def mark(name):
        marks.setdefault(name, round(time.time() - a.since, 3))

    def wait():
        if time.monotonic() > deadline:
            raise SystemExit(f"error: after {a.timeout} s the node reached only {sorted(marks)}; "
                             f"{failures} failed command(s), the last: {last_error}")
        time.sleep(a.interval)

    endpoint = os.path.join(a.data, "endpoint")
    while not os.path.exists(endpoint) or not open(endpoint).read().strip():
        wait()
    api = Api(open(endpoint).read().strip(), read_token(os.path.join(a.data, "token")))

    def job_running():
        status, body, _, _ = api.request("GET", f"/jobs/{a.job}")
        if status == 200 and isinstance(body, dict) and body.get("status") == "running":
            mark("job")

    while "command" not in marks:
        if a.job and "job" not in marks:
            try:
                job_running()
            except OSError:
                pass
        try:
            status, disks, _, _ = api.request("GET", "/disks")
        except OSError:
            wait()
            continue
        if status == 200:
            mark("answer")
            if len(disks) == a.count:
                mark("listed")
                if all(d.get("state") == "ready" for d in disks):
                    mark("ready")
            elif len(disks) > a.count:
                raise SystemExit(f"error: GET /disks lists {len(disks)} disks, {a.count} were registered")
        if "listed" in marks:
            status, body, _, _ = api.request("POST", f"/disks/{a.last}/snapshot", {"path": a.snapshot})
            if status == 200:
                mark("command")
                if not isinstance(body, dict) or body.get("activePath") != a.snapshot:
                    raise SystemExit(f"error: the snapshot answered {body!r}; expected activePath {a.snapshot}")
                break
            failures += 1
            last_error = f"{status} {body}"
        wait()

    # 'ready' and the job may come after the command: poll on until every disk is open and the job runs.
    while "ready" not in marks or (a.job and "job" not in marks):
        if a.job and "job" not in marks:
            job_running()
        if "ready" in marks:
            wait()
            continue
        status, disks, _, _ = api.request("GET", "/disks")
        if status == 200 and len(disks) == a.count and all(d.get("state") == "ready" for d in disks):
            mark("ready")
        else:
            wait()
    api.close()
    print(json.dumps({**{f"{k}_s": v for k, v in marks.items()}, "failed_commands": failures,
                      "last_error": last_error}))


if __name__ == "__main__":
    sys.exit(main())
