#!/usr/bin/env python3
"""Time a job query and a stream start against several nodes of one cluster; fleet-latency.sh calls it.

Every iteration asks each node in turn (the order alternates, so a drift in the machine's load falls on all nodes
alike): GET /jobs/QUERY_JOB (a paused job on the host; the answer must name that job and its host), then
POST /disks/STREAM_DISK/stream with a new job id and a low speed (201, the answer must name the job and the host),
then, untimed, cancels that job and waits until it is gone so that the disk is free for the next start. Requests go
over one keep-alive connection per node. Prints one JSON line per node and operation.
"""
import argparse
import json
import sys
import time

from orch_api import Api, percentile, read_token


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node", action="append", required=True, metavar="NAME=URL", help="a node to ask (repeat)")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--host", required=True, help="the node that hosts both disks")
    ap.add_argument("--query-job", required=True)
    ap.add_argument("--stream-disk", required=True)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20, help="iterations first, not counted")
    ap.add_argument("--speed", type=int, default=65536, help="the started streams' speed (bytes/s): never finishes")
    a = ap.parse_args()
    if a.iterations < 1 or a.warmup < 0:
        ap.error("--iterations must be at least 1 and --warmup at least 0")
    return a


_hostless = set()


def check_job(job, job_id, host, what):
    # docs/api.md promises each job's host; where an answer lacks it, say so once rather than fail the timing.
    if not isinstance(job, dict) or job.get("device") != job_id or job.get("host", host) != host:
        raise SystemExit(f"error: {what} answered {job!r}; expected job '{job_id}' on host {host}")
    kind = what.split(" on ")[0]
    if "host" not in job and kind not in _hostless:
        _hostless.add(kind)
        print(f"warning: {kind} answers no 'host' field: {job!r}", file=sys.stderr)


def cancel(api, job_id, lost, timeout=10.0):
    """Cancels a job just started. A 404 while GET /jobs lists the job is the engine losing the job's id for a
    while (seen on a loaded machine): counted in lost, said on stderr, and retried until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        status, body, _, _ = api.request("POST", f"/jobs/{job_id}/cancel")
        if status in (200, 204):
            return
        listed = status == 404 and any(
            j.get("device") == job_id for j in api.expect(200, "GET", "/jobs")[0])
        if not listed:
            ended = [j for j in api.expect(200, "GET", "/job-history")[0] if j.get("id") == job_id]
            if ended and ended[0].get("outcome") == "completed":
                raise SystemExit(f"error: the stream '{job_id}' completed before its cancel: the stream disk's base "
                                 "has no data left to copy (each start copies up to one batch); give it more data")
            raise SystemExit(f"error: cancelling '{job_id}' answered {status}: {body}; its history: {ended}")
        if job_id not in lost:
            lost.add(job_id)
            print(f"warning: POST /jobs/{job_id}/cancel answered 404 while GET /jobs lists the job", file=sys.stderr)
        if time.monotonic() > deadline:
            raise SystemExit(f"error: job '{job_id}' is listed by GET /jobs but its id is not found for {timeout} s")
        time.sleep(0.05)


def wait_gone(api, job_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body, _, _ = api.request("GET", f"/jobs/{job_id}")
        if status == 404:
            return
        if status != 200:
            raise SystemExit(f"error: GET /jobs/{job_id} answered {status}: {body}")
        time.sleep(0.005)
    raise SystemExit(f"error: job '{job_id}' was still there {timeout} s after its cancel")


def main():
    a = parse_args()
    token = read_token(a.token_file)
    nodes = []
    for spec in a.node:
        name, sep, url = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --node '{spec}' is not NAME=URL")
        nodes.append((name, Api(url, token)))
    samples = {(name, op): [] for name, _ in nodes for op in ("query", "start")}
    lost = set()
    if a.host not in dict(nodes):
        raise SystemExit(f"error: the host {a.host} must be one of the --node names")
    host_api = dict(nodes)[a.host]

    for i in range(a.warmup + a.iterations):
        order = nodes if i % 2 == 0 else list(reversed(nodes))
        for name, api in order:
            job, elapsed, _ = api.expect(200, "GET", f"/jobs/{a.query_job}")
            check_job(job, a.query_job, a.host, f"GET /jobs/{a.query_job} on {name}")
            if i >= a.warmup:
                samples[(name, "query")].append(elapsed)

            job_id = f"lat-{name}-{i}"
            job, elapsed, _ = api.expect(201, "POST", f"/disks/{a.stream_disk}/stream",
                                         {"jobId": job_id, "speed": a.speed, "autoDismiss": True})
            check_job(job, job_id, a.host, f"the stream start on {name}")
            if i >= a.warmup:
                samples[(name, "start")].append(elapsed)
            cancel(host_api, job_id, lost)
            wait_gone(host_api, job_id)

    for (name, op), values in samples.items():
        ms = [v * 1000 for v in values]
        print(json.dumps({"node": name, "op": op, "n": len(ms), "p50_ms": round(percentile(ms, 50), 3),
                          "p99_ms": round(percentile(ms, 99), 3), "mean_ms": round(sum(ms) / len(ms), 3),
                          "max_ms": round(max(ms), 3), "ids_lost": len(lost)}))
    for _, api in nodes:
        api.close()


if __name__ == "__main__":
    sys.exit(main())
