#!/usr/bin/env bash
# SIGKILL at random moments, then --resume, until the run is complete: after every kill the archive
# opens with HDF5 tools and every staged configuration is whole; the final archive equals an
# uninterrupted run's (same configurations, same numbers, nothing duplicated). Half of the attempts
# run under mpirun with 2 ranks, so kills also land inside collectives and the collective commit.
source "$(dirname "$0")/lib.bash"
small_manifest "$T/m.yaml" "  - method: rtn
    bits: [2, 3, 4, 8]
    group: [4]"
"$LB" run "$T/m.yaml" --output "$T/ref.h5" --quiet 2> "$T/ref.err"
check "uninterrupted reference run" '[ $? -eq 0 ]'
n_total=8
kills=0 mid=0 opened_ok=1 staged_ok=1
for attempt in $(seq 1 12); do
  if [ $((attempt % 2)) -eq 0 ]; then cmd=("${MPIRUN[@]}" -np 2 "$LB" run "$T/m.yaml" --output "$T/a.h5" --resume --group-size 2 --quiet)
  else cmd=("$LB" run "$T/m.yaml" --output "$T/a.h5" --resume --quiet); fi
  setsid "${cmd[@]}" > /dev/null 2>> "$T/a.err" &
  pid=$!
  r=$(awk -v s=$attempt 'BEGIN { srand(s * 7919); printf "%.2f", rand() * 0.3 }')
  if [ $((attempt % 3)) -eq 1 ]; then
    sleep "0.0$((attempt % 10))"   # early: during start-up, validation or the first commit
  else
    # after this attempt has staged one more configuration, plus a random delay: the kill lands
    # in a later configuration, a staging write or the final commit
    before=$(ls "$T/a.h5.staging" 2> /dev/null | grep -c '\.h5$')
    for _ in $(seq 1 400); do
      now=$(ls "$T/a.h5.staging" 2> /dev/null | grep -c '\.h5$')
      [ "$now" -gt "$before" ] && break
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.05
    done
    sleep "$r"
  fi
  killed=0
  if kill -0 "$pid" 2> /dev/null; then
    kill -9 -- -"$pid" 2> /dev/null; kills=$((kills + 1)); killed=1
  fi
  wait "$pid" 2> /dev/null
  pkill -9 -f "$T/a.h5" 2> /dev/null  # stragglers of the process group
  sleep 0.2
  if [ -f "$T/a.h5" ]; then h5ls -r "$T/a.h5" > /dev/null 2>&1 || opened_ok=0; fi
  for f in "$T"/a.h5.staging/*.h5; do [ -e "$f" ] || continue; h5ls -r "$f" > /dev/null 2>&1 || staged_ok=0; done
  done_n=$("$LB" inspect "$T/a.h5" --json 2> /dev/null | "$PY" -c "import json,sys; print(len(json.load(sys.stdin)['configs']))" 2> /dev/null || echo 0)
  [ $killed -eq 1 ] && [ "$done_n" -lt $n_total ] && mid=$((mid + 1))
  echo "attempt $attempt: killed=$killed, $done_n/$n_total configurations present"
done
check "at least 3 runs were killed before the sweep was done (kills: $kills, mid-sweep: $mid)" '[ $mid -ge 3 ]'
check "after every kill the archive opened with h5ls" '[ $opened_ok -eq 1 ]'
check "after every kill every staged configuration opened with h5ls" '[ $staged_ok -eq 1 ]'
"$LB" run "$T/m.yaml" --output "$T/a.h5" --resume --json > "$T/final.json" 2>> "$T/a.err"
check "the final --resume completes the run" '[ $? -eq 0 ]'
check "it reports every configuration complete, none run twice" '"$PY" -c "
import json; j = json.load(open(\"$T/final.json\"))
assert j[\"already_complete\"] + j[\"completed\"] == j[\"configs\"] == $n_total, j"'
check "the archive equals the uninterrupted run" 'compare "$T/ref.h5" "$T/a.h5" --expect-configs $n_total > "$T/cmp" || { cat "$T/cmp"; false; }'
check "no staged file is left after the final commit" '[ -z "$(ls "$T/a.h5.staging" 2>/dev/null | grep "\.h5$")" ]'
"$LB" run "$T/m.yaml" --output "$T/a.h5" --resume --json > "$T/again.json" 2>> "$T/a.err"
check "resuming a complete run does nothing" '"$PY" -c "
import json; j = json.load(open(\"$T/again.json\")); assert j[\"completed\"] == 0 and j[\"already_complete\"] == $n_total, j"'
finish
