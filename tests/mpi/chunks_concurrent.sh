#!/usr/bin/env bash
# Job-array slices on one archive at once: `lowbit run --resume --chunk I/N` processes started
# together (as Slurm array tasks are) on a fresh archive — one creates it, the others resume it;
# their commits are serialised by ARCHIVE.lock — give the same archive as one serial run, bit for
# bit, every configuration once. Also: the slices are disjoint and cover the plan; bad --chunk refused.
source "$(dirname "$0")/lib.bash"
small_manifest "$T/m.yaml" "  - method: rtn
    bits: [2, 3, 4, 8]
    group: [4]"
n=8
"$LB" run "$T/m.yaml" --output "$T/ref.h5" --quiet 2> "$T/ref.err"
check "serial reference run" '[ $? -eq 0 ]'
for round in 1 2 3; do
  rm -rf "$T/c.h5" "$T/c.h5.staging"
  pids=()
  for i in 0 1 2; do
    if [ $i -eq 1 ]; then
      "${MPIRUN[@]}" -np 2 "$LB" run "$T/m.yaml" --output "$T/c.h5" --resume --chunk $i/3 --json > "$T/c$i.json" 2>> "$T/c.err" &
    else
      "$LB" run "$T/m.yaml" --output "$T/c.h5" --resume --chunk $i/3 --json > "$T/c$i.json" 2>> "$T/c.err" &
    fi
    pids+=($!)
  done
  rcs=0
  for p in "${pids[@]}"; do wait "$p" || rcs=1; done
  check "round $round: three slices (one on 2 ranks) started together all succeed" '[ $rcs -eq 0 ] || { tail -5 "$T/c.err"; false; }'
  check "round $round: each configuration was run by exactly one slice" '"$PY" -c "
import json; t = sum(json.load(open(\"$T/c%d.json\" % i))[\"completed\"] for i in range(3)); assert t == $n, t"'
  check "round $round: the archive equals the serial run" \
    'compare "$T/ref.h5" "$T/c.h5" --expect-configs $n > "$T/cmp" || { cat "$T/cmp"; false; }'
  check "round $round: /run is marked complete and nothing is left staged" \
    '[ "$("$PY" -c "import h5py; print(int(h5py.File(\"$T/c.h5\",\"r\")[\"run\"].attrs[\"complete\"]))")" = 1 ] &&
     [ -z "$(ls "$T/c.h5.staging" | grep "\.h5$")" ]'
done
"$LB" plan "$T/m.yaml" --chunks 3 --json > "$T/plan.json"
check "plan --chunks: configuration k is in slice k mod 3" '"$PY" -c "
import json; c = json.load(open(\"$T/plan.json\"))[\"configurations\"]
assert len(c) == $n and all(x[\"chunk\"] == k % 3 for k, x in enumerate(c)), c"'
for bad in 3/3 -1/2 x/2 1/0 2; do
  "$LB" run "$T/m.yaml" --output "$T/never.h5" --chunk "$bad" > /dev/null 2> "$T/err"
  check "--chunk $bad refused (exit 2, before any work)" '[ $? -eq 2 ] && grep -q "must be I/N" "$T/err" && [ ! -e "$T/never.h5" ]'
done
finish
