#!/usr/bin/env bash
# `lowbit plan`: the shipped manifests validate and expand (the study manifests, written for real
# clusters, with --no-file-checks as on a login node); the JSON contract; refusals with exit 2.
source "$(dirname "$0")/lib/common.bash"
LB=$(readlink -f "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/lowbit_plan.XXXXXX)
PY=/usr/bin/python3
"$LB" plan "$SRC/jobs/quickstart.yaml" --json > "$T/q.json" 2> "$T/err"
check "quickstart plans: 12 configurations, ids unique, first fp" '[ $? -eq 0 ] && "$PY" -c "
import json; j = json.load(open(\"$T/q.json\")); c = j[\"configurations\"]
assert j[\"configs\"] == len(c) == 12 and len({x[\"id\"] for x in c}) == 12 and c[0][\"id\"] == \"stories260K.fp\", j"'
for s in failure_modes scaling_laws haar_pruning; do
  f="$SRC/jobs/study_$s.yaml"
  "$LB" plan "$f" --no-file-checks --json > "$T/$s.json" 2> "$T/err"
  check "study_$s plans with --no-file-checks (3 families, GPU resources, ids unique)" '[ $? -eq 0 ] && "$PY" -c "
import json; j = json.load(open(\"$T/$s.json\")); c = j[\"configurations\"]
assert j[\"configs\"] == len(c) > 50 and len({x[\"id\"] for x in c}) == len(c), j[\"configs\"]
assert {m[\"family\"] for m in j[\"models\"]} == {\"llama2\", \"qwen2\", \"opt\"}, j[\"models\"]
assert j[\"resources\"][\"gpus_per_rank\"] >= 1 and j[\"resources\"][\"partition\"], j[\"resources\"]" || cat "$T/err"'
  "$LB" submit "$f" --no-file-checks --dry-run > "$T/$s.sbatch" 2> "$T/err"
  check "study_$s: submit --dry-run renders an array with GPUs and srun --mpi=pmix" \
    'grep -q "^#SBATCH --gpus-per-task=1$" "$T/$s.sbatch" && grep -q "^srun --mpi=pmix .* --resume --chunk" "$T/$s.sbatch"'
done
"$LB" plan "$SRC/jobs/study_haar_pruning.yaml" > /dev/null 2> "$T/err"
check "without --no-file-checks a missing model is named (exit 2, file:line:column)" \
  '[ $? -eq 2 ] && grep -q "study_haar_pruning.yaml:[0-9]*:[0-9]*: models\[0\].path: no such file or folder" "$T/err"'
"$LB" plan "$SRC/tests/data/manifests/bad_many_errors.yaml" > /dev/null 2> "$T/err"
check "a malformed manifest: exit 2, every problem listed" '[ $? -eq 2 ] && grep -q "3 problems" "$T/err" && [ "$(grep -c "^  " "$T/err")" -eq 3 ]'
"$LB" submit "$SRC/jobs/quickstart.yaml" --dry-run --output "$T/q.h5" > "$T/qs.sbatch" 2> /dev/null
check "a manifest with laws: the dependent job runs lowbit fit on the archive" 'grep -q "lowbit.* fit .*q.h5" "$T/qs.sbatch"'
"$LB" plan "$T/none.yaml" > /dev/null 2> "$T/err"
check "a missing manifest: exit 2, named" '[ $? -eq 2 ] && grep -q "none.yaml: no such manifest file" "$T/err"'
finish
