#!/usr/bin/python3
"""Per-layer plots and a summary table of `lowbit diagnose` results.

Reads the DIR/diagnose.json files written by `lowbit diagnose --out DIR` (one per configuration:
several bit-widths of one model and method go on one figure, one line each) and writes
PREFIX.png and PREFIX.svg with six panels per layer: residual-stream SNR (dB, propagated), local
relative L2 error of each block (compressed block on the FP input), mean attention JS divergence
(bits, propagated), logit-lens KL of the compressed model to the FP output (nats), share of the loss
gap closed by patching the FP residual stream after the layer, and the causal-tracing indirect
effect at the last position (FP dashed, compressed solid) when tracing was run.

usage: analysis/diag_plot.py PREFIX RUN1/diagnose.json|ARCHIVE.h5 [...] [--title TEXT]   (an archive: every
       configuration with a diagnostics group; --table ARGS... prints the Markdown table instead)
       analysis/diag_plot.py --table RUN1/diagnose.json ...      (Markdown summary on stdout)
"""
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from archive_keys import Config, Diag, Params, Root, Table, Tracing, upgrade_v1  # noqa: E402


def h5_group(g):
    """An HDF5 group of a run archive as the dict `lowbit diagnose --json` writes."""
    import h5py
    import numpy as np

    def val(v):
        if isinstance(v, bytes):
            return v.decode()
        if isinstance(v, np.ndarray):
            return [val(x) for x in v.tolist()]
        if isinstance(v, np.generic):
            return v.item()
        return v

    d = {"attrs": {k: val(v) for k, v in g.attrs.items()}, "tables": {}, "groups": {}}
    for k, obj in g.items():
        if isinstance(obj, h5py.Group):
            d["groups"][k] = h5_group(obj)
        else:
            d["tables"][k] = {"columns": val(obj.attrs[Table.COLUMNS]), "units": val(obj.attrs[Table.UNITS]),
                              "rows": val(obj.attrs[Table.ROWS]) if Table.ROWS in obj.attrs else [],
                              "data": [[None if math.isnan(x) else x for x in r] for r in obj[()].tolist()]}
    return d


def load(path):
    """A diagnostics record with this schema's names (a diagnose.json written before schema 2 has
    the old ones; upgrade_v1 leaves a current record as it is)."""
    if isinstance(path, dict):
        return path
    with open(path) as f:
        d = json.load(f)
    d["attrs"] = upgrade_v1(d["attrs"], Diag.RECORD)
    return d


def expand(args):
    """diagnose.json files as given; a run archive (.h5) stands for every configuration in it that
    has a diagnostics group (written by `lowbit run` with a `diagnostics:` manifest section)."""
    out = []
    for a in args:
        if a.endswith(".h5"):
            import h5py
            with h5py.File(a, "r") as f:
                v1 = int(f.attrs[Root.SCHEMA_VERSION]) == 1
                for name in sorted(f[Root.CONFIGS]):
                    if Config.DIAGNOSTICS in f[Root.CONFIGS][name]:
                        d = h5_group(f[Root.CONFIGS][name][Config.DIAGNOSTICS])
                        if v1:
                            d["attrs"] = upgrade_v1(d["attrs"], Diag.RECORD)
                        out.append(d)
        else:
            out.append(a)
    return out


def column(d, table, name):
    t = d["tables"][table]
    i = t["columns"].index(name)
    return [row[i] if row[i] is not None else math.nan for row in t["data"]]


def label(d):
    a = d["attrs"]
    if a[Params.METHOD] == "noise":
        return f"noise {a.get(Diag.NOISE_REL_STD, '?')}"
    return f"{a[Params.METHOD]} w{a[Params.BITS]}"


def fmt(x, nd=3):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def table(runs):
    print("| config | loss FP | loss Q | gap ± se | mode | max head JS (bits) | early SNR (dB) | top-3 restore | "
          "bias | bias+var | norm gain | mixed prec. (bits) | by depth |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in runs:
        d = load(path)
        a = d["attrs"]
        ev = d["groups"][Diag.MODE_EVIDENCE]["attrs"]
        rep = {}
        if Diag.REPAIRS in d["tables"]:
            t = d["tables"][Diag.REPAIRS]
            for name, row in zip(t["rows"], t["data"]):
                rep[name] = row
        gc = lambda n: fmt(rep[n][1], 2) if n in rep else "–"  # noqa: E731
        mp = f"{gc('mixed_precision')} ({rep['mixed_precision'][2]:.2f})" if "mixed_precision" in rep else "–"
        model = a[Diag.MODEL_PATH].split("/")[-2].replace("tinystories_d64_h192_l5_", "")
        gap = f"{a[Diag.LOSS_GAP]:.4f} ± {a.get(Diag.LOSS_GAP_SE, math.nan):.4f}"
        print(f"| {model} {label(d)} | {a[Diag.LOSS_FP]:.4f} | {a[Diag.LOSS_Q]:.4f} | {gap} | {a[Diag.MODE]} | "
              f"{fmt(ev.get('max_local_head_js_bits'))} | {fmt(ev.get('min_early_snr_db'), 1)} | "
              f"{fmt(ev.get('top_n_joint_gap_closed'), 2)} | {gc('bias')} | {gc('bias_variance')} | {gc('norm_gain')} | "
              f"{mp} | {gc('mixed_precision_by_depth')} |")


def plot(prefix, runs, title):
    data = [load(p) for p in runs]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    panels = [
        (Diag.LAYERS, "snr_db", "residual SNR, propagated (dB)"),
        (Diag.LAYERS, "local_rel_l2", "local rel. L2 error of the block"),
        (Diag.LAYERS, "attn_js_mean", "mean attention JS, propagated (bits)"),
        (Diag.LAYERS, "lens_kl_q", "logit lens KL(FP out ‖ Q layer) (nats)"),
        (Diag.PATCHING, "gap_closed", "gap closed by patching after layer"),
    ]
    for ax, (tab, col, ttl) in zip(axes.flat, panels):
        for d in data:
            if tab not in d["tables"]:
                continue
            y = column(d, tab, col)
            ax.plot(range(len(y)), y, marker="o", label=label(d))
        ax.set_title(ttl, fontsize=10)
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    ax = axes.flat[5]
    for i, d in enumerate(data):
        tr = d["groups"].get(Diag.TRACING)
        if not tr:
            continue
        color = f"C{i}"
        ax.plot(column(tr, Tracing.INDIRECT_EFFECT, "q_last"), color=color, marker="o", label=label(d))
        ax.plot(column(tr, Tracing.INDIRECT_EFFECT, "q_subject_last"), color=color, marker="x", ls=":")
        if i == 0:
            ax.plot(column(tr, Tracing.INDIRECT_EFFECT, "fp_last"), color="k", ls="--", label="FP (last pos.)")
            ax.plot(column(tr, Tracing.INDIRECT_EFFECT, "fp_subject_last"), color="k", ls=":", label="FP (subject end)")
    ax.set_title("causal tracing: indirect effect (Δp, o last pos., x subject end)", fontsize=10)
    ax.set_xlabel("layer")
    ax.grid(alpha=0.3)
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.flat[0].legend(fontsize=8)
    axes.flat[5].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(f"{prefix}.{ext}", dpi=110)
    print(f"wrote {prefix}.png and {prefix}.svg")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    if argv[1] == "--table":
        table(expand(argv[2:]))
        return 0
    title = ""
    args = argv[2:]
    if "--title" in args:
        i = args.index("--title")
        title = args[i + 1]
        args = args[:i] + args[i + 2:]
    if not args:
        print("diag_plot.py: no diagnose.json given", file=sys.stderr)
        return 2
    plot(argv[1], expand(args), title)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
