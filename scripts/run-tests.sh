#!/usr/bin/env bash
# make test's test run. Every test binary is built once, first; then the two parts that mostly
# wait (the chaos rollout waits out simulated IAM propagation and hung requests, the demo
# stories wait on Lambda sandboxes) run beside the other tests rather than after them. Their
# output is kept, and shown when they fail.
set -euo pipefail

cargo test --workspace --locked --no-run --quiet
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

chaos_test=a_rollout_under_fire_fails_no_stack_and_registers_each_role_once
cargo test --locked --quiet -p vbaws-demo --test it -- --exact "chaos::$chaos_test" >"$logs/chaos" 2>&1 &
chaos=$!
make --no-print-directory demo-check >"$logs/demo-check" 2>&1 &
demo=$!

status=0
cargo test --workspace --locked -- --skip "$chaos_test" || status=$?
for part in "chaos test:$chaos:chaos" "make demo-check:$demo:demo-check"; do
  IFS=: read -r name pid log <<<"$part"
  if wait "$pid"; then
    echo "$name: ok"
  else
    echo "$name failed:"
    cat "$logs/$log"
    status=1
  fi
done
exit "$status"
