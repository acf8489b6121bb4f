#!/usr/bin/env python3
"""tests/data/llama_peer.py — llama.cpp (llama-cpp-python) and gguf-py as the independent peers of
lowbit's GGUF export (tests/unit/test_gguf_export.cpp, bench/bench_prefill.py).

  llama_peer.py nll MODEL.gguf TOKENS.json OUT.json [--n-ctx N] [--threads T] [--kv f16|f32] [--logits OUT.f32]
      TOKENS.json: a JSON list of token-id sequences. llama.cpp loads MODEL (CPU, logits_all,
      n_threads T, default 2) and evaluates each sequence from an empty KV cache; OUT.json gets, per
      sequence, "nll": [-log softmax(logits[t-1])[tok[t]] for t = 1..T-1] (float64 log-softmax of
      llama.cpp's float32 logits) and "argmax": [argmax logits[t] for t = 0..T-2], plus "n_vocab"
      and the llama-cpp-python version. --kv: the KV cache type (llama.cpp's default is f16, which
      rounds every K and V; f32 keeps them, for checks of F32 weights). --logits writes the first sequence's logits, [T, n_vocab]
      float32 little-endian, raw.

  llama_peer.py greedy MODEL.gguf TOKENS.json N OUT.json
      llama.cpp's greedy continuation (argmax at every step, KV cache, 2 threads) of the one token
      sequence in TOKENS.json, N new tokens (stopping at end-of-generation): OUT.json gets "ids".

  llama_peer.py dequant MODEL.gguf OUTDIR
      gguf-py (gguf.GGUFReader, gguf.quants.dequantize) reads every tensor of MODEL and writes
      OUTDIR/<k>.f32 (raw float32, row-major) and OUTDIR/index.json: [{"name", "type" (ggml type
      name), "shape" (row-major), "file"}] in file order.
"""
import json
import os
import sys

import numpy as np

KV_TYPES = {"f32": 0, "f16": 1}  # ggml_type ids


def nll(model, tokens_json, out_json, n_ctx, threads, kv, logits_out):
    import llama_cpp
    seqs = json.load(open(tokens_json))
    need = max(len(s) for s in seqs)
    n_ctx = max(n_ctx, need)
    llm = llama_cpp.Llama(model_path=model, logits_all=True, n_threads=threads, n_threads_batch=threads,
                          n_ctx=n_ctx, n_batch=min(512, n_ctx), verbose=False,
                          type_k=KV_TYPES[kv], type_v=KV_TYPES[kv])
    res = []
    for i, s in enumerate(seqs):
        llm.reset()
        llm.eval(s)
        lg = np.array(llm.scores[:len(s)], dtype=np.float32)
        if i == 0 and logits_out:
            lg.tofile(logits_out)
        x = lg.astype(np.float64)
        m = x.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
        t = np.array(s)
        res.append({"nll": (lse[:-1] - x[np.arange(len(s) - 1), t[1:]]).tolist(),
                    "argmax": x[:-1].argmax(axis=1).tolist()})
    from importlib.metadata import version
    json.dump({"n_vocab": int(llm.n_vocab()), "llama_cpp_python": version("llama_cpp_python"), "kv": kv,
               "results": res},
              open(out_json, "w"))


def greedy(model, tokens_json, n, out_json):
    import llama_cpp
    prompt = json.load(open(tokens_json))
    llm = llama_cpp.Llama(model_path=model, n_threads=2, n_threads_batch=2, n_ctx=len(prompt) + n + 1,
                          logits_all=True, verbose=False)
    llm.reset()
    llm.eval(prompt)
    ids = []
    for _ in range(n):
        tok = int(np.argmax(np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float32)))
        if llm.token_eos() == tok or llama_cpp.llama_vocab_is_eog(llm._model.vocab, tok):
            break
        ids.append(tok)
        llm.eval([tok])
    json.dump({"ids": ids}, open(out_json, "w"))


def dequant(model, outdir):
    import gguf
    os.makedirs(outdir, exist_ok=True)
    r = gguf.GGUFReader(model)
    index = []
    for k, t in enumerate(r.tensors):
        vals = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        f = f"{k}.f32"
        np.ascontiguousarray(vals).tofile(os.path.join(outdir, f))
        index.append({"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in reversed(list(t.shape))],
                      "file": f})
    json.dump(index, open(os.path.join(outdir, "index.json"), "w"), indent=1)


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "nll":
        opts = {"--n-ctx": "512", "--threads": "2", "--kv": "f16", "--logits": ""}
        rest = a[4:]
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                sys.exit(f"llama_peer.py: unknown option {rest[0]}")
            opts[rest[0]] = rest[1]
            rest = rest[2:]
        nll(a[1], a[2], a[3], int(opts["--n-ctx"]), int(opts["--threads"]), opts["--kv"], opts["--logits"])
    elif len(a) == 5 and a[0] == "greedy":
        greedy(a[1], a[2], int(a[3]), a[4])
    elif len(a) == 3 and a[0] == "dequant":
        dequant(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
