# A guest over NBD for the crash test: 4 KiB random writes at queue depth 16 (never two in flight on one block), a
# flush after every 64 acknowledged writes (one flush in flight at a time, writes go on meanwhile), until the stop file
# appears (then drain, flush, exit 0) or the connection dies (exit 3). Every event is one stdout line, in the order the
# guest saw it: "I id offset pattern" before a write is sent, "A id" once acknowledged, "S k" when flush k is sent,
# "F k" once it is acknowledged, "E message" on a failure. A flush covers the writes acknowledged before its S line.
# Once 16 writes were acknowledged it creates STOP_FILE.ready, so the test kills the node only while the guest writes.
import os, random, sys
import nbd

uri, size, seed, stop_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
BLOCK, DEPTH, FLUSH_EVERY = 4096, 16, 64
rng = random.Random(seed)
out = sys.stdout
blocks = size // BLOCK
writes = {}  # cookie -> (id, block, buffer)
busy = set()
flush = None  # (cookie, k)
next_id = 0
acked_since_flush = 0
flushes = 0
status = 0

acked = 0

def retire_writes():
    global acked_since_flush, acked
    for cookie in [c for c in writes if h.aio_command_completed(c)]:
        wid, block, _ = writes.pop(cookie)
        busy.discard(block)
        acked_since_flush += 1
        acked += 1
        out.write(f"A {wid}\n")
        if acked == DEPTH:
            open(stop_file + ".ready", "w").close()

def retire_flush():
    global flush
    if flush is not None and h.aio_command_completed(flush[0]):
        out.write(f"F {flush[1]}\n")
        flush = None

def send_flush():
    global flush, flushes, acked_since_flush
    flushes += 1
    out.write(f"S {flushes}\n")
    flush = (h.aio_flush(), flushes)
    acked_since_flush = 0

try:
    h = nbd.NBD()
    h.connect_uri(uri)
    out.write("C\n")
    stopping = False
    while True:
        stopping = stopping or os.path.exists(stop_file)
        while not stopping and len(writes) < DEPTH:
            block = rng.randrange(blocks)
            if block in busy:
                continue
            pattern = rng.randrange(1, 256)
            buffer = nbd.Buffer.from_bytearray(bytearray([pattern]) * BLOCK)
            next_id += 1
            out.write(f"I {next_id} {block * BLOCK} {pattern}\n")
            out.flush()
            writes[h.aio_pwrite(buffer, block * BLOCK)] = (next_id, block, buffer)
            busy.add(block)
        if flush is None and (acked_since_flush >= FLUSH_EVERY or (stopping and not writes and acked_since_flush > 0)):
            send_flush()
        if stopping and not writes and flush is None and acked_since_flush == 0:
            break
        h.poll(1000)
        retire_writes()
        retire_flush()
    h.shutdown()
except Exception as e:  # the node was killed under us, or a real failure: the test decides which
    out.write(f"E {type(e).__name__}: {e}\n".replace("\n", " ") + "\n")
    status = 3
finally:
    out.flush()
sys.exit(status)
