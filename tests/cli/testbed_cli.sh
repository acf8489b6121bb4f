#!/usr/bin/env bash
# tests/cli/testbed_cli.sh — `lowbit testbed corpus`, `lowbit train` and `lowbit eval` on the probes
# as a user runs them: a small corpus, a tiny model trained, interrupted and resumed (bit-identical
# to an uninterrupted run), scored per stratum; bad input refused with one line and exit 2.
# usage: testbed_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_testbed.XXXX)
source "$(dirname "$0")/lib/common.bash"
export OMP_NUM_THREADS=1

"$LB" testbed corpus --out "$T/c" --individuals 30 --exposures 4 --probes 24 --json > "$T/corpus.json" 2> "$T/err"
check "corpus written" "[ -s $T/c/train.txt ] && [ -s $T/c/tokenizer.json ] && [ -s $T/c/world.json ]"
check "three task YAMLs and probe files" \
  "[ \$(ls $T/c/testbed_*.yaml | wc -l) -eq 3 ] && [ \$(wc -l < $T/c/probes/reasoning.jsonl) -eq 24 ]"
check "knowledge bits reported = 30 x 22.40 + 110.04" \
  "/usr/bin/python3 -c \"import json; j=json.load(open('$T/corpus.json')); assert abs(j['knowledge_bits']-(30*22.398743691938193+110.03910001730775))<1e-6\""

args=(--data "$T/c/train.txt" --dim 16 --layers 1 --heads 2 --seq-len 16 --batch 4 --steps 12 --warmup 2 --log-every 3 --quiet)
"$LB" train "${args[@]}" --out "$T/full/m.bin" 2> "$T/err"
check "train writes model, tokenizer and log" "[ -s $T/full/m.bin ] && [ -s $T/full/tokenizer.json ] && [ -s $T/full/m.bin.train.json ]"
"$LB" train "${args[@]}" --out "$T/res/m.bin" --checkpoint "$T/ck.bin" --stop-after 5 2> "$T/err"
check "stop-after leaves a checkpoint and no model" "[ -s $T/ck.bin ] && [ ! -e $T/res/m.bin ]"
"$LB" train --data "$T/c/train.txt" --resume "$T/ck.bin" --out "$T/res/m.bin" --quiet 2> "$T/err"
check "resumed run is bit-identical to the uninterrupted one" "cmp -s $T/full/m.bin $T/res/m.bin"

"$LB" eval --model "$T/full/m.bin" --tasks "$T/c/testbed_memorization.yaml,$T/c/testbed_application.yaml,$T/c/testbed_reasoning.yaml" \
  --json > "$T/eval.json" 2> "$T/err"
check "probes score per stratum with the task harness" \
  "/usr/bin/python3 -c \"import json; j=json.load(open('$T/eval.json')); s=set(j['strata']); assert s=={'memorization','application','reasoning'}, s\""

expect_refused "unknown testbed action refused" "unknown action" testbed sample
expect_refused "too many individuals refused" "corpus.individuals" testbed corpus --individuals 999999
expect_refused "dim not a multiple of heads refused" "multiple of --heads" train --data "$T/c/train.txt" --dim 30 --heads 4
expect_refused "resume on other data refused" "differs from the data" train --data "$T/c/testbed_memorization.yaml" \
  --tokenizer "$T/c/tokenizer.json" --resume "$T/ck.bin"
printf 'corpus: {individuals: 20}\ntrain: {steps: 5, warmup: 1, colour: 2}\nfamily: {members: []}\n' > "$T/bad.yaml"
expect_refused "unknown recipe key refused" "train.colour" testbed family "$T/bad.yaml"
finish
