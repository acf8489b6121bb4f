#!/usr/bin/env bash
# `lowbit run` refuses, before any work and without changing any file: an archive written by a
# newer schema, a different manifest on --resume, an existing archive without --resume, an
# unwritable output path, an impossible configuration (an N:M the layers cannot hold), a group
# size that does not divide the ranks.
source "$(dirname "$0")/lib.bash"
small_manifest "$T/m.yaml"
"$LB" run "$T/m.yaml" --output "$T/a.h5" --only gptq --quiet 2> /dev/null
check "a partial run to start from" '[ -f "$T/a.h5" ]'
sum0=$(md5sum < "$T/a.h5")
refused() {  # refused NAME WANT ARGS... : exit 2, one stderr line containing WANT, archive unchanged
  local name=$1 want=$2; shift 2
  "$@" > "$T/out" 2> "$T/err"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(grep -vc '^\[lowbit\]' "$T/err")" -eq 1 ] && grep -q -- "$want" "$T/err" &&
     [ "$(md5sum < "$T/a.h5")" = "$sum0" ]; then ok "$name"; else bad "$name (rc=$rc: $(cat "$T/err"))"; fi
}
refused "existing archive without --resume" "pass --resume" "$LB" run "$T/m.yaml" --output "$T/a.h5"
sed 's/nsamples: 12/nsamples: 10/' "$T/m.yaml" > "$T/other.yaml"
refused "a different manifest on --resume" "different manifest" "$LB" run "$T/other.yaml" --output "$T/a.h5" --resume
cp "$T/a.h5" "$T/new.h5"
"$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f.attrs['lowbit_schema_version']=99" "$T/new.h5"
sum0=$(md5sum < "$T/new.h5"); cp "$T/new.h5" "$T/a.h5"
refused "an archive of a newer schema" "newer lowbit" "$LB" run "$T/m.yaml" --output "$T/a.h5" --resume
refused "inspect of a newer schema" "newer lowbit" "$LB" inspect "$T/a.h5"
"$LB" run "$T/m.yaml" --output /proc/lowbit-test.h5 > /dev/null 2> "$T/err"
check "an unwritable output path: exit 2, named" '[ $? -eq 2 ] && grep -q "/proc/lowbit-test.h5" "$T/err"'
touch "$T/afile"
"$LB" run "$T/m.yaml" --output "$T/afile/sub/x.h5" > /dev/null 2> "$T/err"
check "an output folder that cannot be created (a file is in the way): exit 2" '[ $? -eq 2 ] && grep -q "cannot create the folder" "$T/err"'
sed 's/    sparsity: \[0.5\]/    nm: ["3:5"]/' "$T/m.yaml" > "$T/g.yaml"
"$LB" run "$T/g.yaml" --output "$T/g.h5" > /dev/null 2> "$T/err"
check "an N:M whose M does not divide a layer: exit 2 before work, every config named" \
  '[ $? -eq 2 ] && grep -q "s.sparsegpt.sp0.5.nm3-5" "$T/err" && grep -q "s.wanda.sp0.5.nm3-5" "$T/err" && [ ! -e "$T/g.h5" ]'
"${MPIRUN[@]}" -np 3 "$LB" run "$T/m.yaml" --output "$T/r3.h5" --group-size 2 > /dev/null 2> "$T/err"
check "group size 2 on 3 ranks: refused on every rank" '[ $? -ne 0 ] && grep -q "does not divide the 3 ranks" "$T/err" && [ ! -e "$T/r3.h5" ]'
"$LB" run "$T/nope.yaml" > /dev/null 2> "$T/err"
check "a missing manifest: exit 2, named" '[ $? -eq 2 ] && grep -q "nope.yaml: no such manifest" "$T/err"'
finish
