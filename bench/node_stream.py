#!/usr/bin/env python3
"""Time our live stream on a real `orchestrator serve` node, with guest writes from fio over the node's NBD export.

The twin of qsd_stream.py --fio, so that both systems' guest I/O takes the same road (fio, ioengine=nbd, TCP on
127.0.0.1, 4 KiB random writes at queue depth 1): starts a node on DIR (storage root DIR, data folder DIR/node),
registers D, runs fio against the export for a warm-up and an idle window, then streams D with base A over the
HTTP API until BLOCK_JOB_COMPLETED arrives on the node's event stream (SSE). Each write's latency comes from
fio's per-I/O latency log. Prints one JSON line; live-stream-vs-qemu.sh calls it.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from fio_guest import FioGuest, add_windows
from qsd_stream import free_port


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="folder holding A.qcow2 .. D.qcow2")
    ap.add_argument("--orchestrator", required=True, help="the orchestrator CLI binary (published)")
    ap.add_argument("--cache", choices=("none", "writeback"), default="writeback")
    ap.add_argument("--nbd-port", type=int, default=10810)
    ap.add_argument("--warmup-seconds", type=float, default=0.5)
    ap.add_argument("--idle-seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for BLOCK_JOB_COMPLETED")
    ap.add_argument("--no-guest", action="store_true", help="no fio guest: just the stream")
    ap.add_argument("--kill-after-complete", action="store_true",
                    help="SIGKILL the node as soon as BLOCK_JOB_COMPLETED arrives (no close, no flush): what a crash "
                         "right after the job leaves on disk")
    return ap.parse_args()


class Node:
    """A node process and its HTTP API (bearer token from the data folder)."""

    def __init__(self, binary, d, cache, http_port, nbd_port):
        self.data = os.path.join(d, "node")
        self.base = f"http://127.0.0.1:{http_port}"
        self.log = open(os.path.join(d, "node.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data", self.data, "--http", f"127.0.0.1:{http_port}", "--storage-root", d,
             "--cache", cache, "--nbd", f"127.0.0.1:{nbd_port}"],
            cwd=d, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.token = open(os.path.join(self.data, "token")).read().strip()
                self.request("GET", "/disks")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"node_stream: the node did not come up; see {d}/node.log")
                time.sleep(0.05)

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            return json.loads(text) if text else None

    def follow_events(self, on_event):
        """Reads the SSE stream on a thread; calls on_event(event_dict, monotonic_arrival) for each event."""
        req = urllib.request.Request(self.base + "/events", headers={"Authorization": f"Bearer {self.token}"})
        ready = threading.Event()

        def run():
            with urllib.request.urlopen(req, timeout=3600) as r:
                ready.set()
                for raw in r:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data:"):
                        on_event(json.loads(line[5:]), time.monotonic())
        threading.Thread(target=run, daemon=True).start()
        if not ready.wait(30):
            raise SystemExit("node_stream: the event stream did not open")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def main():
    a = parse_args()
    d = os.path.abspath(a.dir)
    nbd_port = free_port(a.nbd_port)
    node = Node(a.orchestrator, d, a.cache, free_port(0), nbd_port)
    fio = None
    try:
        node.request("POST", "/disks", {"id": "D", "path": os.path.join(d, "D.qcow2")})
        completed = threading.Event()
        done = {}

        def on_event(e, arrival):
            if e.get("event") in ("BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED") and e.get("data", {}).get("device") == "stream0":
                done.update(e, _rx=arrival)
                completed.set()
        node.follow_events(on_event)

        res = {"tool": "ours-nbd", "cache": "direct" if a.cache == "none" else "page", "guest_writes": not a.no_guest}
        if not a.no_guest:
            fio = FioGuest(d, f"nbd://127.0.0.1:{nbd_port}/D", a.seed, "node_stream")
            idle = fio.idle_window(a.warmup_seconds, a.idle_seconds)

        stream_start_epoch = time.time()
        t0 = time.monotonic()
        node.request("POST", "/disks/D/stream", {"jobId": "stream0", "base": os.path.join(d, "A.qcow2")})
        if not completed.wait(a.timeout):
            raise SystemExit(f"node_stream: no BLOCK_JOB_COMPLETED within {a.timeout} s")
        job_s = done["_rx"] - t0
        if done["event"] != "BLOCK_JOB_COMPLETED" or done["data"].get("error"):
            raise SystemExit(f"node_stream: the job did not complete: {done}")
        res.update({"job_s": round(job_s, 6), "job_len": done["data"]["len"], "job_offset": done["data"]["offset"]})
        if a.kill_after_complete:
            node.proc.kill()
            node.proc.wait()
            res.update({"killed_after_complete": True})
            print(json.dumps(res))
            return 0

        if fio is not None:
            samples = fio.stop()
            fio = None
            add_windows(res, samples, idle, (stream_start_epoch, stream_start_epoch + job_s))

        # Unregistering closes the export and the disk's images (our close flushes, as QEMU's blockdev-del does).
        t_close = time.monotonic()
        node.request("DELETE", "/disks/D")
        res["close_s"] = round(time.monotonic() - t_close, 6)
        res["node_rc"] = node.stop()
        print(json.dumps(res))
        return 0
    finally:
        if fio is not None:
            fio.kill()
        node.stop()


if __name__ == "__main__":
    sys.exit(main())
