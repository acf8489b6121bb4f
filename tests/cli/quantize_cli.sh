#!/usr/bin/env bash
# tests/cli/quantize_cli.sh — `lowbit quantize` as a user runs it: unsupported combinations are
# refused with one line and exit 2 before any work (no output folder appears), and a small real
# run writes its exports and report. usage: quantize_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
SHARED=$2
T=$(mktemp -d /tmp/lowbit_cli_quant.XXXX)
CAL="$SHARED/data/wikitext2_raw/wiki.test.raw"
source "$(dirname "$0")/lib/common.bash"
refused() {  # name, expected text, args...
  local name=$1 want=$2
  shift 2
  expect_refused "$name" "$want" quantize --calib "${CALARG:-$CAL}" --doc-sep-none "$@"
}
refused "bits 9 refused, named by its flag" "--bits for attn.q: bits 9 is outside 2..8" --bits 9
refused "bits 1 refused" "bits 1 is outside 2..8" --bits 1
refused "negative group refused, named by its flag" "--group for attn.q: group size -3 must be positive or -1 (per channel)" --group -3
refused "packed 5-bit refused" "holds 2, 3, 4 or 8 bits, not 5" --bits 5 --group 0 --format packed
refused "packed with a ragged word refused" "172 x 3 bits = 516" --bits 3 --group 0 --format packed
refused "unknown method refused" "not a quantization method" --method foo --group 0
refused "unknown format refused" "must be fake, packed, both or auto" --group 0 --format zip
CALARG=/nonexistent.txt refused "missing corpus refused" "calibration corpus not found" --group 0
refused "damp out of range refused" "--damp: GPTQ damping 2 must be in (0, 1)" --group 0 --damp 2
refused "blocksize 0 refused" "--blocksize: GPTQ block size 0 must be positive" --group 0 --blocksize 0

# The defaults on the embedded model (#16): --group 128 is wider than attn's 64 inputs (one group per
# row) and leaves a ragged last group of 44 of mlp.down's 172 (as GPTQ's reference and AutoGPTQ do).
"$LB" quantize --calib jobs/data/tinystories_sample.txt --nsamples 8 --out "$T/def" --json --quiet > "$T/def.json"
if [ $? -eq 0 ] && [ -s "$T/def/fake/model.safetensors" ] &&
   /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['group']==128 and r['bits']==4, r" "$T/def.json"
then ok "the default --group 128 quantizes stories260K (ragged last groups)"; else bad "default group on stories260K"; fi

"$LB" quantize --method gptq --bits 8 --group 0 --calib "$CAL" --doc-sep-none --nsamples 4 --seqlen 64 \
  --eval-data jobs/data/tinystories_sample.txt --holdout-windows 2 --out "$T/q8" --format fake --json --quiet > "$T/q8.json"
if [ $? -eq 0 ] && [ -s "$T/q8/fake/model.safetensors" ] && [ -s "$T/q8/report.json" ]; then ok "gptq 8-bit run writes exports"; else bad "gptq 8-bit run"; fi
if /usr/bin/python3 - "$T/q8.json" "$T/q8/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); rep = json.load(open(sys.argv[2]))
assert abs(r["quantized"]["eval"]["nll_per_token"] - r["fp"]["eval"]["nll_per_token"]) < 0.01, r
assert r["calibration"]["tokens"] == 4 * 64
assert len(rep["layers"]) == 35 and all(l["out_error"] <= l["rtn_error"] * (1 + 1e-9) for l in rep["layers"])
PY
then ok "8-bit is nearly lossless, report has 35 layers with GPTQ <= RTN"; else bad "8-bit report"; fi
"$LB" ppl --model "$T/q8/fake" --tokenizer models/stories260K/tok512.bin --data jobs/data/tinystories_sample.txt --json --quiet > "$T/p.json"
if /usr/bin/python3 -c "import json; a=json.load(open('$T/p.json')); b=json.load(open('$T/q8.json')); assert abs(a['nll_per_token']-b['quantized']['eval']['nll_per_token'])<1e-6"; then
  ok "the fake-quantized export reloads to the same perplexity"; else bad "fake export reload"; fi
finish
