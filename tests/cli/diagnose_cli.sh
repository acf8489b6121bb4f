#!/usr/bin/env bash
# tests/cli/diagnose_cli.sh — `lowbit diagnose` as a user runs it: bad options are refused with one
# line and exit 2 before any work (no output folder appears); a small real run on the embedded
# stories260K writes diagnose.json whose tables are consistent with the --json summary.
# usage: diagnose_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
SHARED=$2
T=$(mktemp -d /tmp/lowbit_cli_diag.XXXX)
CAL=jobs/data/tinystories_sample.txt
source "$(dirname "$0")/lib/common.bash"
export OMP_NUM_THREADS=1
refused() {  # name, expected text, args... (per channel unless they give --group)
  local name=$1 want=$2
  shift 2
  local g=(--group -1)
  [[ " $* " == *" --group "* ]] && g=()
  expect_refused "$name" "$want" diagnose --calib "${CALARG:-$CAL}" "${g[@]}" "$@"
}
refused "unknown method refused" "must be rtn, gptq, awq or noise" --method foo
refused "bits 9 refused" "bits 9 is outside 2..8" --bits 9
refused "group -2 refused" "must be positive or -1 (per channel)" --group -2
refused "eval window beyond context refused" "--eval-seqlen 4096" --eval-seqlen 4096
refused "missing facts refused" "facts file not found" --facts /nonexistent.jsonl
refused "hi-bits refused" "--hi-bits 12" --hi-bits 12
CALARG=/nonexistent.txt refused "missing corpus refused" "calibration corpus not found"
refused "negative noise refused" "--noise -1" --method noise --noise -1
refused "budget below the bits refused" "--budget-bits 2 must be 0" --bits 4 --budget-bits 2
echo '{"type":"cloze","context":"Tom"' > "$T/bad.jsonl"
refused "malformed facts refused" "bad.jsonl:1: not a JSON object" --facts "$T/bad.jsonl"
echo '{"foo":1}' > "$T/bad2.jsonl"
refused "facts of unknown shape refused" "neither a cloze fact" --facts "$T/bad2.jsonl"
refused "eval text too short refused" "hold no evaluation window" --eval-text "$T/bad2.jsonl"

# The default --group 128 on the embedded model: one group per row of attn (64 inputs), a ragged last
# group of 44 columns in mlp.down (172 = 128 + 44).
"$LB" diagnose --method rtn --bits 3 --calib "$CAL" --nsamples 4 --eval-seqlen 64 --eval-windows 2 --no-heads \
  --noise-samples 1 --out "$T/d128" --json --quiet > "$T/d128.json"
if [ $? -eq 0 ] && /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['group']==128 and s['gap']>0, s" "$T/d128.json"
then ok "the default --group 128 diagnoses stories260K (ragged last groups)"; else bad "default group diagnose"; fi

"$LB" diagnose --method rtn --bits 3 --group -1 --calib "$CAL" --nsamples 4 --eval-seqlen 64 --eval-windows 4 --no-heads \
  --facts "$SHARED/data/lama/lama_trex_googlere_facts.jsonl" --max-facts 3 --noise-samples 1 \
  --out "$T/d3" --json --quiet > "$T/d3.json"
if [ $? -eq 0 ] && [ -s "$T/d3/diagnose.json" ]; then ok "rtn 3-bit run writes diagnose.json"; else bad "rtn 3-bit run"; fi
if /usr/bin/python3 - "$T/d3.json" "$T/d3/diagnose.json" <<'PY'
import json, sys, math
s = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
a = d["attrs"]
assert a["group"] == 0 and s["group"] == 0, (a["group"], s["group"])  # --group -1: QuantSpec::kPerChannel
assert s["mode"] in ("signal_degradation", "computation_collapse", "mixed") and s["mode"] == a["mode"]
assert abs(s["gap"] - (a["loss_q"] - a["loss_fp"])) < 1e-12 and s["gap"] > 0, s
L = d["tables"]["layers"]
assert len(L["data"]) == 5 and len(L["columns"]) == len(L["units"]) == len(L["data"][0])
snr = L["columns"].index("snr_db"); rel = L["columns"].index("rel_l2")
for row in L["data"]:
    assert abs(row[snr] + 20 * math.log10(row[rel])) < 1e-9
kl = L["columns"].index("lens_kl_fp")
assert L["data"][-1][kl] < 1e-9  # the FP lens of the last layer is the FP output itself
rep = d["tables"]["repairs"]
assert rep["rows"] == ["bias", "bias_variance", "norm_gain", "mixed_precision", "mixed_precision_by_depth"]
assert d["groups"]["tracing"]["attrs"]["facts"] == 3
P = d["tables"]["patching"]; gc = P["columns"].index("gap_closed")
assert abs(P["data"][-1][gc] - 1) < 1e-9
PY
then ok "diagnose.json: consistent summary, SNR = -20 log10(rel L2), lens, repairs, tracing, patching"; else bad "diagnose.json contents"; fi
"$LB" diagnose --method noise --noise 0.02 --calib "$CAL" --nsamples 4 --eval-seqlen 64 --eval-windows 4 --no-heads --no-repairs --json --quiet > "$T/n.json"
if /usr/bin/python3 -c "import json; s=json.load(open('$T/n.json')); assert s['mode']=='signal_degradation', s"; then
  ok "2% Gaussian weight noise on stories260K is labelled signal degradation"; else bad "noise label ($(cat "$T/n.json"))"; fi
finish
