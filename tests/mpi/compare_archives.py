#!/usr/bin/python3
"""Compare the configurations of two lowbit run archives with h5py (Debian python3-h5py).

Every configuration group, every attribute and every dataset must be equal bit for bit, except
what is expected to differ between runs: the `timings` sub-group of each configuration and the
`/run` group (hosts, timestamps, rank counts). Staged configurations (ARCHIVE.staging/*.h5) are
not read: pass committed archives. Exit 0 when equal, 1 with a list of differences otherwise.
--renames-v1: A was written with archive schema 1; its keys renamed in schema 2
(analysis/archive_keys.py V1_RENAMES, docs/ARCHIVE.md "Changes in schema 2") are compared under
their new names, so A (schema 1) and B (schema 2) compare equal when only the renames differ.
usage: compare_archives.py A.h5 B.h5 [--expect-configs N] [--renames-v1]
"""
import os
import sys

import h5py
import numpy as np


def walk(g, prefix=""):
    out = {}
    for k, v in g.attrs.items():
        out[prefix + "@" + k] = v
    for name, obj in g.items():
        if name == "timings":
            continue
        if isinstance(obj, h5py.Group):
            out.update(walk(obj, prefix + "/" + name))
        else:
            out[prefix + "/" + name] = obj[()]
            for k, v in obj.attrs.items():
                out[prefix + "/" + name + "@" + k] = v
    return out


# Where a record renamed in schema 2 lives inside a configuration group (walk()'s paths).
RECORD_PATHS = {"diag": "/diagnostics"}


def v1_renames():
    """walk() key of schema 1 -> walk() key of schema 2, for every rename."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
    from archive_keys import V1_RENAMES
    return {f"{RECORD_PATHS[rec]}@{old}": f"{RECORD_PATHS[rec]}@{new}" for (rec, old), new in V1_RENAMES.items()}


def same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind == "f":
            return np.array_equal(a.view(np.uint64 if a.itemsize == 8 else np.uint32),
                                  b.view(np.uint64 if b.itemsize == 8 else np.uint32))
        return bool(np.all(a == b))
    return a == b


def main():
    args = sys.argv[1:]
    expect = None
    if "--expect-configs" in args:
        i = args.index("--expect-configs")
        expect = int(args[i + 1])
        del args[i:i + 2]
    renames = {}
    if "--renames-v1" in args:
        args.remove("--renames-v1")
        renames = v1_renames()
    a_path, b_path = args
    with h5py.File(a_path, "r") as fa, h5py.File(b_path, "r") as fb:
        ca, cb = fa["configs"], fb["configs"]
        diffs = []
        if sorted(ca.keys()) != sorted(cb.keys()):
            diffs.append(f"configuration sets differ: {sorted(set(ca) ^ set(cb))}")
        for name in sorted(set(ca) & set(cb)):
            wa, wb = walk(ca[name]), walk(cb[name])
            wa = {renames.get(k, k): v for k, v in wa.items()}
            if wa.keys() != wb.keys():
                diffs.append(f"{name}: different items {sorted(set(wa) ^ set(wb))}")
            for k in sorted(set(wa) & set(wb)):
                if not same(wa[k], wb[k]):
                    diffs.append(f"{name}{k}: {wa[k]!r} != {wb[k]!r}")
            if wa.get("@complete") != 1:
                diffs.append(f"{name}: not marked complete")
        n = len(ca)
        if expect is not None and n != expect:
            diffs.append(f"{a_path}: {n} configurations, expected {expect}")
    if diffs:
        print("\n".join(diffs[:40]))
        return 1
    print(f"equal: {n} configurations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
