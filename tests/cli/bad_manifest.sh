#!/usr/bin/env bash
# Manifests `lowbit plan` must refuse because `lowbit run` (or fit) would — plan runs run's own
# checks — and `lowbit run` refusing them before writing anything (no archive, staging folder, lock
# or output folder left behind), so the fixed manifest starts clean. Bounded work: huge sweeps and
# oversized manifests are refused at once. (Issue 17; the YAML-level cases are in tests/data/manifests.)
source "$(dirname "$0")/lib/common.bash"
LB=$(readlink -f "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/lowbit_badman.XXXXXX)
manifest() {  # manifest FILE CALIB_LINES [EXTRA]: stories260K, one rtn configuration
  cat > "$1" <<YAML
name: bm
output: $T/out/bm.h5
models:
  - name: s
    path: ${MODEL:-$SRC/models/stories260K/stories260K.bin}
calibration:
  path: $SRC/jobs/data/tinystories_sample.txt
$2
methods:
  - method: rtn
    bits: 4
    group: [4]
${3:-}
YAML
}
# refused NAME WANT MANIFEST: plan and run both exit 2 with one line naming WANT; run leaves no file
refused() {
  local name=$1 want=$2 m=$3
  "$LB" plan "$m" > /dev/null 2> "$T/perr"; local prc=$?
  "$LB" run "$m" > /dev/null 2> "$T/rerr"; local rrc=$?
  if [ $prc -eq 2 ] && [ $rrc -eq 2 ] && grep -q -- "$want" "$T/perr" && grep -q -- "$want" "$T/rerr" &&
     [ ! -e "$T/out" ]; then ok "$name"
  else bad "$name (plan rc=$prc: $(cat "$T/perr"); run rc=$rrc: $(cat "$T/rerr"); left: $(ls -A "$T/out" 2>&1))"; fi
}
manifest "$T/seqlen.yaml" "  nsamples: 4
  seqlen: 100000"
refused "calibration seqlen longer than the corpus (plan and run, nothing written)" \
  "seqlen.yaml:9:11: calibration.seqlen: configuration s.rtn.b4.g4.asym.n4.s0: .*fewer than seqlen 100000" "$T/seqlen.yaml"
manifest "$T/nsamples.yaml" "  nsamples: 2000000000
  seqlen: 64"
start=$(date +%s)
refused "an absurd nsamples: refused with nsamples, seqlen and bytes, before allocating" \
  "nsamples.yaml:8:13: calibration.nsamples: configuration s.rtn.b4.g4.asym.n2000000000.s0: nsamples 2000000000 x seqlen 64 needs [0-9]* bytes" "$T/nsamples.yaml"
check "... and at once" '[ $(( $(date +%s) - start )) -lt 20 ]'
manifest "$T/tasks.yaml" "  nsamples: 4
  seqlen: 32" "tasks:
  names: [no_such_task_xyz]"
refused "an unknown task name, at tasks.names' line:col" "tasks.yaml:15:10: tasks.names: .*no_such_task_xyz" "$T/tasks.yaml"
manifest "$T/diag.yaml" "  nsamples: 4
  seqlen: 32" "diagnostics:
  eval_seqlen: 100000"
refused "a diagnostics context beyond the model's: by manifest key, before work" \
  "diag.yaml:15:16: diagnostics.eval_seqlen: configuration s.rtn.b4.g4.asym.n4.s0: 100000 must be in \[2, " "$T/diag.yaml"
check "... not by the CLI flag" '! grep -q -- "--eval-seqlen" "$T/rerr"'
mkdir -p "$T/emptymodel"
cp "$SRC/models/stories260K/tok512.bin" "$T/emptymodel/"
MODEL="$T/emptymodel" manifest "$T/noconfig.yaml" "  nsamples: 4
  seqlen: 32"
sed -i "s#^    path: .*emptymodel#&\n    tokenizer: $T/emptymodel/tok512.bin#" "$T/noconfig.yaml"
refused "a model folder without config.json" "noconfig.yaml:5:11: models\[0\].path: " "$T/noconfig.yaml"
manifest "$T/tokdir.yaml" "  nsamples: 4
  seqlen: 32"
sed -i "s#^    path: .*stories260K.bin#&\n    tokenizer: $SRC/models/stories260K#" "$T/tokdir.yaml"
refused "a tokenizer path that is a folder" "tokdir.yaml:6:16: models\[0\].tokenizer: is a folder, not a file" "$T/tokdir.yaml"
manifest "$T/calibdir.yaml" "  nsamples: 4
  seqlen: 32"
sed -i "s#^  path: .*tinystories_sample.txt#  path: $SRC/jobs/data#" "$T/calibdir.yaml"
refused "a folder as the calibration path" "calibdir.yaml:7:9: calibration.path: is a folder, not a file" "$T/calibdir.yaml"
manifest "$T/laws.yaml" "  nsamples: 4
  seqlen: 32" "laws:
  drop: {target: drop, expr: 'a*B^-(b', params: {a: {init: [1]}, b: {init: [1]}}}"
refused "a law expression fit would reject" "laws.yaml:.*laws.drop.expr" "$T/laws.yaml"
# the fixed manifest runs (and resumes) where the refused ones ran
manifest "$T/seqlen.yaml" "  nsamples: 4
  seqlen: 32"
"$LB" run "$T/seqlen.yaml" --quiet > /dev/null 2> "$T/err"
check "the fixed manifest runs where the refused one did" '[ $? -eq 0 ] && [ -f "$T/out/bm.h5" ] || { cat "$T/err"; false; }'
"$LB" run "$T/seqlen.yaml" --resume --quiet > /dev/null 2> "$T/err"
check "... and resumes" '[ $? -eq 0 ] || { cat "$T/err"; false; }'
rm -rf "$T/out"
# bounded work
vals() { "$PY" -c "import sys; print(', '.join(str(i) for i in range(int(sys.argv[1]), int(sys.argv[2]))))" "$@"; }
PY=/usr/bin/python3
manifest "$T/huge.yaml" "  nsamples: [$(vals 1 1001)]
  seqlen: 32" "    seeds: [$(vals 1 1001)]
    seqlen: [$(vals 2 1002)]"
sed -i "s/group: \[4\]/group: [$(vals 1 1001)]/" "$T/huge.yaml"
start=$(date +%s)
timeout 60 "$LB" plan "$T/huge.yaml" > /dev/null 2> "$T/err"
check "a 10^12 sweep: exit 2 at once, with the count" \
  '[ $? -eq 2 ] && [ $(( $(date +%s) - start )) -lt 10 ] && grep -q "sweeps 1000000000000 configurations" "$T/err"'
"$PY" -c "
import sys; f = open(sys.argv[1], 'w'); f.write('name: x\n'); f.write(('#' * 1023 + '\n') * (16 * 1024 + 1))" "$T/big.yaml"
"$LB" plan "$T/big.yaml" > /dev/null 2> "$T/err"
check "a manifest over 16 MiB: exit 2 with its size" '[ $? -eq 2 ] && grep -q "big.yaml: the manifest is 16778248 bytes, more than the limit of 16777216" "$T/err"'
finish
