#!/usr/bin/env python3
"""tests/data/gguf_ref.py — gguf-py (llama.cpp's own Python package) as the independent reference for
lowbit's GGUF reader and dequantisation (tests/unit/test_gguf.cpp, test_ggml_blocks.cpp).

  gguf_ref.py synth OUTDIR
      Writes small GGUF files with gguf-py's GGUFWriter: OUTDIR/synth.gguf (v3; every supported
      tensor type, every metadata value type incl. nested arrays), OUTDIR/synth_v2.gguf (the same
      bytes with version 2: v2 and v3 share the layout), OUTDIR/aligned64.gguf (general.alignment 64).
      Tensor contents: gguf.quants.quantize of random data where gguf-py can quantise the type,
      and random block bytes with finite f16 scales for every block type. Then it reads each file
      back with gguf.GGUFReader, dequantises every tensor with gguf.quants.dequantize and writes
      OUTDIR/<file>.<tensor>.f32 (raw little-endian float32) and OUTDIR/expect.json (metadata
      values and tensor names, types, row-major shapes, offsets).

  gguf_ref.py real MODEL OUT.json [--per-type N]
      Dequantises the tensors of a real GGUF file with gguf-py and writes, per tensor, its type,
      shape and a position-weighted hash of the float32 bit patterns:
          h = sum_i u32[i] * (2 i + 1)  mod 2^64
      (any single changed value changes h, since 2i+1 is odd), plus the float64 sum. With
      --per-type N only the N smallest tensors of each ggml type are done, and their values are
      also written raw next to OUT.json as OUT.json.<k>.f32 (at most the first 2^20 values of each;
      the fast test compares them and the hash of all).

  gguf_ref.py dump FILE OUT.json
      Reads FILE (one lowbit wrote) with gguf.GGUFReader: version, alignment, metadata values (types
      and, except for nested arrays, values), tensor infos, raw bytes of small tensors and the
      hash above of every tensor's dequantised values.

  gguf_ref.py quant IN.f32 OUTDIR
      gguf.quants.quantize of the float32 values in IN.f32 (groups of 32) to Q4_0, Q4_1 and Q8_0;
      the block bytes go to OUTDIR/Q4_0.bin, Q4_1.bin, Q8_0.bin.
"""
import json
import os
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

RAW_MAX = 1 << 20

SUPPORTED = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
             T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]

# Byte offsets of the f16 fields inside one block (ggml-common.h), so random blocks get finite scales.
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def finite_f16(rng, n):
    """Random finite f16 bit patterns: zeros, subnormals, normals up to 65504, both signs."""
    h = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    bad = (h & 0x7C00) == 0x7C00
    h[bad] &= np.uint16(0x83FF)  # exponent 31 -> 0 (a subnormal): finite
    return h


def random_blocks(rng, qtype, rows, cols):
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    nb = rows * cols // bs
    b = rng.integers(0, 256, size=(nb, ts), dtype=np.uint16).astype(np.uint8)
    for off in F16_FIELDS[qtype]:
        # Mostly ordinary scales (|d| ~ 1e-3 .. 1), some arbitrary finite patterns.
        h = np.float16(rng.standard_normal(nb) * 0.05).view(np.uint16)
        wild = rng.random(nb) < 0.1
        h[wild] = finite_f16(rng, int(wild.sum()))
        b[:, off:off + 2] = h.view(np.uint8).reshape(nb, 2)
    return b.reshape(rows, cols // bs * ts)


def add_metadata(w):
    """One key per metadata value type, arrays of each, nested arrays; returns the expected values."""
    exp = {}

    def put(key, vtype, val, sub_type=None):
        w.add_key_value(key, val, vtype, sub_type=sub_type)
        exp[key] = {"type": int(vtype), "value": val}
        if sub_type is not None:
            exp[key]["sub_type"] = int(sub_type)

    put("test.u8", V.UINT8, 250)
    put("test.i8", V.INT8, -120)
    put("test.u16", V.UINT16, 65000)
    put("test.i16", V.INT16, -32000)
    put("test.u32", V.UINT32, 4000000000)
    put("test.i32", V.INT32, -2000000000)
    put("test.u64", V.UINT64, 18000000000000000000)
    put("test.i64", V.INT64, -9000000000000000000)
    f32 = float(np.float32(0.1))
    put("test.f32", V.FLOAT32, f32)
    put("test.f64", V.FLOAT64, 0.1)
    put("test.bool_true", V.BOOL, True)
    put("test.bool_false", V.BOOL, False)
    put("test.string", V.STRING, "héllo, GGUF \u2603")
    put("test.arr_u8", V.ARRAY, [0, 1, 255], V.UINT8)
    put("test.arr_i16", V.ARRAY, [-1, 2, -3], V.INT16)
    put("test.arr_u64", V.ARRAY, [1, 2 ** 63], V.UINT64)
    put("test.arr_f32", V.ARRAY, [float(np.float32(x)) for x in (1.5, -0.25, 3.1)], V.FLOAT32)
    put("test.arr_f64", V.ARRAY, [1e300, -2.5], V.FLOAT64)
    put("test.arr_bool", V.ARRAY, [True, False, True], V.BOOL)
    put("test.arr_str", V.ARRAY, ["a", "", "ünïcode"], V.STRING)
    put("test.arr_nested", V.ARRAY, [[1, 2], [3], [4, 5, 6]], V.ARRAY)  # inner arrays: i32
    put("test.arr_nested_str", V.ARRAY, [["x", "y"], ["z"]], V.ARRAY)
    return exp


def write_synth(outdir):
    rng = np.random.default_rng(1234)
    rows, cols = 3, 512
    files = {}

    def build(path, alignment=None):
        w = gguf.GGUFWriter(path, arch="lowbittest")
        if alignment is not None:
            w.add_custom_alignment(alignment)
        kv = add_metadata(w)
        kv["general.architecture"] = {"type": int(V.STRING), "value": "lowbittest"}
        if alignment is not None:
            kv["general.alignment"] = {"type": int(V.UINT32), "value": alignment}
        data = rng.standard_normal((rows, cols)).astype(np.float32)
        w.add_tensor("f32.data", data)
        w.add_tensor("f16.rand", finite_f16(rng, rows * cols).view(np.float16).reshape(rows, cols))
        w.add_tensor("bf16.quant", gguf.quants.quantize(data, T.BF16), raw_dtype=T.BF16)
        bf = rng.integers(0, 1 << 16, size=rows * cols, dtype=np.uint32).astype(np.uint16)
        bf[(bf & 0x7F80) == 0x7F80] &= np.uint16(0x807F)  # keep finite
        w.add_tensor("bf16.rand", bf.view(np.uint8).reshape(rows, cols * 2), raw_dtype=T.BF16)
        # a 1-D and a 3-D tensor: shapes are reported row-major
        w.add_tensor("f32.vec", rng.standard_normal(7).astype(np.float32))
        w.add_tensor("f32.cube", rng.standard_normal((2, 3, 4)).astype(np.float32))
        for q in SUPPORTED[3:]:
            name = q.name.lower()
            try:
                qb = gguf.quants.quantize(data * 0.1, q)
                w.add_tensor(f"{name}.quant", qb, raw_dtype=q)
            except NotImplementedError:
                pass  # gguf-py cannot quantise k-quants; the random blocks cover them
            w.add_tensor(f"{name}.rand", random_blocks(rng, q, rows, cols), raw_dtype=q)
        # types lowbit does not read: the reader accepts the file, tensor_ref refuses the tensor
        w.add_tensor("mxfp4.quant", gguf.quants.quantize(data, T.MXFP4), raw_dtype=T.MXFP4)
        w.add_tensor("tq2_0.quant", gguf.quants.quantize(data[:, :256], T.TQ2_0), raw_dtype=T.TQ2_0)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return kv

    expect = {"files": {}}
    files["synth.gguf"] = build(os.path.join(outdir, "synth.gguf"))
    files["aligned64.gguf"] = build(os.path.join(outdir, "aligned64.gguf"), alignment=64)
    # v2: same layout as v3 (v3 only added big-endian files); patch the version field.
    b = bytearray(open(os.path.join(outdir, "synth.gguf"), "rb").read())
    assert b[4:8] == (3).to_bytes(4, "little")
    b[4:8] = (2).to_bytes(4, "little")
    open(os.path.join(outdir, "synth_v2.gguf"), "wb").write(bytes(b))
    files["synth_v2.gguf"] = files["synth.gguf"]

    for fname, kv in files.items():
        r = gguf.GGUFReader(os.path.join(outdir, fname))
        tensors = []
        for t in r.tensors:
            vals = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
            ref = f"{fname}.{t.name}.f32"
            np.ascontiguousarray(vals).tofile(os.path.join(outdir, ref))
            tensors.append({
                "name": t.name, "type": int(t.tensor_type), "type_name": t.tensor_type.name,
                "shape": [int(x) for x in reversed(list(t.shape))],  # row-major
                "offset": int(t.data_offset) - int(r.data_offset) if hasattr(r, "data_offset") else None,
                "abs_offset": int(t.data_offset), "nbytes": int(t.n_bytes), "ref": ref,
            })
        expect["files"][fname] = {"kv": kv, "tensors": tensors, "version": 2 if "v2" in fname else 3,
                                  "alignment": 64 if "aligned64" in fname else 32}
    json.dump(expect, open(os.path.join(outdir, "expect.json"), "w"), indent=1)


def weighted_hash(vals):
    u = np.ascontiguousarray(vals, dtype=np.float32).reshape(-1).view(np.uint32)
    h = np.uint64(0)
    step = 1 << 22
    with np.errstate(over="ignore"):
        for s in range(0, u.size, step):
            c = u[s:s + step].astype(np.uint64)
            w = np.arange(s, s + c.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            h = h + np.sum(c * w, dtype=np.uint64)
    return int(h)


def real(model, out, per_type):
    r = gguf.GGUFReader(model)
    chosen = list(r.tensors)
    if per_type:
        by = {}
        for t in r.tensors:
            by.setdefault(int(t.tensor_type), []).append(t)
        chosen = []
        for lst in by.values():
            chosen += sorted(lst, key=lambda t: (int(t.n_elements), t.name))[:per_type]
    res = []
    for k, t in enumerate(chosen):
        vals = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        e = {"name": t.name, "type": int(t.tensor_type), "type_name": t.tensor_type.name,
             "shape": [int(x) for x in reversed(list(t.shape))], "n": int(vals.size),
             "hash": str(weighted_hash(vals)), "sum": float(np.sum(vals, dtype=np.float64))}
        if per_type:
            e["ref"] = f"{os.path.basename(out)}.{k}.f32"
            # raw values of at most the first RAW_MAX elements (the hash covers the rest)
            np.ascontiguousarray(vals).reshape(-1)[:RAW_MAX].tofile(os.path.join(os.path.dirname(out) or ".", e["ref"]))
        res.append(e)
    tmp = out + ".tmp"
    arch = r.fields["general.architecture"]
    json.dump({"model": model, "n_tensors": len(r.tensors), "n_kv": len([k for k in r.fields if not k.startswith("GGUF.")]),
               "architecture": bytes(arch.parts[arch.data[0]]).decode(), "tensors": res}, open(tmp, "w"), indent=1)
    os.replace(tmp, out)


def dump(path, out):
    """Reads a GGUF file (e.g. one lowbit wrote) with gguf.GGUFReader: metadata values, tensor infos and
    the weighted hash of each tensor's dequantised values."""
    r = gguf.GGUFReader(path)
    kv = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        e = {"types": [int(t) for t in f.types]}
        nested = len(f.types) > 2 and f.types[1] == V.ARRAY
        if not nested:
            v = f.contents()
            if isinstance(v, list):
                v = [x if not isinstance(x, (np.floating, np.integer)) else x.item() for x in v]
            elif isinstance(v, (np.floating, np.integer, np.bool_)):
                v = v.item()
            e["value"] = v
        kv[k] = e
    tensors = []
    for t in r.tensors:
        vals = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        tensors.append({"name": t.name, "type": int(t.tensor_type), "shape": [int(x) for x in reversed(list(t.shape))],
                        "abs_offset": int(t.data_offset), "hash": str(weighted_hash(vals)),
                        "raw": np.asarray(t.data).reshape(-1).view(np.uint8).tobytes().hex()
                        if t.n_bytes <= 4096 else None})
    ver = int(r.fields["GGUF.version"].parts[-1][0])
    json.dump({"version": ver, "alignment": int(r.alignment), "kv": kv, "tensors": tensors}, open(out, "w"), indent=1)


def quant(inp, outdir):
    """Quantises the float32 values in INP with gguf.quants.quantize to Q4_0, Q4_1 and Q8_0 and writes the
    block bytes to OUTDIR/<type>.bin."""
    x = np.fromfile(inp, dtype=np.float32).reshape(-1, 32)
    for q in (T.Q4_0, T.Q4_1, T.Q8_0):
        gguf.quants.quantize(x, q).tofile(os.path.join(outdir, q.name + ".bin"))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "synth":
        os.makedirs(sys.argv[2], exist_ok=True)
        write_synth(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "real":
        per_type = 0
        if len(sys.argv) >= 6 and sys.argv[4] == "--per-type":
            per_type = int(sys.argv[5])
        real(sys.argv[2], sys.argv[3], per_type)
    elif len(sys.argv) >= 4 and sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "quant":
        quant(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
