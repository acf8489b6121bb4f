#!/usr/bin/env bash
# jobs/quickstart.sh — the quickstart job on the embedded model (stories260K, shipped in models/):
# describe the checkpoint, measure its perplexity on the shipped TinyStories sample (golden:
# 1.2664 nats/token over 1804 tokens), generate greedily, and round-trip it through the Hugging
# Face format. Results land in quickstart-out/ (JSON, one file per step).
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
echo "quickstart: done; results in $OUT/" >&2
