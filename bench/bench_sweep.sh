#!/usr/bin/env bash
# bench/bench_sweep.sh — distributed sweep benchmark (docs/BENCHMARKS.md, "Sweep on 1 and 2 ranks").
# Runs one sweep of configurations on stories260K (jobs/bench_sweep.yaml: 12 configurations:
# RTN/GPTQ/AWQ at several bit-widths, SparseGPT/Wanda/Haar) three ways, in the same session:
#   A  1 process,  1 thread                      (the baseline)
#   B  mpirun -np 2, groups of 1, 1 thread each  (dynamic queue: configurations in parallel)
#   C  mpirun -np 2, one group of 2, 1 thread    (data parallel calibration + split solves)
# and reports wall time, speed-up over A and the share of time spent in collectives; it also
# checks that B and C produce the same archive as A, bit for bit.
# usage: bash bench/bench_sweep.sh [BUILD_DIR] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}/lowbit
REPS=${2:-3}
T=$(mktemp -d /tmp/lowbit_bench_sweep.XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
MPI=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS -np 2)
run() {  # run NAME GROUP_SIZE LAUNCHER...  -> prints "NAME seconds collective_seconds configs"
  local name=$1 gs=$2; shift 2
  rm -rf "$T/$name.h5" "$T/$name.h5.staging"
  "$@" "$B" run jobs/bench_sweep.yaml --output "$T/$name.h5" --group-size "$gs" --json --quiet > "$T/$name.json" 2> "$T/$name.err" ||
    { cat "$T/$name.err"; exit 1; }
  /usr/bin/python3 -c "import json; j=json.load(open('$T/$name.json')); print('$name', j['seconds'], j['collective_seconds'], j['configs'])"
}
echo "# host $(hostname), $(nproc --all) cores, $(date -u +%FT%TZ), lowbit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
for r in $(seq 1 "$REPS"); do
  run A 1 env
  run B 1 "${MPI[@]}"
  run C 2 "${MPI[@]}"
done | tee "$T/times"
/usr/bin/python3 tests/mpi/compare_archives.py "$T/A.h5" "$T/B.h5" > /dev/null && echo "B archive == A archive (bit for bit)"
/usr/bin/python3 tests/mpi/compare_archives.py "$T/A.h5" "$T/C.h5" > /dev/null && echo "C archive == A archive (bit for bit)"
/usr/bin/python3 - "$T/times" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    n, s, c, k = line.split()
    rows.setdefault(n, []).append((float(s), float(c), int(k)))
a = st.median(s for s, _, _ in rows["A"])
print(f"\n| run | ranks | configs | wall s (median of {len(rows['A'])}) | speed-up vs A | collectives share |")
print("|---|---|---|---|---|---|")
for n, label in (("A", "1 process"), ("B", "2 ranks, groups of 1 (queue)"), ("C", "2 ranks, one group of 2")):
    s = st.median(x for x, _, _ in rows[n]); c = st.median(y for _, y, _ in rows[n])
    print(f"| {label} | {1 if n == 'A' else 2} | {rows[n][0][2]} | {s:.2f} | {a / s:.2f}x | {100 * c / s:.1f} % |")
PY
