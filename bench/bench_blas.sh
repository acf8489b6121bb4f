#!/usr/bin/env bash
# bench/bench_blas.sh — bench_blas under the core OpenBLAS detects and under the cores a
# mis-detection would give (Prescott: generic SSE3, the Xeons' fallback; Haswell: AVX2), one after
# the other in the same minute, and the ratio of each to the detected core (docs/BENCHMARKS.md,
# "BLAS kernels"). usage: bench/bench_blas.sh [BUILD_DIR] [CORES...]
set -euo pipefail
B=${1:-build}
shift || true
CORES=("$@")
[ ${#CORES[@]} -gt 0 ] || CORES=(Prescott Haswell)
T=$(mktemp -d)
run() {  # run LABEL [CORE]
  if [ -n "${2:-}" ]; then OPENBLAS_CORETYPE=$2 "$B/bench/bench_blas" --benchmark_format=json > "$T/$1.json"
  else env -u OPENBLAS_CORETYPE "$B/bench/bench_blas" --benchmark_format=json > "$T/$1.json"; fi
}
run detected
for c in "${CORES[@]}"; do run "$c" "$c"; done
python3 - "$T" detected "${CORES[@]}" <<'PY'
import json, sys, os
d = sys.argv[1]; labels = sys.argv[2:]
runs = {l: json.load(open(os.path.join(d, l + ".json"))) for l in labels}
base = {b["name"]: b["GFLOP/s"] for b in runs["detected"]["benchmarks"]}
print("core:", ", ".join(f'{l} = {runs[l]["context"]["blas"]}' for l in labels))
print("| routine/shape | " + " | ".join(f"{l} GFLOP/s" for l in labels) + " | " +
      " | ".join(f"{l} / detected" for l in labels[1:]) + " |")
print("|---" * (2 * len(labels)) + "|")
for name, g0 in base.items():
    gs = [next(b["GFLOP/s"] for b in runs[l]["benchmarks"] if b["name"] == name) for l in labels]
    print(f"| {name} | " + " | ".join(f"{g:.1f}" for g in gs) + " | " + " | ".join(f"{g / g0:.2f}" for g in gs[1:]) + " |")
PY
rm -rf "$T"
