# tests/slurm/lib.bash — sourced by the Slurm tests (CTest runs tests/slurm/*.sh with LOWBIT SHARED,
# label `slurm`). Builds on tests/mpi/lib.bash (LB, T, small_manifest, compare), installs Slurm if
# needed (slurm/local_slurm.sh install: apt, idempotent) and starts a private single-node Slurm on
# loopback with its state under its own scratch folder; it is stopped when the script exits.
source "$(dirname "${BASH_SOURCE[0]}")/../mpi/lib.bash"
[ "$(id -u)" -eq 0 ] || { echo "the Slurm tests need root (SlurmUser=root)"; exit 1; }
LOCAL_SLURM="$SRC/slurm/local_slurm.sh"
export LOWBIT_SLURM_DIR=$(mktemp -d /tmp/lowbit_slurm.XXXXXX)
export LOWBIT_SLURM_CPUS=${LOWBIT_SLURM_CPUS:-4}
export SLURM_CONF=$LOWBIT_SLURM_DIR/etc/slurm.conf
slurm_down() { bash "$LOCAL_SLURM" stop > /dev/null 2>&1; rm -rf "$LOWBIT_SLURM_DIR"; }
trap slurm_down EXIT
bash "$LOCAL_SLURM" install > "$T/install.log" 2>&1 || { cat "$T/install.log"; echo "FAIL Slurm install"; exit 1; }
bash "$LOCAL_SLURM" start > "$T/start.log" 2>&1 || { cat "$T/start.log"; echo "FAIL Slurm start"; exit 1; }
echo "local Slurm up under $LOWBIT_SLURM_DIR"
# job_state ID: JobState of a job (or of every task of an array, space separated)
job_state() { scontrol show job "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort | uniq | tr '\n' ' '; }
# wait_gone ID SECONDS: until no task of the job is pending or running; 1 on timeout
wait_gone() {
  local i
  for i in $(seq 1 $(($2 * 2))); do
    [ -z "$(squeue -h -j "$1" 2> /dev/null)" ] && return 0
    sleep 0.5
  done
  return 1
}
# slurm_manifest FILE CHUNKS [resources YAML lines]: the MPI tests' small manifest (4 configurations)
# plus a resources section
slurm_manifest() {
  small_manifest "$1"
  { echo "resources:"; echo "  chunks: $2"; [[ "${3:-}" == *time:* ]] || echo "  time: \"00:10:00\""
    [ -n "${3:-}" ] && echo "$3"; } >> "$1"
}
n_configs() { "$LB" inspect "$1" --json 2> /dev/null | "$PY" -c "import json,sys; print(len(json.load(sys.stdin)['configs']))" 2> /dev/null || echo 0; }
run_complete() { "$PY" -c "import h5py,sys; print(int(h5py.File(sys.argv[1],'r')['run'].attrs['complete']))" "$1" 2> /dev/null || echo -1; }
# wait_sweep ARRAY FIT SECONDS: until the array is over, then (if every task COMPLETED) until the fit
# job is over; a failed array leaves the fit pending forever (afterok), so it is cancelled
wait_sweep() {
  wait_gone "$1" "$3" || return 1
  if [ "$(job_state "$1")" != "COMPLETED " ]; then scancel "$2" 2> /dev/null; return 1; fi
  wait_gone "$2" 120
}
