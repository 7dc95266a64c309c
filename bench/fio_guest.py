"""The benchmark guest: fio writing 4 KiB at random offsets, queue depth 1, to an NBD export, with a per-I/O latency
log. qsd_stream.py (QEMU) and node_stream.py (ours) both use it, so both systems see the same guest."""
import os
import signal
import subprocess
import time


class FioGuest:
    def __init__(self, workdir, uri, seed, tag):
        self.tag = tag
        self.workdir = workdir
        self.prefix = os.path.join(workdir, "fio")
        self.proc = subprocess.Popen(
            ["fio", "--name=guest", "--ioengine=nbd", f"--uri={uri}", "--rw=randwrite",
             "--bs=4k", "--iodepth=1", "--norandommap", "--randrepeat=0", f"--randseed={seed}",
             "--time_based", "--runtime=3600", f"--write_lat_log={self.prefix}", "--log_avg_msec=0",
             "--log_unix_epoch=1", "--output-format=json", f"--output={self.prefix}.json"],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "fio.err"), "w"))

    def idle_window(self, warmup_seconds, idle_seconds):
        """Lets fio warm up, then returns the (start, end) epoch seconds of an idle window it wrote through."""
        time.sleep(warmup_seconds)
        start = time.time()
        time.sleep(idle_seconds)
        end = time.time()
        if self.proc.poll() is not None:
            raise SystemExit(f"{self.tag}: fio exited early (rc {self.proc.returncode}); see {self.workdir}/fio.err")
        return start, end

    def stop(self):
        """Stops fio (SIGINT, as a user would) and returns its latency samples."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SystemExit(f"{self.tag}: fio did not stop on SIGINT")
        return read_fio_log(f"{self.prefix}_lat.1.log")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()


def latency_window(samples, start, end):
    """fio log samples (completion epoch s, latency us) of writes that started and completed inside [start, end)."""
    lat = sorted(l for t, l in samples if t - l / 1e6 >= start and t <= end)
    def pct(p):
        if not lat:
            return 0.0
        rank = max(1, -(-len(lat) * p // 100))          # nearest rank, as fio
        return lat[min(len(lat), int(rank)) - 1]
    secs = end - start
    return {"p50_us": round(pct(50), 1), "p99_us": round(pct(99), 1), "max_us": round(lat[-1], 1) if lat else 0.0,
            "iops": round(len(lat) / secs, 1) if secs > 0 else 0.0, "writes": len(lat)}


def read_fio_log(path):
    """fio's per-I/O latency log with log_unix_epoch=1: 'msec, nsec, ddir, bs[, offset, prio]' per line."""
    samples = []
    with open(path) as f:
        for line in f:
            parts = line.split(",")
            if len(parts) >= 2:
                samples.append((int(parts[0]) / 1000.0, int(parts[1]) / 1000.0))
    return samples


def add_windows(res, samples, idle, stream):
    """Adds idle_* and stream_* latency fields for the two windows to the result dict."""
    for key, value in latency_window(samples, *idle).items():
        res[f"idle_{key}"] = value
    for key, value in latency_window(samples, *stream).items():
        res[f"stream_{key}"] = value
    res["writes"] = len(samples)
