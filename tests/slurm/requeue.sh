#!/usr/bin/env bash
# Preemption: `scontrol requeue` of a running array task (after it committed at least one
# configuration of its slice) kills it and runs it again; the rerun resumes from the archive, redoes
# none of the configurations its slice had completed, and the final archive equals an uninterrupted
# serial run's, bit for bit, every configuration once.
source "$(dirname "$0")/lib.bash"
small_manifest "$T/m.yaml" "  - method: rtn
    bits: [2, 3, 4, 8]
    group: [4]
    sym: [false, true]"
{ echo "resources:"; echo "  chunks: 2"; echo "  time: \"00:10:00\""; } >> "$T/m.yaml"
# About 1 s of work per configuration (200 task items scored), so that the requeue lands while task 0
# is still inside its slice: with 0.1 s configurations it could land while the task was already
# finishing, and Slurm then marked the task FAILED instead of running it again (seen once in CI).
{ echo "tasks:"; echo "  names: [copa, arc_easy]"; echo "  limit: 100"; echo "  data_root: $(readlink -f "$2")/data"; } >> "$T/m.yaml"
n_total=12
"$LB" run "$T/m.yaml" --output "$T/ref.h5" --quiet 2> "$T/ref.err"
check "serial reference run" '[ $? -eq 0 ]'
"$LB" plan "$T/m.yaml" --chunks 2 --json > "$T/plan.json"
"$PY" -c "
import json; j = json.load(open('$T/plan.json'))
for c in j['configurations']:
    if c['chunk'] == 0: print(c['id'])" > "$T/chunk0.ids"
check "plan: $n_total configurations, $(wc -l < "$T/chunk0.ids") in chunk 0" '[ "$(wc -l < "$T/chunk0.ids")" -eq 6 ]'
"$LB" submit "$T/m.yaml" --json > "$T/sub.json" 2> "$T/sub.err" || cat "$T/sub.err"
arr=$("$PY" -c "import json; print(json.load(open('$T/sub.json'))['array_job'])")
fit=$("$PY" -c "import json; print(json.load(open('$T/sub.json'))['fit_job'])")
# wait until task 0 is running and has completed one configuration of its slice, then requeue it
done0() {  # configurations of chunk 0 complete (staged or committed)
  { ls "$T/small.h5.staging" 2> /dev/null | sed -n 's/\.h5$//p'
    "$LB" inspect "$T/small.h5" --json 2> /dev/null | "$PY" -c "import json,sys; print('\n'.join(json.load(sys.stdin)['configs']))" 2> /dev/null
  } | sort -u | grep -Fxf "$T/chunk0.ids" | wc -l
}
requeued=0
for _ in $(seq 1 600); do
  st=$(squeue -h -j "${arr}_0" -o %T 2> /dev/null)
  if [ "$st" = RUNNING ] && [ "$(done0)" -ge 1 ]; then
    before=$(done0)
    scontrol requeue "${arr}_0" && requeued=1
    break
  fi
  [ -z "$st" ] && break
  sleep 0.05
done
check "array task 0 was requeued while running, $before of its 6 configurations complete" '[ $requeued -eq 1 ] && [ "$before" -lt 6 ]'
# Slurm holds a requeued batch job back (BeginTime about 2 minutes ahead); the test does not wait
for _ in $(seq 1 40); do
  [ "$(squeue -h -j "${arr}_0" -o %T 2> /dev/null)" = PENDING ] && break
  sleep 0.25
done
reason=$(squeue -h -j "${arr}_0" -o %r 2> /dev/null)
scontrol update JobId="${arr}_0" StartTime=now 2> /dev/null
echo "requeued task: pending (reason: $reason), start time set to now"
wait_sweep "$arr" "$fit" 240
check "the array and the fit job finished" '[ $? -eq 0 ]'
check "every array task COMPLETED (states: $(job_state "$arr"))" '[ "$(job_state "$arr")" = "COMPLETED " ]'
check "the fit job COMPLETED (state: $(job_state "$fit"))" '[ "$(job_state "$fit")" = "COMPLETED " ]'
log0=$(ls "$T"/small.h5.slurm/array-*_0.out)
check "task 0 ran twice (restart 0 and restart 1 in its log)" \
  'grep -q "(restart 0)" "$log0" && grep -q "(restart 1)" "$log0" || { cat "$log0"; false; }'
rerun=$(grep "to run on" "$log0" | tail -1 | sed -n 's/.*complete, \([0-9]*\) to run on.*/\1/p')
check "the rerun ran only what its slice had not completed ($rerun to run <= $((6 - before)))" \
  '[ -n "$rerun" ] && [ "$rerun" -le $((6 - before)) ]'
check "the archive is marked complete" '[ "$(run_complete "$T/small.h5")" = 1 ]'
check "the archive equals the uninterrupted run ($n_total configurations, each once, bit for bit)" \
  'compare "$T/ref.h5" "$T/small.h5" --expect-configs $n_total > "$T/cmp" || { cat "$T/cmp"; false; }'
finish
