#!/usr/bin/python3
"""Write a synthetic point table (docs/FIT.md layout) from a known law, for the fit tests and demos.

Truth (the shipped `exponential` form, per task):
    drop = A_task · (N/1e6)^-0.3 · exp(-0.8 · Beff) · (1 + C/1e6)^-0.4,   Beff = B + 32/G
    acc  = acc_fp · (1 − drop) + Normal(0, SIGMA)
with A = 2.0 (task "arc", chance 0.25) and 4.0 (task "boolq", chance 0.5). Two families: "llama"
(N = 1, 4, 16, 64 M) and "qwen" (N = 2, 8, 32 M), methods gptq (C = 0.5 M and 2 M calibration
tokens) and rtn (C = 0), B in {2, 3, 4, 8}, G in {32, 128, per-channel 0}.
Standard library only (random.Random(seed)), so the CLI test needs no numpy.

usage: tests/data/fit_make_points.py [--seed S] [--sigma 0.003] [--small] > points.csv
"""
import argparse
import math
import random

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--sigma", type=float, default=0.003)
ap.add_argument("--small", action="store_true", help="one task, gptq only (for quick CLI tests)")
a = ap.parse_args()
rng = random.Random(a.seed)
tasks = [("arc", 0.25, 2.0)] + ([] if a.small else [("boolq", 0.5, 4.0)])
families = {"llama": [1e6, 4e6, 16e6, 64e6], "qwen": [2e6, 8e6, 32e6]}
methods = [("gptq", [5e5, 2e6])] + ([] if a.small else [("rtn", [0.0])])
print("config,model,family,method,stratum,N,B,G,C,acc,chance,acc_fp")
for fam, sizes in families.items():
    for n in sizes:
        model = f"{fam}-{n / 1e6:g}M"
        for task, chance, A in tasks:
            acc_fp = chance + (1 - chance) * (0.2 + 0.1 * math.log10(n / 1e6))  # bigger models score higher
            for method, cals in methods:
                for c in cals:
                    for b in (2, 3, 4, 8):
                        for g in (32, 128, 0):
                            beff = b + (32 / g if g > 0 else 0)
                            drop = A * (n / 1e6) ** -0.3 * math.exp(-0.8 * beff) * (1 + c / 1e6) ** -0.4
                            acc = acc_fp * (1 - drop) + rng.gauss(0, a.sigma)
                            cfg = f"{model}/{method}/b{b}/g{g}/c{c:g}"
                            print(f"{cfg},{model},{fam},{method},{task},{n:g},{b},{g},{c:g},{acc:.6f},{chance},{acc_fp:.6f}")
