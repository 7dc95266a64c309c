"""A minimal client of a node's HTTP API for the fleet benchmarks (standard library only).

One keep-alive connection per node, so a timed request measures the node's answer and not a TCP handshake or a
process start; the bearer token comes from a token file as the CLI's --token-file reads it.
"""
import http.client
import json
import time
import urllib.parse


def read_token(path):
    with open(path) as f:
        token = f.read().strip()
    if not token:
        raise SystemExit(f"error: the token file {path} is empty")
    return token


class Api:
    """Requests to one node; request() returns (status, parsed body or None, seconds, headers)."""

    def __init__(self, base_url, token, timeout=60.0):
        url = urllib.parse.urlsplit(base_url)
        if url.scheme != "http" or not url.hostname or not url.port:
            raise SystemExit(f"error: '{base_url}' is not a URL like http://127.0.0.1:8081")
        self.base = base_url.rstrip("/")
        self._host, self._port, self._timeout = url.hostname, url.port, timeout
        self._headers = {"Authorization": f"Bearer {token}"}
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._conn.connect()
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None):
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        # A node restarted or a keep-alive connection the server closed: one fresh connection, then a real error.
        for attempt in (1, 2):
            try:
                conn = self._connection()
                t0 = time.perf_counter()
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                elapsed = time.perf_counter() - t0
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
        return response.status, parsed, elapsed, response.headers

    def expect(self, status, method, path, body=None):
        """The request, failing the benchmark with the node's answer when the status is not the one expected."""
        got, parsed, elapsed, headers = self.request(method, path, body)
        if got != status:
            raise SystemExit(f"error: {method} {self.base}{path} answered {got} (expected {status}): {parsed}")
        return parsed, elapsed, headers


def percentile(samples, p):
    """The nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def sse_events(text):
    """The (id, name, data) of each event in a Server-Sent Events body."""
    events, current = [], {}
    for line in text.splitlines():
        if not line:
            if "data" in current:
                events.append((int(current.get("id", -1)), current.get("event"), json.loads(current["data"])))
            current = {}
        elif not line.startswith(":") and ":" in line:
            key, value = line.split(":", 1)
            current[key] = value[1:] if value.startswith(" ") else value
    if "data" in current:
        events.append((int(current.get("id", -1)), current.get("event"), json.loads(current["data"])))
    return events


def event_time(data):
    """An event's timestamp (QMP's seconds and microseconds) in seconds since the epoch."""
    stamp = data["timestamp"]
    return stamp["seconds"] + stamp["microseconds"] / 1e6
