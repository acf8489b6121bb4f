#!/usr/bin/env bash
# tests/cli/golden_cli.sh — the lowbit executable as a user runs it: --json contracts, the golden
# perplexity through the CLI, generation, conversion both ways, and --help on every command.
# usage: golden_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
SHARED=$2
T=$(mktemp -d /tmp/lowbit_cli_golden.XXXX)
source "$(dirname "$0")/lib/common.bash"
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

SAMPLE=jobs/data/tinystories_sample.txt
"$LB" ppl --data "$SAMPLE" --json --quiet > "$T/ppl.json" 2> "$T/ppl.err"
check "ppl exits 0 and stderr is silent with --quiet" "[ \$? -eq 0 ] && [ ! -s $T/ppl.err ]"
check "ppl --json is one JSON object" "[ \$(wc -l < $T/ppl.json) -eq 1 ] && json $T/ppl.json 'd[\"ppl\"]' >/dev/null"
check "ppl golden 1.2664 over 1804 tokens" \
  "json $T/ppl.json 'abs(d[\"nll_per_token\"]-1.2664)<1e-3 and d[\"tokens\"]==1804' | grep -q True"

"$LB" ppl --model "$SHARED/models/tinystories_d64_h192_l5_saltyduckegg/model.bin" \
  --tokenizer "$SHARED/models/stories260K/tok512.bin" --data "$SAMPLE" --json --quiet > "$T/salty.json"
check "saltyduckegg golden 1.9707" "json $T/salty.json 'abs(d[\"nll_per_token\"]-1.9707)<1e-3 and d[\"tokens\"]==1804' | grep -q True"

"$LB" generate --steps 30 --json --quiet > "$T/gen.json"
check "generate from BOS gives the golden opening" \
  "json $T/gen.json 'd[\"text\"]' | grep -q '^Once upon a time, there was a little girl named Lily.'"
"$LB" generate --steps 20 > "$T/gen.txt" 2>/dev/null
check "generate streams text without --json" "grep -q 'Once upon a time' $T/gen.txt"

"$LB" convert --model models/stories260K/stories260K.bin --to hf --out "$T/hf" --dtype bf16 --quiet
check "convert to HF writes config.json and model.safetensors" "[ -s $T/hf/config.json ] && [ -s $T/hf/model.safetensors ]"
"$LB" info "$T/hf" --json > "$T/info.json"
check "info reads the bf16 HF copy" "json $T/info.json 'd[\"arch\"]==\"llama\" and d[\"n_layers\"]==5' | grep -q True"
"$LB" ppl --model "$T/hf" --tokenizer models/stories260K/tok512.bin --data "$SAMPLE" --json --quiet > "$T/ppl_bf16.json"
check "bf16 HF copy stays within 0.02 nats of f32" "json $T/ppl_bf16.json 'abs(d[\"nll_per_token\"]-1.2664)<0.02' | grep -q True"
"$LB" convert --model models/stories260K/stories260K.bin --to hf --out "$T/hf32" --quiet
"$LB" convert --model "$T/hf32" --to llama2c --out "$T/back.bin" --quiet
"$LB" ppl --model "$T/back.bin" --tokenizer models/stories260K/tok512.bin --data "$SAMPLE" --json --quiet > "$T/back.json"
check "llama2c -> HF -> llama2c keeps the exact NLL" \
  "json $T/back.json 'd[\"nll_per_token\"]' | diff - <(json $T/ppl.json 'd[\"nll_per_token\"]') >/dev/null"

for c in ppl generate convert info; do
  "$LB" $c --help > "$T/help.txt"
  check "$c --help exits 0 and explains" "[ \$? -eq 0 ] && grep -q 'usage: lowbit $c' $T/help.txt"
done
"$LB" --help > /dev/null
check "lowbit --help exits 0" "[ \$? -eq 0 ]"

finish
