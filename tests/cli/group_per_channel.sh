#!/usr/bin/env bash
# tests/cli/group_per_channel.sh — "per channel" is one value from the user's spelling to the archive:
# a manifest's `group: -1` configuration writes the same `group` at /configs/<id> and at
# /configs/<id>/diagnostics (QuantSpec::kPerChannel), its id keeps the spelling `g-1`; `lowbit quantize
# --group -1` builds the same QuantSpec (its report's group, the grid name in its log) and the same
# weights as `--group 0` (the CLI's older spelling); other negative groups are refused by name.
# usage: group_per_channel.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_group.XXXX)
source "$(dirname "$0")/lib/common.bash"
export OMP_NUM_THREADS=1
ROOT=$PWD
CAL=$ROOT/jobs/data/tinystories_sample.txt

cat > "$T/m.yaml" <<EOF
name: group_pc
output: $T/pc.h5
models:
  - name: s
    path: $ROOT/models/stories260K/stories260K.bin
    tokenizer: $ROOT/models/stories260K/tok512.bin
calibration:
  path: $CAL
  nsamples: 4
  seqlen: 32
evaluation:
  ppl:
    path: $CAL
diagnostics:
  only: rtn
  eval_windows: 2
  eval_seqlen: 32
methods:
  - method: rtn
    bits: 4
    group: -1
EOF
"$LB" run "$T/m.yaml" --quiet > "$T/run.out" 2> "$T/run.err"
check "manifest run with group: -1 succeeds" "[ -s '$T/pc.h5' ] || { cat '$T/run.err'; false; }"
/usr/bin/python3 - "$T/pc.h5" > "$T/attrs.txt" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    (cid,) = list(f["configs"])
    c = f["configs"][cid]
    print(cid, int(c.attrs["group"]), int(c["diagnostics"].attrs["group"]))
PY
read -r ID G_CONF G_DIAG < "$T/attrs.txt"
check "the id keeps the manifest's spelling g-1 ($ID)" "[[ '$ID' == s.rtn.b4.g-1.asym.* ]]"
check "/configs/<id>@group = /configs/<id>/diagnostics@group ($G_CONF, $G_DIAG)" "[ '$G_CONF' = '$G_DIAG' ]"
check "per channel is 0 in the archive" "[ '$G_CONF' = 0 ]"

q() {  # out-dir, --group value
  "$LB" quantize --method rtn --bits 4 --group "$2" --calib "$CAL" --nsamples 4 --seqlen 32 --holdout-windows 2 \
    --format fake --out "$T/$1" --json 2> "$T/$1.err" > "$T/$1.json"
}
q m1 -1
q z0 0
check "quantize --group -1 logs the per-channel grid w4pcasym" "grep -q 'w4pcasym' '$T/m1.err'"
G_CLI=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['group'])" "$T/m1.json")
check "quantize --group -1 reports the archive's group ($G_CLI)" "[ '$G_CLI' = '$G_CONF' ]"
check "--group -1 and --group 0 give the same weights" \
  "cmp -s '$T/m1/fake/model.safetensors' '$T/z0/fake/model.safetensors' && [ -s '$T/m1/fake/model.safetensors' ]"
expect_refused "quantize --group -2 refused" "must be positive or -1 (per channel)" \
  quantize --method rtn --group -2 --calib "$CAL" --nsamples 4 --seqlen 32
finish
