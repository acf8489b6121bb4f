#!/usr/bin/python3
"""Run the quantization grid of the quantization issue and print a Markdown table.

For each model × method (rtn, gptq, awq) × bits (8, 4, 3, 2) × group (per-channel, 128, 32) it runs
`lowbit quantize --json` with the same calibration set (WikiText-2 test, seeded, 10 % held out) and
reports perplexity on the TinyStories sample and on the held-out part of the calibration corpus.
Combinations the model's shapes cannot take (a group that does not divide an input dimension) are
refused by lowbit before any work; the table shows the refusal.

usage: analysis/quant_table.py SHARED_DIR [LOWBIT] > table.md
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

print(f"Calibration: {nsamples} x {seqlen} tokens of WikiText-2 test (seed 0, last 10 % held out), "
      f"tokenizer tok512. PPL columns: TinyStories sample / WikiText-2 held-out part.\n")
print("| model | method | bits | group | PPL TinyStories | PPL held-out | Σ‖WX−ŴX‖² / Σ RTN | time (s) |")
print("|---|---|---|---|---|---|---|---|")
with tempfile.TemporaryDirectory() as tmp:
    for name, path in models:
        fp_done = False
        for method in ["rtn", "gptq", "awq"]:
            for bits in [8, 4, 3, 2]:
                for group in [-1, 128, 32]:  # -1 = per channel (lowbit quantize --group)
                    out = os.path.join(tmp, f"{name}-{method}-{bits}-{group}")
                    cmd = [lowbit, "quantize", "--model", path, "--tokenizer", tok, "--method", method,
                           "--bits", str(bits), "--group", str(group), "--calib", calib, "--nsamples",
                           str(nsamples), "--seqlen", str(seqlen), "--doc-sep-none", "--eval-data", sample,
                           "--out", out, "--format", "fake", "--json", "--quiet"]
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    g = "per-channel" if group == -1 else str(group)
                    if p.returncode != 0:
                        err = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
                        print(f"| {name} | {method} | {bits} | {g} | refused: {err.split('error: ')[-1]} | | | |")
                        continue
                    r = json.loads(p.stdout)
                    rep = json.load(open(os.path.join(out, "report.json")))
                    err = sum(l["out_error"] for l in rep["layers"])
                    rtn = sum(l["rtn_error"] for l in rep["layers"])
                    if not fp_done:
                        print(f"| {name} | fp32 | 32 | - | {r['fp']['eval']['ppl']:.3f} | {r['fp']['holdout']['ppl']:.2f} | - | - |")
                        fp_done = True
                    print(f"| {name} | {method} | {bits} | {g} | {r['quantized']['eval']['ppl']:.3f} | "
                          f"{r['quantized']['holdout']['ppl']:.2f} | {err / rtn:.3f} | {r['seconds']:.2f} |")
                    sys.stdout.flush()
