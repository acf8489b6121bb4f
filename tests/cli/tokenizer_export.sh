#!/usr/bin/env bash
# tests/cli/tokenizer_export.sh — every HF-folder export carries its tokenizer (io/tokenizer_export.hpp):
# `quantize` fake/ and packed/ (packed GPTQ, dequantised on load), `prune` model/ and `convert --to hf` of stories260K reload with
# `lowbit ppl --model <export>` and no --tokenizer, to the perplexity the command itself reported;
# the tokenizer is llama2.c's tok512.bin byte for byte (as tokenizer.bin), an HF source's files are
# copied byte for byte, and a bad --tokenizer is refused with one line before anything is written.
# usage: tokenizer_export.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_tokexp.XXXX)
source "$(dirname "$0")/lib/common.bash"
M=models/stories260K/stories260K.bin
TOK=models/stories260K/tok512.bin
DATA=jobs/data/tinystories_sample.txt

same_nll() {  # ppl json, report json, key in the report
  /usr/bin/python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); \
assert abs(a['nll_per_token']-b[sys.argv[3]]['eval']['nll_per_token'])<1e-6, (a['nll_per_token'], b[sys.argv[3]]['eval'])" "$@"
}

# quantize: fake/ and packed/ both get tokenizer.bin; fake/ reloads to the reported perplexity.
"$LB" quantize --method rtn --bits 8 --group -1 --calib $DATA --nsamples 4 --seqlen 64 --holdout-windows 2 \
  --eval-data $DATA --format both --out "$T/q" --json > "$T/q.json" 2> "$T/q.err"
check "quantize wrote fake/ and packed/" "[ -s '$T/q/fake/model.safetensors' ] && [ -d '$T/q/packed' ]"
check "fake/tokenizer.bin is tok512.bin byte for byte" "cmp -s $TOK '$T/q/fake/tokenizer.bin'"
check "packed/tokenizer.bin is tok512.bin byte for byte" "cmp -s $TOK '$T/q/packed/tokenizer.bin'"
check "quantize logs where the tokenizer came from" "grep -q 'tokenizer: wrote tokenizer.bin' '$T/q.err'"
check "report.json records where the tokenizer came from and what was written" \
  "/usr/bin/python3 -c \"import json,sys; t=json.load(open(sys.argv[1]))['tokenizer']; assert t['source'].endswith('tok512.bin') and t['files']==['tokenizer.bin'] and t['how'] and not t['missing'], t\" '$T/q/report.json'"
"$LB" ppl --model "$T/q/fake" --data $DATA --json --quiet > "$T/pq.json" 2> "$T/pq.err"
check "ppl --model q/fake finds its tokenizer: same perplexity as quantize reported" \
  "same_nll '$T/pq.json' '$T/q.json' quantized"
"$LB" ppl --model "$T/q/packed" --data $DATA --json --quiet > "$T/pk.json" 2> "$T/pk.err"
check "ppl --model q/packed (packed GPTQ, its tokenizer beside it): same perplexity as quantize reported" \
  "same_nll '$T/pk.json' '$T/q.json' quantized"
check "no staging folder left" "! ls -d '$T'/q.partial.* 2>/dev/null"

# prune: model/ gets the tokenizer and reloads to the reported perplexity.
"$LB" prune --method magnitude --sparsity 0.5 --eval-data $DATA --out "$T/p" --json --quiet > "$T/p.json"
check "prune model/tokenizer.bin is tok512.bin byte for byte" "cmp -s $TOK '$T/p/model/tokenizer.bin'"
check "prune's report.json records the tokenizer" \
  "/usr/bin/python3 -c \"import json,sys; t=json.load(open(sys.argv[1]))['tokenizer']; assert t['files']==['tokenizer.bin'], t\" '$T/p/report.json'"
"$LB" ppl --model "$T/p/model" --data $DATA --json --quiet > "$T/pp.json"
check "ppl --model p/model finds its tokenizer: same perplexity as prune reported" "same_nll '$T/pp.json' '$T/p.json' pruned"

# convert --to hf: the folder reloads to the source's perplexity, both found without --tokenizer.
"$LB" convert --model $M --to hf --out "$T/hf" --quiet
check "convert --to hf wrote tokenizer.bin" "cmp -s $TOK '$T/hf/tokenizer.bin'"
"$LB" ppl --model $M --data $DATA --json --quiet > "$T/p0.json"
"$LB" ppl --model "$T/hf" --data $DATA --json --quiet > "$T/p1.json"
check "ppl --model hf (no --tokenizer) equals the source's" \
  "/usr/bin/python3 -c \"import json; a=json.load(open('$T/p0.json')); b=json.load(open('$T/p1.json')); assert abs(a['nll_per_token']-b['nll_per_token'])<1e-6\""

# convert of an HF folder: its tokenizer files are copied byte for byte, nothing else.
cp tests/data/gpt2_tiny_tokenizer.json "$T/hf/tokenizer.json"
printf '{"eos_token": "<|endoftext|>"}\n' > "$T/hf/tokenizer_config.json"
printf '{"eos_token_id": 2}\n' > "$T/hf/generation_config.json"
printf 'not a tokenizer\n' > "$T/hf/README.md"
"$LB" convert --model "$T/hf" --to hf --out "$T/hf2" --quiet
ok_copy=1
for f in tokenizer.json tokenizer_config.json generation_config.json tokenizer.bin; do
  cmp -s "$T/hf/$f" "$T/hf2/$f" || ok_copy=0
done
check "convert of an HF folder copies its tokenizer files byte for byte" "[ $ok_copy -eq 1 ] && [ ! -e '$T/hf2/README.md' ]"

# A --tokenizer that does not exist: one line naming it, exit 2, no output folder.
"$LB" convert --model $M --to hf --tokenizer "$T/none.json" --out "$T/never" > "$T/out" 2> "$T/err"
rc=$?
check "convert --tokenizer missing: refused, one line, nothing written" \
  "[ $rc -eq 2 ] && [ \$(wc -l < '$T/err') -eq 1 ] && grep -q '$T/none.json' '$T/err' && [ ! -e '$T/never' ]"
finish
