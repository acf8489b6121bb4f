#!/bin/bash
# bench/bench_threads.sh — docs/BENCHMARKS.md "Threads": SmolLM2-135M perplexity (4 windows of 512) with
# the thread policy (NEW) and without it (OLD: a lowbit built before core/threads), interleaved.
# usage: OLD=path NEW=path bench/bench_threads.sh
# ppl wall time: the previous binary (libgomp's default waits) vs the thread policy, interleaved
OLD=${OLD:?a lowbit without the policy} NEW=${NEW:-build/lowbit}
M=${MODEL:-${LOWBIT_CACHE:-$HOME/.cache/lowbit}/models/SmolLM2-135M-Instruct.Q4_1.gguf}
D=${DATA:-../shared/data/wikitext2_raw/wiki.test.raw}
run() { local s=$(date +%s.%N); env "${@:2}" $1 ppl --model $M --data $D --ctx 512 --max-windows 4 --batch 4 --json -q > /tmp/thr2.json 2>/dev/null; local e=$(date +%s.%N); python3 -c "print(f'{$e-$s:.2f}')"; }
for rep in 1 2 3; do
  a=$(run $OLD X=1); b=$(run $NEW X=1); c=$(run $OLD OMP_NUM_THREADS=1)
  echo "rep $rep | old default $a s | new default $b s | old OMP_NUM_THREADS=1 $c s | load $(cut -d' ' -f1 /proc/loadavg)"
done
