#!/usr/bin/env bash
# tests/cli/fit_cli.sh — `lowbit fit` as a user runs it: bad laws and tables refused with one line
# and exit 2 before any work; one good fit on a table generated from a known law (the shipped
# `exponential` form, tests/data/fit_make_points.py) recovers its bit-width exponent, reports the
# cross-family check, writes the same JSON to --out as to stdout, and analysis/fit_plot.py draws it.
# usage: fit_cli.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_fit.XXXX)
PY=/usr/bin/python3
source "$(dirname "$0")/lib/common.bash"

$PY tests/data/fit_make_points.py --small --seed 3 > "$T/points.csv"
LAWS=jobs/laws.yaml
refused() {  # name, expected text, args...
  local name=$1 want=$2
  shift 2
  expect_refused "$name" "$want" fit "$@"
}

cat > "$T/unknown.yaml" <<'EOF'
laws:
  bad:
    target: drop
    expr: A * Q^(-p)
    params: {A: {init: 1, bounds: [0, 10]}, p: {init: 1}}
EOF
cat > "$T/typo.yaml" <<'EOF'
laws:
  bad:
    target: drop
    expr: A * B^(-p)
    params: {A: {init: 1, bounds: [0, 10]}, p: {init: 1}}
    bounds: [0, 1]
EOF
head -4 "$T/points.csv" > "$T/few.csv"                               # 3 configurations
cut -d, -f1-11 "$T/points.csv" > "$T/no_fp.csv"                      # acc_fp column dropped
refused "law with an unknown variable" "unknown variable 'Q'" --table "$T/points.csv" --laws "$T/unknown.yaml"
refused "too few configurations" "4 parameters need at least 5" --table "$T/few.csv" --laws $LAWS --law exponential
refused "table without the needed metric" "no column 'acc_fp'" --table "$T/no_fp.csv" --laws $LAWS --law multiplicative
refused "unknown key in the laws file" "unknown key 'laws.bad.bounds'" --table "$T/points.csv" --laws "$T/typo.yaml"
refused "unknown law name" "no law named 'power'" --table "$T/points.csv" --laws $LAWS --law power
refused "missing table file" "cannot open" --table "$T/nope.csv" --laws $LAWS
refused "no --table" "give a run archive or --table" --laws $LAWS
refused "bad --loss" "must be huber or squared" --table "$T/points.csv" --laws $LAWS --law exponential --loss l1
refused "group-by a missing column" "--group-by column 'task'" --table "$T/points.csv" --laws $LAWS --group-by task

"$LB" fit --table "$T/points.csv" --laws $LAWS --law exponential --bootstrap 30 --seed 1 --json --quiet \
  --out "$T/fit.json" > "$T/stdout.json" 2> "$T/err"
rc=$?
check "good fit exits 0" "[ $rc -eq 0 ]"
check "--out holds the same result as stdout" \
  "$PY -c 'import json,sys; assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' $T/fit.json $T/stdout.json"
check "exponent and fit quality of the known law recovered" "$PY - $T/fit.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r['fits']
assert len(f) == 1 and f[0]['stratum'] == 'stratum=arc,method=gptq', [x['stratum'] for x in f]
f = f[0]
p = {q['name']: q for q in f['params']}
# truth: alpha 0.3, beta 0.8, delta 0.4 (tests/data/fit_make_points.py)
for name, true, tol in (('alpha', 0.3, 0.05), ('beta', 0.8, 0.05), ('delta', 0.4, 0.15)):
    assert abs(p[name]['value'] - true) < tol, (name, p[name])
    assert p[name]['ci'][0] <= p[name]['value'] <= p[name]['ci'][1], p[name]
assert f['metrics']['r2'] > 0.95 and f['metrics']['loo_rmse'] >= f['metrics']['rmse'], f['metrics']
assert f['n_configs'] == 168 and f['bootstrap']['n'] == 30
assert {(c['train'], c['test']) for c in f['cross_family']} == {('llama', 'qwen'), ('qwen', 'llama')}
assert len(f['curves']['x']) > 0 and f['curves']['axis'] == 'B'
PY"
"$LB" fit --table "$T/points.csv" --laws $LAWS --law exponential --bootstrap 0 --no-loo --no-cross > "$T/text" 2>&1
check "human-readable output names the parameters and metrics" "grep -q 'beta' $T/text && grep -q 'adj R2' $T/text"

if $PY -c 'import matplotlib' 2> /dev/null; then
  $PY analysis/fit_plot.py "$T/fit.json" "$T/plots" > "$T/plot.log" 2>&1
  check "fit_plot.py draws PNG and SVG and writes the table" \
    "[ -s $T/plots/fit_exponential_stratum_arc_method_gptq.png ] && [ -s $T/plots/fit_exponential_stratum_arc_method_gptq.svg ] && grep -q '| exponential |' $T/plots/fit_table.md"
else
  echo "skip fit_plot.py (no matplotlib)"
fi
finish
