#!/usr/bin/env bash
# tests/cli/blas_select.sh — what BLAS ran is reported (`lowbit --version`, every --json), the user's
# OPENBLAS_CORETYPE is kept, and a process started with lowbit's selection (as select_blas_core
# re-executes it on a CPU where OpenBLAS fell back to generic kernels) self-checks the selected
# kernels, reports them as selected and runs on them. usage: blas_select.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_blas.XXXX)
source "$(dirname "$0")/lib/common.bash"
unset OPENBLAS_CORETYPE LOWBIT_BLAS_DETECTED
"$LB" --version > "$T/v" 2> "$T/e"
check "--version names the BLAS and its kernels" '[ $? -eq 0 ] && grep -q "^blas: OpenBLAS [0-9.]*, [A-Za-z0-9]* kernels (" "$T/v" && [ ! -s "$T/e" ]'
OPENBLAS_CORETYPE=Haswell "$LB" --version > "$T/v" 2> "$T/e"
check "the user's OPENBLAS_CORETYPE is kept and said" 'grep -q "Haswell kernels (set by OPENBLAS_CORETYPE)" "$T/v"'
json() {  # json ENV... : run ppl --json on the embedded model with the environment given
  env "$@" "$LB" ppl --data jobs/data/tinystories_sample.txt --max-windows 1 --json --quiet > "$T/j" 2> "$T/e"
}
json
check "--json records the BLAS" '[ $? -eq 0 ] && /usr/bin/python3 -c "import json,sys; b=json.load(open(sys.argv[1]))[\"blas\"]; assert b[\"vendor\"]==\"OpenBLAS\" and b[\"core\"] and b[\"threads\"]>=1, b" "$T/j"'
nll0=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['nll_per_token'])" "$T/j")
json LOWBIT_BLAS_DETECTED=Prescott OPENBLAS_CORETYPE=Haswell
check "a selected core is self-checked, used and reported with what OpenBLAS detected" \
  '[ $? -eq 0 ] && [ ! -s "$T/e" ] && /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); b=j[\"blas\"]; assert (b[\"core\"],b[\"selection\"],b[\"detected\"])==(\"Haswell\",\"selected\",\"Prescott\"), b; assert abs(j[\"nll_per_token\"]-float(sys.argv[2]))<1e-4" "$T/j" "$nll0"'
json LOWBIT_BLAS_DETECTED=Haswell:refused OPENBLAS_CORETYPE=Haswell
check "a refused selection is reported as refused, with one warning" \
  '[ $? -eq 0 ] && [ "$(wc -l < "$T/e")" -eq 1 ] && grep -q "self-check failed" "$T/e" && grep -q "\"selection\":\"refused\"" "$T/j"'
finish
