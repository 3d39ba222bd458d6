# unittest_counts LOG STATUS: prints "passed failed" from the summary of `python3 -m unittest`
# ("Ran N tests in Xs", then "OK (skipped=1)" or "FAILED (failures=1, errors=2)"). A run that ends
# without a summary (it crashed, or python3 is missing), or red with nothing counted, fails once.
unittest_counts() {
  local log=$1 status=$2 ran summary
  ran=$(sed -n -E 's/^Ran ([0-9]+) tests? in .*/\1/p' "$log" | tail -n 1)
  summary=$(grep -E '^(OK|FAILED)( \(.*\))?$' "$log" | tail -n 1)
  if [ -z "$ran" ] || [ -z "$summary" ]; then echo "0 1"; return; fi
  _unittest_count() { local n; n=$(sed -n -E "s/.*(\\(|, )$1=([0-9]+).*/\\2/p" <<<"$summary"); echo "${n:-0}"; }
  local failures errors skipped expected unexpected bad
  failures=$(_unittest_count failures); errors=$(_unittest_count errors); skipped=$(_unittest_count skipped)
  expected=$(_unittest_count 'expected failures'); unexpected=$(_unittest_count 'unexpected successes')
  bad=$((failures + errors + unexpected))
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  echo "$((ran - failures - errors - skipped - expected - unexpected)) $bad"
}
