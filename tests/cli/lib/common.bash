# tests/cli/lib/common.bash — sourced by the CLI tests (not a test itself: CTest runs tests/cli/*.sh).
# Provides pass/fail counting, check, and expect_refused; the caller sets LB (the executable) and T
# (a scratch folder) and ends with `finish`.
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# expect_refused NAME WANT ARGS...: `$LB ARGS --out $T/never` must exit 2 with exactly one stderr
# line containing WANT, before any work (the output folder never appears).
expect_refused() {
  local name=$1 want=$2
  shift 2
  "$LB" "$@" --out "$T/never" > "$T/out" 2> "$T/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q -- "$want" "$T/err" && [ ! -e "$T/never" ]; then
    ok "$name"
  else
    bad "$name (rc=$rc: $(cat "$T/err"))"
  fi
}
finish() {
  rm -rf "$T"
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
