#!/usr/bin/env python3
"""Reference token ids from llama.cpp itself (llama-cpp-python), cached.

Usage:
  llama_tokenize.py MODEL.gguf INPUT.json OUTPUT.json
      INPUT.json: a JSON list of texts, each hex-encoded (so any bytes pass: newlines, NULs, invalid
      UTF-8). OUTPUT.json: {"model_sha256": ..., "computed": n, "results": [{"ids": [...],
      "text_hex": detokenized}, ...]} in input order, where ids are
      llama_tokenize(text, add_special=False, parse_special=False) and text_hex is
      llama_detokenize(ids, remove_special=True, unparse_special=False), both from the llama.cpp that
      llama-cpp-python was built with (vocab_only model: no weights are read). OUTPUT.json also
      holds "vocab": llama.cpp's n_tokens, bos, eos, add_bos and add_eos for the model.
  llama_tokenize.py --variant SRC.gguf DST.gguf PRE
      Writes DST.gguf: SRC's metadata (no tensors) with tokenizer.ggml.pre set to PRE, so the same
      vocabulary can be checked under another pre-tokenizer.

Results are cached under $LOWBIT_CACHE/tokref (default ~/.cache/lowbit/tokref), one file per
(model sha256, text sha256, llama-cpp-python version), so later runs do not import llama_cpp at all.
A model's sha256 is remembered by (path, size, mtime).
"""
import hashlib
import json
import os
import sys

CACHE = os.path.join(os.environ.get("LOWBIT_CACHE") or os.path.expanduser("~/.cache/lowbit"), "tokref")


def llama_cpp_version():
    try:
        from importlib.metadata import version
        return version("llama_cpp_python")
    except Exception:  # not installed: the version only matters when we compute
        return "unknown"


def file_sha256(path):
    st = os.stat(path)
    memo_path = os.path.join(CACHE, "model_sha256.json")
    key = f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}"
    try:
        with open(memo_path) as f:
            memo = json.load(f)
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    memo[key] = h.hexdigest()
    atomic_write(memo_path, json.dumps(memo))
    return memo[key]


def atomic_write(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Llama:
    """The vocabulary of one model through llama.cpp's C API (vocab_only: no weights)."""

    def __init__(self, path):
        import ctypes
        import llama_cpp
        self.ctypes, self.lc = ctypes, llama_cpp
        pass  # verbose=False below keeps llama.cpp quiet
        self.llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)

    def tokenize(self, text):
        lc, ct = self.lc, self.ctypes
        cap = len(text) + 16
        while True:
            buf = (lc.llama_token * cap)()
            n = lc.llama_tokenize(self.vocab, text, len(text), buf, cap, False, False)
            if n >= 0:
                return list(buf[:n])
            cap = -n

    def info(self):
        lc, v = self.lc, self.vocab
        return {"n_tokens": lc.llama_vocab_n_tokens(v), "bos": lc.llama_vocab_bos(v), "eos": lc.llama_vocab_eos(v),
                "add_bos": bool(lc.llama_vocab_get_add_bos(v)), "add_eos": bool(lc.llama_vocab_get_add_eos(v))}

    def detokenize(self, ids):
        lc, ct = self.lc, self.ctypes
        arr = (lc.llama_token * max(1, len(ids)))(*ids)
        cap = 8 * len(ids) + 64
        while True:
            out = ct.create_string_buffer(cap)
            n = lc.llama_detokenize(self.vocab, arr, len(ids), out, cap, True, False)
            if n >= 0:
                return out.raw[:n]
            cap = -n + 1


def reference(model, texts):
    os.makedirs(CACHE, exist_ok=True)
    msha = file_sha256(model)
    ver = llama_cpp_version()
    llama, computed, results = None, 0, []
    info_path = os.path.join(CACHE, hashlib.sha256(f"{msha}|{ver}|vocab".encode()).hexdigest() + ".json")
    try:
        with open(info_path) as f:
            info = json.load(f)
    except (OSError, ValueError):
        llama = Llama(model)
        info = llama.info()
        atomic_write(info_path, json.dumps(info))
    for text in texts:
        key = hashlib.sha256(f"{msha}|{ver}|".encode() + hashlib.sha256(text).digest()).hexdigest()
        path = os.path.join(CACHE, key + ".json")
        try:
            with open(path) as f:
                results.append(json.load(f))
            continue
        except (OSError, ValueError):
            pass
        if llama is None:
            llama = Llama(model)
        ids = llama.tokenize(text)
        r = {"ids": ids, "text_hex": llama.detokenize(ids).hex()}
        atomic_write(path, json.dumps(r))
        results.append(r)
        computed += 1
    return {"model_sha256": msha, "llama_cpp_python": ver, "vocab": info, "computed": computed, "results": results}


def variant(src, dst, pre):
    import gguf
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        value = pre if name == "tokenizer.ggml.pre" else field.contents()
        w.add_key_value(name, value, vtype, sub_type=sub)
    if "tokenizer.ggml.pre" not in r.fields:
        w.add_string("tokenizer.ggml.pre", pre)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--variant":
        variant(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model, inp, outp = sys.argv[1:]
    with open(inp) as f:
        texts = [bytes.fromhex(h) for h in json.load(f)]
    atomic_write(outp, json.dumps(reference(model, texts)))


if __name__ == "__main__":
    main()
