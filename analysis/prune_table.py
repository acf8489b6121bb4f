#!/usr/bin/python3
"""Run the pruning grid of the pruning issue and print a Markdown table.

For each model × method (magnitude, wanda, sparsegpt, haar) × sparsity (10 % … 90 % unstructured,
and 2:4 for the methods that support N:M) it runs `lowbit prune --json` (Wanda and SparseGPT with
the same seeded WikiText-2 calibration set; magnitude and Haar need none) and reports perplexity on
the TinyStories sample and the pruning time.

usage: analysis/prune_table.py SHARED_DIR [LOWBIT] > table.md
"""
import json
import os
import subprocess
import sys
import tempfile

shared = sys.argv[1]
lowbit = sys.argv[2] if len(sys.argv) > 2 else "build/lowbit"
tok = os.path.join(shared, "models/stories260K/tok512.bin")
models = [("stories260K", os.path.join(shared, "models/stories260K/stories260K.bin")),
          ("saltyduckegg", os.path.join(shared, "models/tinystories_d64_h192_l5_saltyduckegg/model.bin"))]
calib = os.path.join(shared, "data/wikitext2_raw/wiki.test.raw")
sample = os.path.join(shared, "data/tinystories_sample/tinystories_sample.txt")
nsamples, seqlen = int(os.environ.get("NSAMPLES", "64")), int(os.environ.get("SEQLEN", "256"))
patterns = [f"{s / 10:.1f}" for s in range(1, 10)] + ["2:4"]
methods = ["magnitude", "wanda", "sparsegpt", "haar"]

print(f"Wanda/SparseGPT calibration: {nsamples} x {seqlen} tokens of WikiText-2 test (seed 0). "
      f"Cells: PPL on the TinyStories sample (pruning seconds).\n")
for name, path in models:
    fp = None
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            for pat in patterns:
                out = os.path.join(tmp, f"{method}-{pat.replace(':', '-')}")
                cmd = [lowbit, "prune", "--model", path, "--tokenizer", tok, "--method", method,
                       "--eval-data", sample, "--out", out, "--json", "--quiet", "--holdout", "0"]
                cmd += ["--nm", pat] if ":" in pat else ["--sparsity", pat]
                if method in ("wanda", "sparsegpt"):
                    cmd += ["--calib", calib, "--doc-sep-none", "--nsamples", str(nsamples), "--seqlen", str(seqlen)]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    msg = p.stderr.strip().splitlines()[-1].split("error: ")[-1] if p.stderr.strip() else "failed"
                    rows.setdefault(method, {})[pat] = "n/a" if "N:M" in msg or "haar" in msg.lower() else f"error: {msg}"
                    continue
                r = json.loads(p.stdout)
                fp = r["fp"]["eval"]["ppl"]
                rows.setdefault(method, {})[pat] = f"{r['pruned']['eval']['ppl']:.2f} ({r['seconds']:.2f})"
                sys.stderr.write(f"{name} {method} {pat}: {rows[method][pat]}\n")
    print(f"**{name}** (dense PPL {fp:.3f})\n")
    print("| method | " + " | ".join(("" if ":" in p else "") + (p if ":" in p else f"{float(p) * 100:.0f}%") for p in patterns) + " |")
    print("|---|" + "---|" * len(patterns))
    for method in methods:
        print(f"| {method} | " + " | ".join(rows.get(method, {}).get(p, "") for p in patterns) + " |")
    print()
    sys.stdout.flush()
