#!/usr/bin/env bash
# make bench-build: what a newcomer waits for, measured on a fresh clone of the last commit on
# this machine, and written into bench/RESULTS.md ("The build"):
#
#   1. a cold `make demo` (no target/, no .venv: everything installed and built);
#   2. a cold `make test` (target/ removed again; .venv kept);
#   3. the size of target/ after it;
#   4. a warm `make test` after one function crate was touched.
#
# The crate registry and pip's cache are this machine's, as on any machine that built once.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$root" "$work/clone"
cd "$work/clone"
commit=$(git rev-parse --short HEAD)

# Runs a command quietly and prints how many seconds it took; on failure, its last lines.
timed() {
  local start=$SECONDS
  if ! "$@" >"$work/log" 2>&1; then
    tail -40 "$work/log" >&2
    echo "$* failed (above); nothing written" >&2
    exit 1
  fi
  echo $((SECONDS - start))
}
minutes() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }

echo "measuring a fresh clone of $commit in $work/clone (about half an hour on 2 cores)" >&2
demo=$(timed make demo)
rm -rf target
test=$(timed make test)
size=$(du -sb target | cut -f1)
touch crates/functions/random-ext-id/src/lib.rs
warm=$(timed make test)

gb=$(python3 -c "print(f'{$size / 1e9:.1f}')")
section=$(cat <<EOF
## The build

Measured by \`make bench-build\` (scripts/measure-build.sh) on a fresh clone of $commit, $(nproc) cores, $(date -u +%Y-%m-%d).

| What | Measured | Goal |
| --- | --- | --- |
| cold \`make demo\` (no target/, no .venv) | $(minutes "$demo") | at most 8 min |
| cold \`make test\` (no target/) | $(minutes "$test") | at most 12 min |
| target/ after it | $gb GB | at most 5 GB |
| warm \`make test\` after touching \`crates/functions/random-ext-id/src/lib.rs\` | $(minutes "$warm") | at most 2 min |
EOF
)
cd "$root"
SECTION="$section" python3 - bench/RESULTS.md <<'PY'
import os, pathlib, re, sys
path = pathlib.Path(sys.argv[1])
text = path.read_text() if path.exists() else "# Benchmark results\n"
section = os.environ["SECTION"].strip() + "\n"
pattern = re.compile(r"^## The build\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
path.write_text(text.rstrip() + "\n")
PY
echo "$section"
