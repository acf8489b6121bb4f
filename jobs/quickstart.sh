#!/usr/bin/env bash
# jobs/quickstart.sh — the quickstart job on the embedded model (stories260K, shipped in models/):
# describe the checkpoint, measure its perplexity on the shipped TinyStories sample (golden:
# 1.2664 nats/token over 1804 tokens), generate greedily, and round-trip it through the Hugging
# Face format; then the experiment of jobs/quickstart.yaml (quantization and pruning sweep, tasks,
# diagnostics) into one HDF5 archive and a scaling-law fit. Results land in quickstart-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
LB=build/lowbit
OUT=${OUT:-quickstart-out}
mkdir -p "$OUT"
echo "== lowbit info (embedded model)" >&2
$LB info --json > "$OUT/info.json"
$LB info
echo "== perplexity on jobs/data/tinystories_sample.txt" >&2
$LB ppl --data jobs/data/tinystories_sample.txt --json > "$OUT/ppl.json"
cat "$OUT/ppl.json"
echo "== greedy generation from BOS" >&2
$LB generate --steps 60
echo "== convert to Hugging Face format and back, and check the perplexity is unchanged" >&2
rm -rf "$OUT/stories260K-hf"
$LB convert --model models/stories260K/stories260K.bin --to hf --out "$OUT/stories260K-hf" --quiet
$LB ppl --model "$OUT/stories260K-hf" --tokenizer models/stories260K/tok512.bin \
  --data jobs/data/tinystories_sample.txt --json --quiet > "$OUT/ppl_hf.json"
cat "$OUT/ppl_hf.json"
echo "== compress: GPTQ 4-bit per-channel, and Haar subband pruning at 50 % (no calibration)" >&2
# The shipped sample doubles as calibration text here (tiny: 16 x 96 tokens), so the GPTQ figure is
# in-sample; see docs/RESULTS.md for held-out numbers.
$LB quantize --method gptq --bits 4 --group -1 --calib jobs/data/tinystories_sample.txt --nsamples 16 \
  --seqlen 96 --eval-data jobs/data/tinystories_sample.txt --out "$OUT/gptq4" --json --quiet > "$OUT/gptq4.json"
$LB prune --method haar --sparsity 0.5 --eval-data jobs/data/tinystories_sample.txt \
  --out "$OUT/haar50" --json --quiet > "$OUT/haar50.json"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
o = sys.argv[1]
q = json.load(open(f"{o}/gptq4.json")); h = json.load(open(f"{o}/haar50.json"))
print(f"fp32          ppl {q['fp']['eval']['ppl']:.3f}")
ex = {"fake": "fake", "packed": "packed", "both": "fake + packed"}[q["format"]]
print(f"gptq w4 (pc)  ppl {q['quantized']['eval']['ppl']:.3f}   export: {o}/gptq4 ({ex}; packed needs out·bits % 32 == 0)")
print(f"haar 50 %     ppl {h['pruned']['eval']['ppl']:.3f}   {h['pruned_elements']}/{h['total_elements']} coefficients zeroed")
PY
echo "== the experiment: jobs/quickstart.yaml (sweep + tasks + diagnostics) into one HDF5 archive, then a fit" >&2
rm -rf "$OUT/quickstart.h5" "$OUT/quickstart.h5.staging" "$OUT/quickstart.h5.lock"
$LB run jobs/quickstart.yaml --output "$OUT/quickstart.h5"
$LB fit "$OUT/quickstart.h5" --bootstrap 100 --quiet --out "$OUT/fit.json" > "$OUT/fit.txt"
$LB inspect "$OUT/quickstart.h5"
/usr/bin/python3 - "$OUT/quickstart.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
print("\nfailure mode per GPTQ configuration (diagnostics):")
for k in sorted(f["configs"]):
    g = f["configs"][k]
    if "diagnostics" in g:
        d = g["diagnostics"].attrs
        print(f"  {k:40s} {d.get('mode', '?')}")
print(f"fits in the archive: {len(f['fits'])} (laws x strata x methods); table: see fit.txt")
PY
echo "quickstart: done; results in $OUT/ (quickstart.h5: h5ls -r, lowbit inspect, h5py)" >&2
