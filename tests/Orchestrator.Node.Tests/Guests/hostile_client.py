# A hostile NBD client for the node's export, with libnbd's own checks off (strict mode 0) so the server judges:
# block status on ranges at and past the end, trims on unaligned ranges and past the end, then 100 requests in
# flight and an abrupt exit with all of them unanswered. One line per request: "NAME ok" or "NAME errno=N".
import errno, os, sys
import nbd

uri = sys.argv[1]
h = nbd.NBD()
h.set_strict_mode(0)
h.add_meta_context("base:allocation")
h.connect_uri(uri)
size = h.get_size()

def run(name, call):
    try:
        call()
        print(f"{name} ok", flush=True)
    except nbd.Error as e:
        print(f"{name} errno={errno.errorcode.get(e.errno, e.errno)}", flush=True)

extents = lambda *args: 0
run("block-status-at-end", lambda: h.block_status(1, size, extents))
run("block-status-across-end", lambda: h.block_status(2, size - 1, extents))
run("block-status-far-past-end", lambda: h.block_status(4, 2**63, extents))
run("block-status-last-byte", lambda: h.block_status(1, size - 1, extents))
run("trim-unaligned-inside", lambda: h.trim(200 * 1024, 6 * 2**20 + 1000))
run("trim-sub-cluster", lambda: h.trim(4095, 1))
run("trim-last-bytes", lambda: h.trim(3, size - 3))
run("trim-across-end", lambda: h.trim(4, size - 3))
run("write-after", lambda: h.pwrite(b"\x5a" * 512, 0))

# 100 requests in flight, half 64 KiB writes, half 64 KiB reads, none answered: then the process dies with its socket.
buffers = []
for i in range(100):
    buffer = nbd.Buffer.from_bytearray(bytearray([0x77]) * 65536) if i % 2 else nbd.Buffer(65536)
    buffers.append(buffer)
    (h.aio_pwrite if i % 2 else h.aio_pread)(buffer, 40 * 2**20 + i * 65536)
print(f"in-flight {h.aio_in_flight()}", flush=True)
os._exit(0)
