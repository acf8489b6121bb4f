#!/usr/bin/env bash
# tests/cli/quickstart_layout.sh — the quickstart's archive is what it was: every item of every
# configuration with its type, shape and value (floats bit for bit, by digest) as in
# tests/data/quickstart_layout.json (made on 2026-12-07 from main at ac131d1 with the schema-2 key
# renames, and checked equal to that commit's archive with tests/mpi/compare_archives.py
# --renames-v1). Values are compared when the kernels are the reference's: OpenBLAS's Haswell
# kernels (forced here; any AVX2 CPU runs them) and one thread. A deliberate change of results
# regenerates the reference:
#   tests/data/archive_layout.py dump ARCHIVE "$PWD" > tests/data/quickstart_layout.json
# usage: quickstart_layout.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_layout.XXXX)
source "$(dirname "$0")/lib/common.bash"
unset OMP_WAIT_POLICY LOWBIT_OMP_WAIT LOWBIT_BLAS_DETECTED SLURM_CPUS_PER_TASK
if grep -q ' avx2 ' /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
OMP_NUM_THREADS=1 "$LB" run jobs/quickstart.yaml --output "$T/q.h5" --quiet > "$T/out" 2> "$T/err"
check "the quickstart runs" '[ $? -eq 0 ] && [ -f "$T/q.h5" ]'
/usr/bin/python3 tests/data/archive_layout.py compare tests/data/quickstart_layout.json "$T/q.h5" "$PWD" > "$T/cmp" 2>&1
check "its archive has the reference's items, types, shapes and values: $(head -n 1 "$T/cmp")" '[ $? -eq 0 ]'
[ -s "$T/cmp" ] && sed -n '2,12p' "$T/cmp"
finish
