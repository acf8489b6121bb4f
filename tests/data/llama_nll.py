#!/usr/bin/python3
"""llama.cpp (through llama-cpp-python, CPU backend) as the ecosystem's reference engine.

usage:
  llama_nll.py nll MODEL.gguf TOKENS_FILE OUT_FILE [--threads N]
      TOKENS_FILE: whitespace-separated token ids, one sequence (window) per line. Each line is
      evaluated from an empty KV cache, as lowbit evaluates a window. OUT_FILE gets, per line, the
      float64 negative log-likelihood of tokens 1..n-1 given the tokens before them, and
      OUT_FILE.top1 the int32 arg-max id at positions 0..n-2 (llama.cpp's logits, log-softmax in f64).
  llama_nll.py tokenize MODEL.gguf TEXT_FILE OUT_FILE [--doc-sep SEP] [--bos 0|1]
      The text split into documents at SEP (default "<|endoftext|>", "" = one document), each
      trimmed of whitespace as lowbit's split_documents does, tokenised by llama.cpp's own tokenizer
      (vocab_only) without parsing special tokens, BOS prepended when --bos 1 (default: the
      model's tokenizer.ggml.add_bos_token). OUT_FILE: one line of ids per document.

llama.cpp's CPU matmuls with quantised weights quantise the activations to 8 bits (Q8_0/Q8_K) and
the KV cache is f16; its GELU is a f16 lookup table. Agreement with lowbit's f32 forward is therefore
close but not exact.
"""
import sys

import numpy as np


def opt(args, name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


def cmd_nll(args):
    import llama_cpp

    threads = int(opt(args, "--threads", "2"))
    model, tok_file, out = args
    with open(tok_file) as f:
        seqs = [[int(t) for t in line.split()] for line in f if line.strip()]
    n_ctx = max(len(s) for s in seqs)
    llm = llama_cpp.Llama(model_path=model, logits_all=True, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                          n_threads=threads, n_threads_batch=threads, verbose=False)
    nll, top1 = [], []
    for s in seqs:
        llm.reset()
        llm.eval(s)
        lg = np.array(llm.scores[:len(s)], dtype=np.float64)  # [n, V]
        mx = lg.max(axis=-1, keepdims=True)
        lse = (mx + np.log(np.exp(lg - mx).sum(axis=-1, keepdims=True)))[:, 0]
        tgt = np.array(s[1:])
        nll.append(lse[:-1] - lg[np.arange(len(s) - 1), tgt])
        top1.append(lg[:-1].argmax(axis=-1).astype(np.int32))
    np.concatenate(nll).astype("<f8").tofile(out)
    np.concatenate(top1).astype("<i4").tofile(out + ".top1")


def cmd_tokenize(args):
    import llama_cpp

    sep = opt(args, "--doc-sep", "<|endoftext|>")
    bos = opt(args, "--bos", None)
    model, text_file, out = args
    llm = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "true") == "true" if bos is None else bos == "1"
    with open(text_file, encoding="utf-8") as f:
        text = f.read()
    parts = text.split(sep) if sep else [text]
    with open(out, "w") as f:
        for p in parts:
            d = p.strip(" \t\r\n")
            if not d:
                continue
            ids = llm.tokenize(d.encode("utf-8"), add_bos=False, special=False)
            if add_bos:
                ids = [llm.token_bos()] + ids
            f.write(" ".join(str(i) for i in ids) + "\n")


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("nll", "tokenize"):
        raise SystemExit(__doc__)
    {"nll": cmd_nll, "tokenize": cmd_tokenize}[args[0]](args[1:])


if __name__ == "__main__":
    main()
