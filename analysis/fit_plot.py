#!/usr/bin/python3
"""Draw `lowbit fit` results: per law and stratum, the fitted curves against the measured points
(PNG and SVG), and a Markdown table of parameters, intervals and fit metrics.

Input is the JSON of `lowbit fit --out fit.json` (or --json): a list of fits, each with its
parameters, metrics, fitted points (measured y, fit, leave-one-configuration-out prediction, the
point's value on the curve axis and its series) and curves (the law evaluated by lowbit along the
axis for every series: one setting of the other inputs, e.g. N, G, C). Curves come from lowbit,
not from re-evaluating the expression here, so the plot shows exactly the fitted function.

Left panel: measured points (markers) and fitted curves (lines), one colour per series.
Right panel: measured vs fitted (filled) and vs LOO-predicted (open) with the identity line.

usage: analysis/fit_plot.py FIT.json OUTDIR
writes OUTDIR/fit_<law>_<stratum>.png/.svg and OUTDIR/fit_table.md
"""
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_")


def fmt(v, digits=4):
    if v is None:
        return "–"
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.{digits}g}"
    return f"{v:.{digits - 1}e}"


def plot_fit(f, outdir):
    pts, cur = f["points"], f["curves"]
    series = cur["series"]
    cmap = plt.get_cmap("viridis" if len(series) > 10 else "tab10")
    colour = [cmap(i / max(1, len(series) - 1)) if len(series) > 10 else cmap(i % 10) for i in range(len(series))]
    fig, (ax, par) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.6, 1]})
    if cur["axis"]:
        for s, label in enumerate(series):
            xs = [x for x, k in zip(cur["x"], cur["curve_series"]) if k == s]
            ys = [y for y, k in zip(cur["y"], cur["curve_series"]) if k == s]
            ax.plot(xs, ys, "-", color=colour[s], lw=1.2, label=label if len(series) <= 12 else None)
            px = [x for x, k in zip(pts["axis"], pts["series"]) if k == s]
            py = [y for y, k in zip(pts["y"], pts["series"]) if k == s]
            ax.plot(px, py, "o", color=colour[s], ms=4)
        xv = [x for x in cur["x"] if x is not None]
        if xv and min(xv) > 0 and max(xv) / min(xv) > 10:
            ax.set_xscale("log")
        ax.set_xlabel(cur["axis"])
        if len(series) <= 12:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.02, 0.02, f"{len(series)} series (colour = series index)", transform=ax.transAxes, fontsize=7)
    ax.set_ylabel(f["target"])
    ax.set_title(f"{f['law']} — {f['stratum'] or 'all rows'}", fontsize=10)
    y, yh, yl = pts["y"], pts["yhat"], pts["loo_pred"]
    par.plot(yh, y, "o", ms=4, color="C0", label="fit")
    loo = [(a, b) for a, b in zip(yl, y) if a is not None]
    if loo:
        par.plot([a for a, _ in loo], [b for _, b in loo], "o", ms=4, mfc="none", color="C3", label="LOO prediction")
    vals = [v for v in y + yh if v is not None]
    lo, hi = min(vals), max(vals)
    par.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    par.set_xlabel("predicted")
    par.set_ylabel("measured")
    m = f["metrics"]
    par.set_title(f"R² {fmt(m['r2'])}  RMSE {fmt(m['rmse'], 3)}  LOO RMSE {fmt(m['loo_rmse'], 3)}", fontsize=9)
    par.legend(fontsize=7)
    fig.tight_layout()
    base = os.path.join(outdir, f"fit_{slug(f['law'])}_{slug(f['stratum']) or 'all'}")
    for ext in ("png", "svg"):
        fig.savefig(f"{base}.{ext}", dpi=120)
    plt.close(fig)
    return base


def table(fits, level):
    lines = [
        f"| law | stratum | points / configs | parameters (value [{fmt(100 * level, 3)}% interval]) | R² | adj. R² | RMSE | "
        "LOO RMSE | cross-family RMSE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in fits:
        ps = "<br>".join(f"{p['name']} = {fmt(p['value'])} [{fmt(p['ci'][0])}, {fmt(p['ci'][1])}]"
                         + ("" if p.get("identified", True) else " (not identified)")
                         + (" (at bound)" if p["at_bound"] and p.get("identified", True) else "") for p in f["params"])
        cross = "<br>".join(f"{c['train']}→{c['test']}: {fmt(c['rmse'], 3)}" for c in f["cross_family"]) or "–"
        m = f["metrics"]
        lines.append(f"| {f['law']} | {f['stratum'] or 'all'} | {f['n_points']} / {f['n_configs']} | {ps} | "
                     f"{fmt(m['r2'])} | {fmt(m['adj_r2'])} | {fmt(m['rmse'], 3)} | {fmt(m['loo_rmse'], 3)} | {cross} |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    r = json.load(open(sys.argv[1]))
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for f in r["fits"]:
        print(plot_fit(f, outdir) + ".{png,svg}")
    md = os.path.join(outdir, "fit_table.md")
    with open(md, "w") as out:
        out.write(f"Fits of {r['table']} with {r['laws']} (loss {r['loss']}, bootstrap {r['bootstrap']}, "
                  f"seed {r['seed']}).\n\n")
        out.write(table(r["fits"], r.get("ci_level", 0.95)))
    print(md)


if __name__ == "__main__":
    main()
