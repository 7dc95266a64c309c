#!/usr/bin/env python3
"""Plan the layers of a seeded qcow2 test chain A <- B <- C <- D.

Writes one qemu-io command per line to OUTDIR/cmds_{A,B,C,D}.txt and prints one
JSON line (seed, per-layer counts, what a stream with base A has to copy).
stream-vs-qemu.sh creates the images and feeds each file to qemu-io.

The plan is a pure function of the arguments, so a seed reproduces a chain exactly.
"""
import argparse
import json
import os
import random

LAYERS = "ABCD"
# Fractions of the virtual size written per layer: 1/8 in A, 1/16 in B and C, 1/64 in D.
# At 4 GiB that is ~490 MiB in B|C but not D, the volume a stream with base A copies.
DEFAULT_FRACS = (1 / 8, 1 / 16, 1 / 16, 1 / 64)
# 0x00 would look like a zero cluster to a reader, so data patterns avoid it.
PATTERNS = range(0x01, 0x100)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, required=True, help="virtual size in bytes")
    ap.add_argument("--cluster", type=int, required=True, help="qcow2 cluster size in bytes")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--fracs", type=float, nargs=4, default=DEFAULT_FRACS, metavar="F",
                    help="fraction of the disk written in A B C D")
    ap.add_argument("--max-extent", type=int, default=16, help="longest extent, in clusters")
    ap.add_argument("--zero-frac", type=float, default=0.05,
                    help="share of B/C/D extents written with write -z")
    ap.add_argument("--unaligned", type=int, default=32,
                    help="byte-unaligned sub-cluster writes per layer (force partial-cluster COW)")
    a = ap.parse_args()
    if a.size % a.cluster or a.size // a.cluster < 2 * a.max_extent:
        ap.error("size must be a multiple of cluster and hold at least 2*max-extent clusters")
    return a


def plan_extents(rng, layer, frac, a, nclusters):
    """Random whole-cluster extents until `frac` of the clusters are written.

    Returns (commands, {cluster: 'd' | 'z'}); later writes override earlier ones.
    """
    target = round(frac * nclusters)
    state, cmds = {}, []
    while len(state) < target:
        n = rng.randint(1, a.max_extent)
        first = rng.randrange(0, nclusters - n + 1)
        off, length = first * a.cluster, n * a.cluster
        # A has no backing file, so zero writes there would only test unallocated reads.
        if layer != "A" and rng.random() < a.zero_frac:
            cmds.append(f"write -q -z {off} {length}")
            kind = "z"
        else:
            cmds.append(f"write -q -P 0x{rng.choice(PATTERNS):02x} {off} {length}")
            kind = "d"
        for c in range(first, first + n):
            state[c] = kind
    return cmds, state


def plan_unaligned(rng, a, state):
    """Small writes at odd byte offsets, some crossing a cluster boundary."""
    cmds = []
    for _ in range(a.unaligned):
        off = rng.randrange(1, a.size - 2 * a.cluster) | 1   # odd: never sector aligned
        length = rng.choice([1, 511, 4097, a.cluster // 2 + 3, a.cluster + 1])
        cmds.append(f"write -q -P 0x{rng.choice(PATTERNS):02x} {off} {length}")
        for c in range(off // a.cluster, (off + length - 1) // a.cluster + 1):
            state[c] = "d"
    return cmds


def expected_copy(states, cluster):
    """Clusters a stream with base A must make D own: allocated in B or C, not in D."""
    b, c, d = states["B"], states["C"], states["D"]
    top = {k: c.get(k, b.get(k)) for k in (set(b) | set(c)) - set(d)}
    data = sum(1 for v in top.values() if v == "d")
    return {"clusters": len(top), "bytes": len(top) * cluster,
            "data_bytes": data * cluster, "zero_bytes": (len(top) - data) * cluster}


def main():
    a = parse_args()
    nclusters = a.size // a.cluster
    rng = random.Random(a.seed)
    states, layers = {}, {}
    for layer, frac in zip(LAYERS, a.fracs):
        cmds, state = plan_extents(rng, layer, frac, a, nclusters)
        cmds += plan_unaligned(rng, a, state)
        with open(os.path.join(a.outdir, f"cmds_{layer}.txt"), "w") as f:
            f.write("\n".join(cmds) + "\n")
        states[layer] = state
        layers[layer] = {"commands": len(cmds), "clusters": len(state),
                         "zero_clusters": sum(1 for v in state.values() if v == "z")}
    print(json.dumps({"seed": a.seed, "size": a.size, "cluster": a.cluster, "layers": layers,
                      "expected_copy": expected_copy(states, a.cluster)}))


if __name__ == "__main__":
    main()
