#!/usr/bin/python3
"""The layout of a lowbit run archive as JSON, and the comparison of two layouts.

A layout lists every item under /configs (attributes, datasets and their attributes; the timings
sub-groups are run-dependent and left out) with its type, its shape and its value: strings and
integers as they are, floating-point arrays as the first 64 bits of the SHA-256 of their bytes (bit-exact). The project
checkout folder is replaced by "<project>" so that layouts of two checkouts compare. /run is left
out except the kernels that computed (blas_core, omp_threads), which decide whether values can be
compared bit for bit.
usage: archive_layout.py dump ARCHIVE PROJECT_DIR > layout.json
       archive_layout.py compare REFERENCE.json ARCHIVE PROJECT_DIR
compare exits 0 when every item is there with its type and shape, and, when the archive was
computed by the reference's kernels with the reference's thread count, with its value bit for bit;
1 with the differences otherwise (other kernels round differently: then only the layout is compared).
"""
import hashlib
import json
import sys

import h5py
import numpy as np


def item(v, project):
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        return {"type": "str", "value": v.replace(project, "<project>")}
    a = np.asarray(v)
    if a.dtype.kind in "SUO":
        vals = [x.decode() if isinstance(x, bytes) else str(x) for x in a.ravel()]
        return {"type": "str[]", "shape": list(a.shape), "value": [s.replace(project, "<project>") for s in vals]}
    if a.dtype.kind in "iu":
        return {"type": "int", "shape": list(a.shape), "value": a.ravel().tolist()}
    if a.dtype.kind == "f":
        return {"type": f"f{a.itemsize * 8}", "shape": list(a.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]}
    return {"type": str(a.dtype), "value": repr(v)}


def dump(path, project):
    out = {}
    with h5py.File(path, "r") as f:
        run = f["run"].attrs
        kernels = {k: item(run[k], project)["value"] for k in ("blas_core", "omp_threads") if k in run}

        def walk(g, prefix):
            for k, v in g.attrs.items():
                out[prefix + "@" + k] = item(v, project)
            for name, obj in g.items():
                if name == "timings":
                    continue
                if isinstance(obj, h5py.Group):
                    walk(obj, prefix + "/" + name)
                else:
                    out[prefix + "/" + name] = item(obj[()], project)
                    for k, v in obj.attrs.items():
                        out[prefix + "/" + name + "@" + k] = item(v, project)
        walk(f["configs"], "/configs")
    return {"kernels": kernels, "items": out}


def compare(ref, new):
    diffs = []
    ra, na = ref["items"], new["items"]
    for k in sorted(set(ra) - set(na)):
        diffs.append(f"missing: {k}")
    for k in sorted(set(na) - set(ra)):
        diffs.append(f"new: {k}")
    exact = ref["kernels"] == new["kernels"]
    for k in sorted(set(ra) & set(na)):
        a, b = ra[k], na[k]
        if a.get("type") != b.get("type") or a.get("shape") != b.get("shape"):
            diffs.append(f"{k}: {a.get('type')}{a.get('shape')} != {b.get('type')}{b.get('shape')}")
        elif exact and a != b:
            diffs.append(f"{k}: {a.get('value', a.get('sha256'))!r} != {b.get('value', b.get('sha256'))!r}")
    return exact, diffs


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "dump":
        d = dump(sys.argv[2], sys.argv[3])  # one item per line: reviewable diffs
        lines = [json.dumps(k) + ": " + json.dumps(v, sort_keys=True) for k, v in sorted(d["items"].items())]
        print('{"kernels": ' + json.dumps(d["kernels"], sort_keys=True) + ', "items": {\n' + ",\n".join(lines) + "\n}}")
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "compare":
        ref = json.load(open(sys.argv[2]))
        exact, diffs = compare(ref, dump(sys.argv[3], sys.argv[4]))
        what = "layout and values" if exact else f"layout only (values need the reference's kernels {ref['kernels']})"
        if diffs:
            print(f"{len(diffs)} differences ({what} compared):")
            print("\n".join(diffs[:40]))
            return 1
        print(f"equal: {len(ref['items'])} items, {what}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
