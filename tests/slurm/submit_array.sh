#!/usr/bin/env bash
# lowbit submit on a real local Slurm: the sweep runs as a 2-task job array (each task an MPI job of
# 2 ranks started by srun --mpi=pmix, both tasks committing to one archive), the dependent job runs
# after it; the archive holds every configuration once, equal bit for bit to a serial run's.
source "$(dirname "$0")/lib.bash"
slurm_manifest "$T/m.yaml" 2 "  ranks_per_node: 2"
"$LB" run "$T/m.yaml" --output "$T/ref.h5" --quiet 2> "$T/ref.err"
check "serial reference run" '[ $? -eq 0 ]'
"$LB" submit "$T/m.yaml" --dry-run > "$T/dry.out" 2> "$T/dry.err"
check "--dry-run prints both scripts and submits nothing" \
  '[ $? -eq 0 ] && grep -q "^#SBATCH --array=0-1$" "$T/dry.out" && grep -q "srun --mpi=pmix" "$T/dry.out" &&
   grep -q -- "--chunk \"\${SLURM_ARRAY_TASK_ID}/2\"" "$T/dry.out" && grep -q "^#SBATCH --requeue$" "$T/dry.out" &&
   [ -z "$(squeue -h)" ] && [ ! -e "$T/small.h5.slurm" ]'
"$LB" submit "$T/m.yaml" --json > "$T/sub.json" 2> "$T/sub.err"
check "submit exits 0" '[ $? -eq 0 ] || { cat "$T/sub.err"; false; }'
arr=$("$PY" -c "import json; print(json.load(open('$T/sub.json'))['array_job'])")
fit=$("$PY" -c "import json; print(json.load(open('$T/sub.json'))['fit_job'])")
echo "array job $arr, fit job $fit"
check "the fit job depends on the array (afterok)" 'scontrol show job "$fit" | grep -q "Dependency=afterok:${arr}"'
wait_sweep "$arr" "$fit" 240
check "the fit job finished within 240 s" '[ $? -eq 0 ]'
check "every array task COMPLETED (states: $(job_state "$arr"))" '[ "$(job_state "$arr")" = "COMPLETED " ]'
check "the fit job COMPLETED after the array (state: $(job_state "$fit"))" '[ "$(job_state "$fit")" = "COMPLETED " ]'
check "both array tasks ran with 2 ranks under srun" \
  '[ "$(cat "$T"/small.h5.slurm/array-*.out | grep -c "2 rank(s)")" -eq 2 ] || { cat "$T"/small.h5.slurm/array-*.out; false; }'
check "the dependent job read the finished archive" 'grep -q "s.gptq.b3.g4" "$T"/small.h5.slurm/fit-*.out'
check "the archive is marked complete" '[ "$(run_complete "$T/small.h5")" = 1 ]'
check "the archive equals the serial run (4 configurations, bit for bit)" \
  'compare "$T/ref.h5" "$T/small.h5" --expect-configs 4 > "$T/cmp" || { cat "$T/cmp"; false; }'
check "nothing is left in staging" '[ -z "$(ls "$T/small.h5.staging" | grep "\.h5$")" ]'
finish
