#!/usr/bin/env python3
"""bench/bench_prefill.py — prefill tokens/s of lowbit's forward and of llama.cpp (llama-cpp-python)
side by side, on the same tokens, the same number of threads (results: docs/BENCHMARKS.md, "Prefill
vs llama.cpp").

usage: bench_prefill.py [--build build] [--threads 2] [--seqs 8] [--len 512] [--logits last|all]
                        [--rounds 2] [--out results.json] MODEL.gguf [MODEL.gguf ...]
       (run with the venv python of .ci/models: ~/.cache/lowbit/venv/bin/python)

For each model:
  1. Tokens: WikiText-2 test (../shared/data/wikitext2_raw/wiki.test.raw), tokenised by llama.cpp
     ($LOWBIT_SHARED_DIR or ../shared beside the checkout; its first 64 x SEQS x LEN bytes), tokenised
     by llama.cpp (vocab only, no BOS, parse_special off; lowbit's tokenizer gives the same ids, tests/data/
     llama_tokenize.py), cut into SEQS sequences of LEN tokens; the model's BOS is put first when its
     GGUF says add_bos_token (Gemma 3), as both engines would for a prompt.
  2. lowbit: build/bench/bench_prefill (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = THREADS) in its own
     process: load, one warm-up sequence, then every sequence timed, one at a time (B = 1).
  3. llama.cpp: llama_cpp.Llama(model, n_threads = n_threads_batch = THREADS, n_ctx = LEN,
     n_batch = n_ubatch = LEN, logits_all only for --logits all), in its own process: one warm-up
     sequence, then every sequence timed with reset() + eval() (a fresh KV cache each).
  Both are run ROUNDS times, alternating (lowbit, llama.cpp, lowbit, ...), so a busy machine slows
  both alike; each round's figure is reported and the best of each is the headline.
  Peak RSS: lowbit's ru_maxrss from bench_prefill; llama.cpp's ru_maxrss of its python process (the
  interpreter and numpy are ~30 MiB of it).

--logits last (default): the prefill of a prompt — logits of the last position only, which is what
llama.cpp computes without logits_all; all: every position's logits (perplexity).
Weights: each engine runs the file as given — llama.cpp multiplies the stored block types directly
(with q8_0-quantised activations for quantised weights); lowbit dequantises every block to f32 at
load and multiplies in f32 (OpenBLAS). So the comparison is the engines as a user gets them.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def tokens_for(model, nseq, length, text_path):
    import llama_cpp
    v = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    ids = v.tokenize(open(text_path, "rb").read(64 * nseq * length), add_bos=False, special=False)
    assert len(ids) >= nseq * length, f"{text_path}: {len(ids)} tokens, fewer than {nseq} x {length}"
    bos = v.token_bos() if v.metadata.get("tokenizer.ggml.add_bos_token") == "true" else None
    body = length - (1 if bos is not None else 0)
    seqs = []
    for i in range(nseq):
        s = ids[i * body:(i + 1) * body]
        seqs.append(([bos] if bos is not None else []) + s)
    return seqs


LLAMA_CHILD = r"""
import json, resource, sys, time
import llama_cpp
model, tokfile, threads, length, all_logits = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "all"
seqs = json.load(open(tokfile))
t0 = time.perf_counter()
llm = llama_cpp.Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=length,
                      n_batch=length, n_ubatch=length, logits_all=all_logits, verbose=False)
load = time.perf_counter() - t0
def run(s):
    llm.reset()
    llm.eval(s)
t0 = time.perf_counter(); run(seqs[0]); warm = time.perf_counter() - t0
n = 0
t0 = time.perf_counter()
for s in seqs:
    run(s); n += len(s)
secs = time.perf_counter() - t0
print(json.dumps({"tokens": n, "seconds": secs, "tokens_per_s": n / secs, "load_seconds": load,
                  "warmup_seconds": warm, "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "threads": threads}))
"""


def run_lowbit(build, model, tokfile, threads, logits):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([os.path.join(build, "bench", "bench_prefill"), "--model", model, "--tokens", tokfile,
                          "--logits", logits], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_llama(model, tokfile, threads, length, logits):
    out = subprocess.run([sys.executable, "-c", LLAMA_CHILD, model, tokfile, str(threads), str(length), logits],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seqs", type=int, default=8)
    ap.add_argument("--len", type=int, default=512)
    ap.add_argument("--logits", default="last", choices=["last", "all"])
    ap.add_argument("--rounds", type=int, default=2)
    shared = os.environ.get("LOWBIT_SHARED_DIR") or os.path.join(ROOT, "..", "shared")
    ap.add_argument("--text", default=os.path.join(shared, "data", "wikitext2_raw", "wiki.test.raw"))
    ap.add_argument("--out")
    a = ap.parse_args()
    import llama_cpp
    from importlib.metadata import version
    results = {"threads": a.threads, "seqs": a.seqs, "len": a.len, "logits": a.logits,
               "llama_cpp_python": version("llama_cpp_python"), "cpus": os.cpu_count(),
               "loadavg_start": os.getloadavg(), "models": []}
    for model in a.models:
        seqs = tokens_for(model, a.seqs, a.len, a.text)
        tokfile = os.path.join("/tmp", f"bench_prefill_{os.getpid()}_{os.path.basename(model)}.json")
        json.dump(seqs, open(tokfile, "w"))
        r = {"model": model, "file_mib": os.path.getsize(model) / 2**20, "lowbit": [], "llama_cpp": []}
        for k in range(a.rounds):
            r["lowbit"].append(run_lowbit(a.build, model, tokfile, a.threads, a.logits))
            r["llama_cpp"].append(run_llama(model, tokfile, a.threads, a.len, a.logits))
            print(f"{os.path.basename(model)} round {k + 1}: lowbit {r['lowbit'][-1]['tokens_per_s']:.1f} tok/s, "
                  f"llama.cpp {r['llama_cpp'][-1]['tokens_per_s']:.1f} tok/s", file=sys.stderr)
        best_l = max(x["tokens_per_s"] for x in r["lowbit"])
        best_c = max(x["tokens_per_s"] for x in r["llama_cpp"])
        r["best"] = {"lowbit_tokens_per_s": best_l, "llama_cpp_tokens_per_s": best_c,
                     "lowbit_over_llama_cpp": best_l / best_c,
                     "lowbit_maxrss_mib": max(x["maxrss_mib"] for x in r["lowbit"]),
                     "llama_cpp_maxrss_mib": max(x["maxrss_mib"] for x in r["llama_cpp"])}
        results["models"].append(r)
        os.remove(tokfile)
    results["loadavg_end"] = os.getloadavg()
    s = json.dumps(results, indent=1)
    if a.out:
        open(a.out, "w").write(s + "\n")
    print(s)


if __name__ == "__main__":
    main()
