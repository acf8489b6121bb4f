#!/usr/bin/env bash
# tests/cli/prune_cli.sh — `lowbit prune` as a user runs it: bad specs refused with one line and
# exit 2 before any work, Haar without calibration, Wanda/SparseGPT with it, exact sparsity in the
# report. usage: prune_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
SHARED=$2
T=$(mktemp -d /tmp/lowbit_cli_prune.XXXX)
CAL="$SHARED/data/wikitext2_raw/wiki.test.raw"
source "$(dirname "$0")/lib/common.bash"
refused() {  # name, expected text, args...
  local name=$1 want=$2
  shift 2
  expect_refused "$name" "$want" prune "$@"
}
refused "wanda without calibration refused" "needs calibration data" --method wanda
refused "sparsegpt without calibration refused" "needs calibration data" --method sparsegpt
refused "sparsity 1.0 refused" "sparsity" --method magnitude --sparsity 1.0
refused "negative sparsity refused" "sparsity" --method haar --sparsity -0.1
refused "N >= M refused" "2:2" --method magnitude --nm 2:2
refused "malformed N:M refused" "--nm: '2-4' is not N:M" --method magnitude --nm 2-4
refused "unknown method refused" "not a pruning method" --method lottery

check_sparsity() {  # report, expected fraction
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); want = float(sys.argv[2])
for l in r["layers"]:
    assert l["pruned"] == int(want * l["total"]), (l["layer"], l["linear"], l["pruned"], l["total"])
    for s in l.get("subbands", []):
        assert s["pruned"] == int(want * s["total"]), s
PY
}
"$LB" prune --method haar --sparsity 0.5 --out "$T/haar" --eval-data jobs/data/tinystories_sample.txt --json --quiet > "$T/haar.json"
if [ $? -eq 0 ] && [ -s "$T/haar/model/model.safetensors" ] && [ -s "$T/haar/haar_coeffs.safetensors" ] && check_sparsity "$T/haar/report.json" 0.5; then
  ok "haar 50% without calibration: exact per layer and per subband"; else bad "haar run"; fi
for m in magnitude wanda sparsegpt; do
  "$LB" prune --method $m --sparsity 0.5 --calib "$CAL" --doc-sep-none --nsamples 4 --seqlen 64 --holdout-windows 2 \
    --out "$T/$m" --json --quiet > "$T/$m.json"
  if [ $? -eq 0 ] && check_sparsity "$T/$m/report.json" 0.5; then ok "$m 50%: exact per layer"; else bad "$m run"; fi
done
"$LB" ppl --model "$T/haar/model" --tokenizer models/stories260K/tok512.bin --data jobs/data/tinystories_sample.txt --json --quiet > "$T/p.json"
if /usr/bin/python3 -c "import json; a=json.load(open('$T/p.json')); b=json.load(open('$T/haar.json')); assert abs(a['nll_per_token']-b['pruned']['eval']['nll_per_token'])<1e-6"; then
  ok "the pruned export reloads to the same perplexity"; else bad "pruned export reload"; fi
finish
