#!/usr/bin/python3
"""Figures and tables of the testbed family (lowbit testbed family ... --out DIR).

Reads DIR/summary.json and writes, under docs/figures/ (or OUTDIR):
  testbed_curves.{png,svg}     training loss vs tokens (and vs 6ND FLOPs) per member
  testbed_strata.{png,svg}     probe accuracy per stratum vs non-embedding parameters, chance dashed
  testbed_knowledge.{png,svg}  knowledge stored (bits) vs non-embedding parameters, with the world's
                               total and the 2 bits/param line of Physics of LMs 3.3 for scale
and prints the Markdown tables used in docs/TESTBED.md.

usage: analysis/testbed_curves.py DIR [OUTDIR]
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

run = sys.argv[1]
outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "docs", "figures")
os.makedirs(outdir, exist_ok=True)
S = json.load(open(os.path.join(run, "summary.json")))
members = S["members"]
strata = ["memorization", "application", "reasoning"]


def save(fig, name):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(outdir, f"{name}.{ext}"), dpi=130, bbox_inches="tight")
    plt.close(fig)


def label(m):
    return f"{m['name']} ({m['non_embedding_params'] / 1e3:.0f}K)"


# ---- training curves ----
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for m in members:
    h = m["history"]
    tokens = [r["tokens"] for r in h]
    loss = [r["loss"] for r in h]
    flops = [6.0 * m["non_embedding_params"] * t for t in tokens]
    axes[0].plot(tokens, loss, label=label(m))
    axes[1].plot(flops, loss, label=label(m))
axes[0].set_xlabel("training tokens")
axes[1].set_xlabel("compute 6·N·D (FLOPs, N = non-embedding params)")
axes[1].set_xscale("log")
for ax in axes:
    ax.set_ylabel("train loss (nats/token, mean per log interval)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
axes[0].legend()
fig.suptitle("Testbed family: training curves")
save(fig, "testbed_curves")

# ---- strata ----
N = [m["non_embedding_params"] for m in members]
fig, ax = plt.subplots(figsize=(6, 4))
colors = {"memorization": "C0", "application": "C1", "reasoning": "C2"}
for s in strata:
    if not all("strata" in m and s in m["strata"] for m in members):
        continue
    acc = [m["strata"][s]["accuracy"] for m in members]
    err = [m["strata"][s]["stderr"] for m in members]
    ax.errorbar(N, acc, yerr=err, marker="o", capsize=3, label=s, color=colors[s])
    ax.axhline(S["corpus"]["chance"][s], ls="--", lw=0.8, color=colors[s])
ax.set_xscale("log")
ax.set_xlabel("non-embedding parameters")
ax.set_ylabel("probe accuracy (mc; dashed: chance)")
ax.set_ylim(0, 1.02)
ax.grid(alpha=0.3)
ax.legend()
ax.set_title("Probe accuracy per stratum")
save(fig, "testbed_strata")

# ---- knowledge ----
fig, ax = plt.subplots(figsize=(6, 4))
bits = [m["knowledge"]["bits_stored"] for m in members]
ax.plot(N, bits, marker="o", label="bits stored (measured)")
total = S["corpus"]["knowledge_bits"]["total"]
ax.axhline(total, ls="--", color="k", lw=0.8, label=f"world's knowledge ({total:.0f} bits)")
ax.plot(N, [2 * n for n in N], ls=":", color="gray", label="2 bits / parameter")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("non-embedding parameters")
ax.set_ylabel("bits")
ax.grid(alpha=0.3, which="both")
ax.legend()
ax.set_title("Knowledge stored vs parameters")
save(fig, "testbed_knowledge")

# ---- tables ----
c = S["corpus"]
print(f"Corpus: {c['individuals']} individuals x {c['exposures']} exposures, {c['documents']} documents, "
      f"{c['train_tokens']} tokens, vocabulary {c['vocab_size']}; knowledge "
      f"{c['knowledge_bits']['total']:.1f} bits ({c['knowledge_bits']['per_individual']:.2f} per individual "
      f"+ {c['knowledge_bits']['headquarters']:.1f} for headquarters).\n")
print("| member | d | L | N non-emb | tokens | epochs | 6ND FLOPs | train s | tok/s | final loss "
      "| mem | app | rea | bits stored | bits/param |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for m in members:
    cfg = m["config"]
    st = m.get("strata", {})

    def acc(s):
        return f"{st[s]['accuracy']:.3f} ± {st[s]['stderr']:.3f}" if s in st else "—"

    print(f"| {m['name']} | {cfg['dim']} | {cfg['n_layers']} | {m['non_embedding_params']:,} | {m['tokens']:,} | "
          f"{m['epochs']:.2f} | {m['flops_6nd']:.2e} | {m['seconds']:.0f} | {m['tokens_per_second']:.0f} | "
          f"{m['final_loss']:.3f} | {acc('memorization')} | {acc('application')} | {acc('reasoning')} | "
          f"{m['knowledge']['bits_stored']:.0f} | {m['knowledge']['bits_per_param']:.4f} |")
print(f"\nChance: memorization {c['chance']['memorization']:.3f}, application {c['chance']['application']:.3f}, "
      f"reasoning {c['chance']['reasoning']:.3f}. Training total {S['train_seconds']:.0f} s; "
      f"wall (corpus + training + measurements) {S['wall_seconds']:.0f} s.\n")
kinds = sorted({k for m in members for s in m.get("probe_kinds", {}).values() for k in s})
if kinds:
    print("| member | " + " | ".join(f"{s[:3]}:{k}" for s in strata for k in kinds
                                     if any(k in m.get("probe_kinds", {}).get(s, {}) for m in members)) + " |")
    cols = [(s, k) for s in strata for k in kinds if any(k in m.get("probe_kinds", {}).get(s, {}) for m in members)]
    print("|---|" + "---|" * len(cols))
    for m in members:
        pk = m.get("probe_kinds", {})
        print(f"| {m['name']} | " + " | ".join(f"{pk.get(s, {}).get(k, float('nan')):.2f}" for s, k in cols) + " |")
    print()
print("| member | " + " | ".join(a["name"] for a in members[0]["knowledge"]["attributes"]) + " |")
print("|---|" + "---|" * len(members[0]["knowledge"]["attributes"]))
for m in members:
    print(f"| {m['name']} | " + " | ".join(f"{a['bits_stored']:.0f}/{a['bits_total']:.0f} ({a['accuracy']:.2f})"
                                          for a in m["knowledge"]["attributes"]) + " |")
