#!/usr/bin/env python3
"""Start a stream on every disk named, all at once, and time them from the node's events; many-streams.sh calls it.

One thread and one keep-alive connection per disk, released together by a barrier, each sends
POST /disks/DISK/stream {base, jobId: DISK-stream, autoDismiss} and must get 201. Then the node's events
(GET /events?follow=false&after=SEQ, SEQ the lowest Orchestrator-Event-Sequence of the starts) are read until every
job has its BLOCK_JOB_COMPLETED; a failed or cancelled job, or none within --timeout, fails the run. The wall time
runs from the first job's 'created' to the last BLOCK_JOB_COMPLETED, both from the events' timestamps (the node's
clock, taken when each fact was persisted). Prints one JSON line.
"""
import argparse
import json
import sys
import threading
import time

from orch_api import Api, event_time, read_token, sse_events


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--base", required=True, help="the base image (kept below) of every stream")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the last completion")
    ap.add_argument("disks", nargs="+")
    return ap.parse_args()


def start_all(a, token):
    apis = {disk: Api(a.url, token) for disk in a.disks}
    for api in apis.values():
        api.expect(200, "GET", "/disks")        # connect before the barrier: the starts are what goes at once
    barrier = threading.Barrier(len(a.disks))
    answers, errors = {}, []

    def start(disk):
        barrier.wait()
        try:
            job, _, headers = apis[disk].expect(201, "POST", f"/disks/{disk}/stream",
                                                {"base": a.base, "jobId": f"{disk}-stream", "autoDismiss": True})
            answers[disk] = int(headers.get("Orchestrator-Event-Sequence", "0"))
        except SystemExit as e:
            errors.append(str(e))

    threads = [threading.Thread(target=start, args=(disk,)) for disk in a.disks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("\n".join(errors))
    return apis[a.disks[0]], min(answers.values())


def main():
    a = parse_args()
    api, after = start_all(a, read_token(a.token_file))
    jobs = {f"{disk}-stream" for disk in a.disks}
    created, completed = {}, {}
    deadline = time.monotonic() + a.timeout
    while True:
        status, body, _, _ = api.request("GET", f"/events?follow=false&after={after}")
        if status != 200:
            raise SystemExit(f"error: GET /events answered {status}: {body}")
        for seq, name, event in sse_events(body if isinstance(body, str) else ""):
            after = max(after, seq)
            data = event.get("data", {})
            if name == "JOB_STATUS_CHANGE" and data.get("id") in jobs and data.get("status") == "created":
                created[data["id"]] = event_time(event)
            elif name == "BLOCK_JOB_COMPLETED" and data.get("device") in jobs:
                if data.get("error"):
                    raise SystemExit(f"error: job {data['device']} failed: {data['error']}")
                if data.get("offset") != data.get("len"):
                    raise SystemExit(f"error: job {data['device']} completed at offset {data.get('offset')} of {data.get('len')}")
                completed[data["device"]] = event_time(event)
            elif name == "BLOCK_JOB_CANCELLED" and data.get("device") in jobs:
                raise SystemExit(f"error: job {data['device']} was cancelled")
        if len(completed) == len(jobs):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"error: {len(jobs) - len(completed)} job(s) not completed after {a.timeout} s: "
                             f"{sorted(jobs - completed.keys())}")
        time.sleep(0.1)
    if created.keys() != jobs:
        raise SystemExit(f"error: no 'created' event for {sorted(jobs - created.keys())}")
    first, last = min(created.values()), max(completed.values())
    print(json.dumps({"streams": len(jobs), "wall_s": round(last - first, 4),
                      "job_s": {job: round(completed[job] - created[job], 4) for job in sorted(jobs)}}))


if __name__ == "__main__":
    sys.exit(main())
