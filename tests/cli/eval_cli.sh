#!/usr/bin/env bash
# tests/cli/eval_cli.sh — `lowbit eval` as a user runs it: the embedded stories260K model on a few
# shipped tasks and the native probes with --limit, the --json contract (per-task metrics with
# stderr and chance, per-stratum scores), determinism of few-shot prompts, --data-root and
# LOWBIT_DATA, and bad input (exit 2, one stderr line, nothing on stdout, refused before scoring).
# usage: eval_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
SHARED=$2
T=$(mktemp -d /tmp/lowbit_cli_eval.XXXX)
source "$(dirname "$0")/lib/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # a 260K-parameter model: threads only add overhead
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }
# task FILE NAME EXPR: EXPR with t = the task's object, s = the strata, d = the whole object.
task() { /usr/bin/python3 -c "import json; d=json.load(open('$1')); t=d['tasks'].get('$2', {}); s=d['strata']; print($3)"; }
# refused NAME WANT ARGS...: exit 2, exactly one stderr line containing WANT, empty stdout, and no
# progress line (nothing was scored).
refused() {
  local name=$1 want=$2
  shift 2
  "$LB" eval "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q -- "$want" "$T/err" && [ ! -s "$T/out" ]; then
    ok "$name"
  else
    bad "$name (rc=$rc: $(cat "$T/err"))"
  fi
}

# ---- shipped tasks on the real data ----
"$LB" eval --tasks copa,arc_easy,nq_open,lama --limit 3 --data-root "$SHARED/data" --json > "$T/r.json" 2> "$T/r.err"
check "eval exits 0 and prints one JSON line" "[ \$? -eq 0 ] && [ \$(wc -l < $T/r.json) -eq 1 ]"
check "progress goes to stderr" "grep -q 'eval copa: 3/3 items' $T/r.err"
check "copa: 3 items, mc, acc in [0,1] with stderr, chance 0.5" \
  "task $T/r.json copa 't[\"n\"]==3 and t[\"type\"]==\"mc\" and 0<=t[\"metrics\"][\"acc\"][\"value\"]<=1 and t[\"metrics\"][\"acc\"][\"stderr\"] is not None and t[\"chance\"]==0.5 and t[\"n_available\"]==100' | grep -q True"
check "arc_easy: primary is acc_norm, chance 0.25, both metrics reported" \
  "task $T/r.json arc_easy 't[\"primary_metric\"]==\"acc_norm\" and t[\"chance\"]==0.25 and set(t[\"metrics\"])=={\"acc\",\"acc_norm\"} and t[\"primary\"]==t[\"metrics\"][\"acc_norm\"][\"value\"]' | grep -q True"
check "nq_open: generation scored by exact match" \
  "task $T/r.json nq_open 't[\"type\"]==\"gen\" and set(t[\"metrics\"])=={\"em\"} and t[\"n\"]==3' | grep -q True"
check "lama: --limit applies per relation (31 relations x 3), cloze metrics" \
  "task $T/r.json lama 't[\"n\"]==93 and set(t[\"metrics\"])=={\"acc\",\"logprob\",\"mrr\"} and t[\"metrics\"][\"logprob\"][\"value\"]<0' | grep -q True"
check "strata: application = mean of copa and arc_easy primaries; memorization holds nq_open and lama" \
  "task $T/r.json - '(t:=d[\"tasks\"]) and (abs(s[\"application\"][\"score\"]-(t[\"copa\"][\"primary\"]+t[\"arc_easy\"][\"primary\"])/2)<1e-12 and s[\"memorization\"][\"tasks\"]==[\"nq_open\",\"lama\"] and \"stderr\" in s[\"application\"])' | grep -q True"

# ---- native probes (the testbed's format), table output ----
"$LB" eval --tasks tests/data/tasks_native --quiet > "$T/table.txt" 2> "$T/table.err"
check "native probes: table with tasks and strata, silent with --quiet" \
  "grep -q '^| native_mc ' $T/table.txt && grep -q '^| memorization ' $T/table.txt && grep -q 'acc_norm' $T/table.txt && [ ! -s $T/table.err ]"
"$LB" eval --tasks tests/data/tasks_native/native_mc.yaml --json --quiet > "$T/mc.json"
check "native mc: the 4 probes are answered correctly by stories260K" \
  "json $T/mc.json 'd[\"tasks\"][\"native_mc\"][\"metrics\"][\"acc\"][\"value\"]==1.0 and d[\"tasks\"][\"native_mc\"][\"n\"]==4' | grep -q True"

"$LB" eval --tasks tests/data/tasks_native/native_mc.yaml --items "$T/items.jsonl" --json --quiet > /dev/null
check "--items writes one JSON line per item with per-choice log-likelihoods" \
  "[ \$(wc -l < $T/items.jsonl) -eq 4 ] && /usr/bin/python3 -c \"import json; r=[json.loads(l) for l in open('$T/items.jsonl')]; assert r[0]['id']=='mc1' and len(r[0]['logprobs'])==3 and r[0]['pred']==0 and all(x<0 for x in r[0]['logprobs'])\""
"$LB" eval --tasks tests/data/tasks_native/native_mc.yaml --items "$T/items_nobos.jsonl" --no-bos --json --quiet > "$T/nobos.json"
check "--no-bos is recorded and changes the log-likelihoods" \
  "json $T/nobos.json 'd[\"add_bos\"]' | grep -q False && ! cmp -s $T/items.jsonl $T/items_nobos.jsonl"

# ---- few-shot determinism ----
"$LB" eval --tasks copa --limit 4 --fewshot 2 --seed 7 --json --quiet --data-root "$SHARED/data" > "$T/s1.json"
"$LB" eval --tasks copa --limit 4 --fewshot 2 --seed 7 --json --quiet --data-root "$SHARED/data" > "$T/s2.json"
check "same seed, same scores (2-shot)" \
  "[ \"\$(json $T/s1.json 'd[\"tasks\"][\"copa\"][\"metrics\"]')\" = \"\$(json $T/s2.json 'd[\"tasks\"][\"copa\"][\"metrics\"]')\" ]"
check "the JSON records the few-shot count" "json $T/s1.json 'd[\"tasks\"][\"copa\"][\"fewshot\"]==2 and d[\"seed\"]==7' | grep -q True"
LOWBIT_DATA="$SHARED/data" "$LB" eval --tasks copa --limit 2 --json --quiet > "$T/env.json"
check "LOWBIT_DATA sets the data root" "json $T/env.json 'd[\"data_root\"]==\"$SHARED/data\" and d[\"tasks\"][\"copa\"][\"n\"]==2' | grep -q True"

"$LB" eval --help > "$T/help.txt"
check "--help exits 0 and explains" "[ \$? -eq 0 ] && grep -q 'acc_norm' $T/help.txt && grep -q -- '--data-root' $T/help.txt"

# ---- bad input: one line, exit 2, before any scoring ----
mkdir -p "$T/y"
printf '{"type": "mc", "context": "a", "choices": [" b", " c"], "answer": 0}\n' > "$T/y/p.jsonl"
printf 'name: t\nstratum: s\ndataset: p.jsonl\nformat: native\ncolour: red\n' > "$T/y/badkey.yaml"
printf 'name: t\nstratum: s\ndataset: p.jsonl\nformat: parquet\n' > "$T/y/badfmt.yaml"
printf 'name: t\nstratum: s\ndataset: missing.jsonl\nformat: native\n' > "$T/y/nodata.yaml"
printf '{"type": "mc", "context": "a", "choices": [" b"], "answer": 0}\n' > "$T/y/one.jsonl"
printf 'name: t\nstratum: s\ndataset: one.jsonl\nformat: native\n' > "$T/y/onechoice.yaml"
refused "no --tasks" "tasks" --limit 2
refused "unknown task name" "unknown task 'nosuch'" --tasks copa,nosuch
refused "bad YAML key" "unknown key 'colour'" --tasks "$T/y/badkey.yaml"
refused "unknown format" "unknown format 'parquet'" --tasks "$T/y/badfmt.yaml"
refused "missing dataset" "dataset not found" --tasks "$T/y/nodata.yaml"
refused "malformed item, named by file:line" "one.jsonl:1: field 'choices'" --tasks "$T/y/onechoice.yaml"
refused "missing data root" "dataset not found" --tasks copa --data-root "$T/nowhere"
refused "--items in a missing folder" "does not exist" --tasks copa --items "$T/nodir/items.jsonl" --data-root "$SHARED/data"
refused "negative --limit" "--limit" --tasks copa --limit -1 --data-root "$SHARED/data"
refused "missing model" "$T/none.bin" --tasks copa --model "$T/none.bin" --tokenizer models/stories260K/tok512.bin --data-root "$SHARED/data"
finish
