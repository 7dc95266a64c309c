#!/usr/bin/env python3
"""Time QEMU's own live block-stream on qemu-storage-daemon, driven over QMP.

Opens the chain A <- B <- C <- D of DIR in a qemu-storage-daemon (one blockdev-add per node, file names relative
to DIR, so the backing file QEMU writes into D is "A.qcow2"), sends block-stream device=D base-node=A and times it
from sending the command to receiving BLOCK_JOB_COMPLETED. With --fio, D is exported over NBD and fio writes to it
(4 KiB random writes at queue depth 1, ioengine=nbd) for a warm-up, an idle window, and the whole stream; each
write's latency comes from fio's per-I/O latency log. Prints one JSON line; live-stream-vs-qemu.sh calls it.
"""
import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time

from fio_guest import FioGuest, add_windows


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="folder holding A.qcow2 .. D.qcow2 (the daemon's working folder)")
    ap.add_argument("--cache-direct", choices=("on", "off"), default="off", help="cache.direct of every node")
    ap.add_argument("--aio", default="threads", help="file driver aio (threads|native|io_uring)")
    ap.add_argument("--qsd", default="qemu-storage-daemon")
    ap.add_argument("--fio", action="store_true", help="guest writes over NBD with fio during idle + stream")
    ap.add_argument("--nbd-port", type=int, default=10809)
    ap.add_argument("--warmup-seconds", type=float, default=0.5)
    ap.add_argument("--idle-seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for BLOCK_JOB_COMPLETED")
    ap.add_argument("--kill-after-complete", action="store_true",
                    help="SIGKILL the daemon as soon as BLOCK_JOB_COMPLETED arrives (no close, no flush): what a crash "
                         "right after the job leaves on disk")
    return ap.parse_args()


class Qmp:
    """A minimal QMP client on a unix socket: commands in order, events collected as they arrive."""

    def __init__(self, path, log):
        self.log = log
        self.buf = b""
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"qsd_stream: cannot connect to the QMP socket {path}")
                time.sleep(0.02)
        self.greeting = self.read(None)
        self.command("qmp_capabilities")

    def read(self, timeout):
        """One message, or None when nothing arrived within timeout seconds. Stamps _rx (monotonic) on each."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("qsd_stream: the daemon closed the QMP connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        msg["_rx"] = time.monotonic()
        self.log.write(line.decode() + "\n")
        if "event" in msg:
            self.events.append(msg)
        return msg

    def command(self, name, arguments=None):
        msg = {"execute": name}
        if arguments is not None:
            msg["arguments"] = arguments
        self.log.write(">>> " + json.dumps(msg) + "\n")
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.read(None)
            if "error" in reply:
                raise SystemExit(f"qsd_stream: QMP {name} failed: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def wait_event(self, names, timeout, match=lambda e: True):
        """The first event (already received or arriving within timeout) whose name is in names and that matches."""
        for e in self.events:
            if e["event"] in names and match(e):
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.read(deadline - time.monotonic())
            if msg is not None and msg.get("event") in names and match(msg):
                return msg
        return None


def free_port(preferred):
    """preferred if nothing listens there, else a port the kernel hands out."""
    for port in (preferred, 0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise SystemExit("qsd_stream: no free TCP port for the NBD export")


def main():
    a = parse_args()
    d = os.path.abspath(a.dir)
    sock_path = os.path.join(d, "qmp.sock")
    qsd_log = open(os.path.join(d, "qsd.log"), "w")
    qmp_log = open(os.path.join(d, "qmp.log"), "w")
    qsd = subprocess.Popen([a.qsd, "--chardev", f"socket,id=qmp0,path={sock_path},server=on,wait=off",
                            "--monitor", "chardev=qmp0"], cwd=d, stdout=qsd_log, stderr=subprocess.STDOUT)
    fio = None
    try:
        q = Qmp(sock_path, qmp_log)
        cache = {"direct": a.cache_direct == "on", "no-flush": False}
        # backing: null keeps QEMU from opening the header's backing file itself; we name each node's backing node.
        for name, fname, backing, ro in (("nodeA", "A.qcow2", None, True), ("nodeB", "B.qcow2", "nodeA", True),
                                         ("nodeC", "C.qcow2", "nodeB", True), ("nodeD", "D.qcow2", "nodeC", False)):
            q.command("blockdev-add", {"driver": "qcow2", "node-name": name, "read-only": ro, "cache": cache,
                                       "backing": backing,
                                       "file": {"driver": "file", "filename": fname, "aio": a.aio, "cache": cache}})

        res = {"tool": "qemu", "qemu_version": q.greeting["QMP"]["version"]["qemu"],
               "cache": "direct" if a.cache_direct == "on" else "page", "aio": a.aio, "guest_writes": a.fio}
        if a.fio:
            port = free_port(a.nbd_port)
            q.command("nbd-server-start", {"addr": {"type": "inet", "data": {"host": "127.0.0.1", "port": str(port)}}})
            q.command("block-export-add", {"type": "nbd", "id": "exp0", "node-name": "nodeD", "name": "D", "writable": True})
            fio = FioGuest(d, f"nbd://127.0.0.1:{port}/D", a.seed, "qsd_stream")
            idle = fio.idle_window(a.warmup_seconds, a.idle_seconds)

        stream_start_epoch = time.time()
        t0 = time.monotonic()
        q.command("block-stream", {"job-id": "stream0", "device": "nodeD", "base-node": "nodeA"})
        done = q.wait_event(("BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"), a.timeout,
                            lambda e: e.get("data", {}).get("device") == "stream0")
        if done is None:
            raise SystemExit(f"qsd_stream: no BLOCK_JOB_COMPLETED within {a.timeout} s")
        job_s = done["_rx"] - t0
        stream_end_epoch = stream_start_epoch + job_s
        if done["event"] != "BLOCK_JOB_COMPLETED" or done["data"].get("error"):
            raise SystemExit(f"qsd_stream: the job did not complete: {done}")
        if a.kill_after_complete:
            qsd.kill()
            qsd.wait()
            res.update({"job_s": round(job_s, 6), "killed_after_complete": True})
            print(json.dumps(res))
            return 0

        def stamp(e):
            return e["timestamp"]["seconds"] + e["timestamp"]["microseconds"] / 1e6
        created = next((e for e in q.events if e["event"] == "JOB_STATUS_CHANGE"
                        and e["data"] == {"id": "stream0", "status": "created"}), None)
        res.update({"job_s": round(job_s, 6),
                    "job_server_s": round(stamp(done) - stamp(created), 6) if created else None,
                    "job_len": done["data"]["len"], "job_offset": done["data"]["offset"]})

        if fio is not None:
            samples = fio.stop()
            fio = None
            add_windows(res, samples, idle, (stream_start_epoch, stream_end_epoch))
            q.command("block-export-del", {"id": "exp0"})
            q.wait_event(("BLOCK_EXPORT_DELETED",), 10)
            q.command("nbd-server-stop")

        # Closing D flushes QEMU's qcow2 metadata caches and fdatasyncs; not part of the job time, reported beside it.
        t_close = time.monotonic()
        q.command("blockdev-del", {"node-name": "nodeD"})
        res["close_s"] = round(time.monotonic() - t_close, 6)
        for name in ("nodeC", "nodeB", "nodeA"):
            q.command("blockdev-del", {"node-name": name})
        q.command("quit")
        qsd.wait(timeout=30)
        res["qsd_rc"] = qsd.returncode
        print(json.dumps(res))
        return 0 if qsd.returncode == 0 else 1
    finally:
        if fio is not None:
            fio.kill()
        if qsd.poll() is None:
            qsd.kill()
            qsd.wait()


if __name__ == "__main__":
    sys.exit(main())
