#!/usr/bin/env python3
"""llama.cpp's per-token NLL on the first windows of a text, as `lowbit ppl` cuts them.

The text (stripped of surrounding whitespace, as lowbit's documents are) is tokenised by llama.cpp (no BOS when the GGUF says not to add one; parse_special off),
cut as lowbit's perplexity cuts it: window k feeds tokens [k*CTX, k*CTX+T) in a fresh context and
predicts [k*CTX+1, k*CTX+T] (T = CTX, shorter at the end), so every token after the first is
predicted once. Prints JSON: nll_per_token, tokens, windows, per-window NLL, the argmax of
every position (for top-1 agreement) and "ids", the token ids the windows read (llama.cpp's
tokenisation, for an exact comparison with lowbit's). Run with the venv of .ci/models.
usage: llama_window_nll.py MODEL.gguf TEXT CTX WINDOWS [--bos]
"""
import json, math, sys
import numpy as np
import llama_cpp

model, text_path, ctx, nwin = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bos = "--bos" in sys.argv
llm = llama_cpp.Llama(model_path=model, n_ctx=ctx, n_batch=ctx, n_ubatch=ctx, logits_all=True,
                      n_threads=2, verbose=False)
# lowbit ppl --doc-sep "": the whole file is one document, stripped of leading/trailing " \t\r\n"
text = open(text_path, "rb").read().strip(b" \t\r\n")
toks = llm.tokenize(text, add_bos=bos, special=False)
out = {"tokens": 0, "windows": 0, "window_nll": [], "argmax": [], "ids": []}
total = 0.0
for w in range(nwin):
    s = w * ctx
    T = min(ctx, len(toks) - 1 - s)
    if T < 1:
        break
    win, tgt = toks[s:s + T], toks[s + 1:s + T + 1]
    llm.reset()
    llm.eval(win)
    logits = np.array(llm.scores[:T], dtype=np.float64)
    lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    nll = lse - logits[np.arange(T), tgt]
    out["window_nll"].append(nll.tolist())
    out["argmax"].append(logits.argmax(1).tolist())
    total += float(nll.sum())
    out["tokens"] += T
    out["windows"] += 1
    out["ids"] = toks[:s + T + 1]
out["nll_per_token"] = total / max(out["tokens"], 1)
out["ppl"] = math.exp(out["nll_per_token"])
json.dump(out, sys.stdout)
