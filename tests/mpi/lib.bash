# tests/mpi/lib.bash — sourced by the MPI tests (CTest runs tests/mpi/*.sh with LOWBIT SHARED).
# Sets LB, T (scratch), MPIRUN (mpirun as root, oversubscribed, one thread per rank) and writes
# $T/small.yaml: stories260K, 4 configurations that exercise every reduction (GPTQ Hessians, AWQ
# statistics and scaled statistics, SparseGPT, Wanda norms) and the sharded perplexity.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib/common.bash"
LB=$(readlink -f "$1")
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d /tmp/lowbit_mpi.XXXXXX)
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
MPIRUN=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS)
small_manifest() {  # small_manifest FILE [extra methods YAML]
  cat > "$1" <<YAML
name: small
output: small.h5
models:
  - name: s
    path: $SRC/models/stories260K/stories260K.bin
calibration:
  path: $SRC/jobs/data/tinystories_sample.txt
  nsamples: 12
  seqlen: 32
evaluation:
  ppl: {path: $SRC/jobs/data/tinystories_sample.txt, max_windows: 3, ctx: 128}
methods:
  - method: gptq
    bits: [3]
    group: [4]
  - method: awq
    bits: [3]
    group: [4]
  - method: sparsegpt
    sparsity: [0.5]
  - method: wanda
    sparsity: [0.5]
${2:-}
execution: {micro_batch: 2}
YAML
}
compare() { "$PY" "$SRC/tests/mpi/compare_archives.py" "$@"; }
