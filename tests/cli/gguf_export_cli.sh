#!/usr/bin/env bash
# tests/cli/gguf_export_cli.sh — GGUF export as a user runs it: `lowbit convert --to gguf`,
# `lowbit quantize --format gguf`, `lowbit prune --format gguf` on stories260K; bad settings are
# refused with one line and exit 2 before any work (nothing is written); the files lowbit writes are
# read back by lowbit (same perplexity) and their report says what went where.
# usage: gguf_export_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_gguf.XXXX)
source "$(dirname "$0")/lib/common.bash"
M=models/stories260K/stories260K.bin
DATA=jobs/data/tinystories_sample.txt

# convert: refusals (one line, exit 2, no file)
conv_refused() {  # name, expected text, args...
  local name=$1 want=$2
  shift 2
  "$LB" convert "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q -- "$want" "$T/err" && [ ! -e "$T/never.gguf" ]; then
    ok "$name"; else bad "$name (rc=$rc: $(cat "$T/err"))"; fi
}
conv_refused "convert --dtype bf16 refused for gguf" "--dtype 'bf16' must be f16, f32 or auto" \
  --model $M --to gguf --dtype bf16 --out "$T/never.gguf"
conv_refused "convert --to zip refused" "must be hf, llama2c or gguf" --model $M --to zip --out "$T/never.gguf"
/usr/bin/python3 - "$T/tok20.bin" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:  # a llama2.c tokenizer of 20 tokens
    f.write(struct.pack("<i", 4))
    for i in range(20):
        t = b"t%d" % i
        f.write(struct.pack("<fi", 0.0, len(t)) + t)
PY
conv_refused "a vocabulary of another size refused" "has 20 tokens but the model's embedding has 512 rows" \
  --model $M --to gguf --tokenizer "$T/tok20.bin" --out "$T/never.gguf"
"$LB" convert --model $M --to hf --out "$T/hf" --quiet
cp tests/data/gpt2_tiny_tokenizer.json "$T/hf/tokenizer.json"
conv_refused "an HF tokenizer.json is not converted" "pass --tokenizer FILE.gguf" --model "$T/hf" --to gguf --out "$T/never.gguf"

# convert: f32 and f16 exports load back; f32 to the same perplexity
"$LB" convert --model $M --to gguf --out "$T/s32.gguf" --json --quiet > "$T/c32.json"
check "convert --to gguf f32 writes the file" "[ -s '$T/s32.gguf' ]"
"$LB" convert --model $M --to gguf --dtype f16 --out "$T/s16.gguf" --json --quiet > "$T/c16.json"
check "convert --to gguf f16 reports the rounded tensors" \
  "/usr/bin/python3 -c \"import json; g=json.load(open('$T/c16.json'))['gguf']; assert g['tensors_by_type']=={'F16':36,'F32':11}, g; assert g['f16_rounded_tensors']>0\""
"$LB" ppl --model $M --data $DATA --json --quiet > "$T/p0.json"
"$LB" ppl --model "$T/s32.gguf" --data $DATA --json --quiet > "$T/p1.json"
check "the f32 GGUF (its own tokenizer, converted from tok512) scores the same perplexity" \
  "/usr/bin/python3 -c \"import json; a=json.load(open('$T/p0.json')); b=json.load(open('$T/p1.json')); assert a['tokens']==b['tokens'] and abs(a['nll_per_token']-b['nll_per_token'])<1e-6, (a,b)\""

# quantize --format gguf: refusals before any work
expect_refused "quantize --format zip refused" "must be fake, packed, both or auto, or gguf" \
  quantize --method rtn --group 0 --calib $DATA --format zip
expect_refused "quantize --format fake,packed refused" "at most one of fake, packed, both, auto" \
  quantize --method rtn --group 0 --calib $DATA --format fake,packed
expect_refused "quantize --gguf-dtype bf16 refused" "--gguf-dtype 'bf16'" \
  quantize --method rtn --group 0 --calib $DATA --format gguf --gguf-dtype bf16
expect_refused "quantize --format gguf of an HF model with tokenizer.json refused" "pass --tokenizer FILE.gguf" \
  quantize --model "$T/hf" --method rtn --group 0 --calib $DATA --format gguf

# quantize: w4 per-channel symmetric -> Q4_0 for the 64-wide inputs, down (172) unpacked
"$LB" quantize --method rtn --bits 4 --group 0 --sym --calib $DATA --nsamples 2 --seqlen 64 --holdout-windows 1 \
  --out "$T/q" --format auto,gguf --gguf-dtype f32 --json --quiet > "$T/q.json"
check "quantize --format auto,gguf writes fake (172 x 4 bits do not pack GPTQ words) and model.gguf" \
  "[ -s '$T/q/model.gguf' ] && [ -d '$T/q/fake' ] && [ ! -e '$T/q/packed' ]"
check "its report counts the Q4_0 and unpacked linears" \
  "/usr/bin/python3 -c \"import json; g=json.load(open('$T/q/report.json'))['gguf']; assert g['tensors_by_type']['Q4_0']==30 and g['fallback_linears']==5 and g['inexact_groups']==0, g\""
"$LB" ppl --model "$T/q/fake" --tokenizer models/stories260K/tok512.bin --data $DATA --json --quiet > "$T/pq1.json"
"$LB" ppl --model "$T/q/model.gguf" --data $DATA --json --quiet > "$T/pq2.json"
check "the Q4_0 GGUF scores the fake-quantized checkpoint's perplexity" \
  "/usr/bin/python3 -c \"import json; a=json.load(open('$T/pq1.json')); b=json.load(open('$T/pq2.json')); assert abs(a['nll_per_token']-b['nll_per_token'])<1e-6, (a,b)\""

# prune --format gguf
expect_refused "prune --format zip refused" "must be hf, or gguf" prune --method magnitude --sparsity 0.5 --format zip
"$LB" prune --method magnitude --sparsity 0.5 --out "$T/p" --format gguf --gguf-dtype f32 --quiet > /dev/null
check "prune --format gguf writes model.gguf only" "[ -s '$T/p/model.gguf' ] && [ ! -e '$T/p/model' ]"
check "the pruned GGUF holds the zeros" \
  "'$LB' ppl --model '$T/p/model.gguf' --data $DATA --json --quiet > '$T/pp.json' && /usr/bin/python3 -c \"import json; a=json.load(open('$T/pp.json')); b=json.load(open('$T/p/report.json')); assert b['format']=='gguf' and a['nll_per_token']>0\""
finish
