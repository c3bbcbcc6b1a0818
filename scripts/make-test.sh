#!/usr/bin/env bash
# make test, ordered so that the two cores are seldom idle. Most of a run is compiling, and the
# rest mostly waits (the chaos rollout waits out simulated IAM propagation and hung requests,
# the demo stories wait on Lambda sandboxes, tests wait on deadlines), so:
#
#   1. the packaging check (its own profile and target directories, so it shares no cargo lock
#      with the debug build) starts at once, at the lowest priority: it takes the CPU the rest
#      leaves idle, and finishes last, alone, only what is left of it;
#   2. lint, then every debug binary and test binary is built once, and the docs are checked
#      against them;
#   3. the Rust tests run beside the chaos rollout, the demo stories, the deployment checks
#      against moto and the template checks.
#
# Each part beside the tests keeps its output, shown when it fails. A failure ends the run and
# stops the parts still going.
set -euo pipefail

: "${BINS:?the binaries the demo and the deploy checks run, as the Makefile passes them}"
logs=$(mktemp -d)
names=() pids=() # every part, in the order it started; a finished part's PID is cleared
stop_all() {
  # A part not yet in its own group (started an instant ago) is stopped by its PID.
  for pid in "${pids[@]}"; do
    [ -z "$pid" ] || kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap stop_all EXIT
trap 'exit 130' INT TERM # interrupted: stop the parts in the background too

# Runs a command as a process group of its own, in this session: the EXIT trap stops a part with
# its children by group, and an interrupt from the terminal reaches only this script and its
# foreground command. Not setsid: a new session is a new scheduling autogroup on Linux, where
# nice means nothing against the rest of the run (measured here: a CPU-bound part under nice 19
# took a third of the CPU from the foreground in a session of its own, and nothing in this one;
# a cold make test took 12:53 with setsid, 11:43 without). Not set -m: under job control the
# terminal's interrupt reaches the foreground command alone, and the script goes on.
in_own_group() {
  exec python3 -c 'import os, sys; os.setpgid(0, 0); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

beside() { # beside NAME COMMAND...: runs a part in the background, its output kept
  local name=$1
  shift
  in_own_group "$@" >"$logs/${#pids[@]}" 2>&1 &
  names+=("$name") pids+=($!)
}
finish_all() { # waits for every part; shows the output of each that failed
  local i failed=0
  for i in "${!pids[@]}"; do
    if wait "${pids[i]}"; then
      echo "${names[i]}: ok"
    else
      echo "${names[i]} failed:"
      cat "$logs/$i"
      failed=1
    fi
    pids[i]=
  done
  return "$failed"
}

beside package-check nice -n 19 make --no-print-directory package-check

make --no-print-directory lint
cargo build --quiet --locked $BINS
cargo test --workspace --locked --no-run --quiet
python3 scripts/check-docs.py

chaos_test=a_rollout_under_fire_fails_no_stack_and_registers_each_role_once
beside "chaos test" cargo test --locked --quiet -p vbaws-demo --test it -- --exact "chaos::$chaos_test"
beside "make demo-check" make --no-print-directory demo-check
beside "make deploy-check" make --no-print-directory deploy-check
beside "make templates" make --no-print-directory templates

status=0
cargo test --workspace --locked -- --skip "$chaos_test" || status=$?
finish_all || status=1
exit "$status"
