#!/usr/bin/env python3
"""One feature set for every debug build of `make test` and `make demo`.

    scripts/feature-sets.py -p PACKAGE ...

Cargo builds a package once per distinct set of enabled features. `cargo test --workspace`
resolves features with the dev-dependencies; `cargo build -p …` of the binaries that the demo
and the deploy checks run resolves them without. Where the two differ, the package and
everything that depends on it is compiled twice (for tokio, the whole AWS SDK). This compares
both resolutions, as `cargo tree` reports them, for every package the two builds share, and
names each difference with its fix. Exit 1 when there is one.
"""

import re
import subprocess
import sys

LINE = re.compile(r"^(\S+) v(\S+)(?: \([^)]*\))? \[([^\]]*)\]")


def features(*args):
    done = subprocess.run(["cargo", "tree", "--locked", "--prefix", "none", "-f", "{p} [{f}]", *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cargo tree {' '.join(args)} failed:\n{done.stderr}")
    found = {}
    for line in done.stdout.splitlines():
        match = LINE.match(line)
        if match:
            name, version, enabled = match.groups()
            found[(name, version)] = set(filter(None, enabled.split(",")))
    return found


packages = sys.argv[1:]
tests = features("--workspace", "-e", "normal,build,dev")
binaries = features(*packages, "-e", "normal,build")
problems = []
for (name, version), enabled in sorted(binaries.items()):
    wanted = tests.get((name, version))
    if wanted is not None and wanted != enabled:
        missing = sorted(wanted - enabled)
        extra = sorted(enabled - wanted)
        problems.append(f"{name} {version}: the tests build it with {', '.join(missing) or 'nothing'} more "
                        f"and {', '.join(extra) or 'nothing'} less than `cargo build {' '.join(packages)}`")
if problems:
    print("These packages would be built twice, once for the tests and once for the binaries:")
    for problem in problems:
        print(f"  {problem}")
    print("Declare the tests' features in crates/tools/vbaws-testkit/Cargo.toml's [dependencies], which "
          "every such build includes.")
    sys.exit(1)
print(f"one feature set: the {len(binaries)} packages of `cargo build {' '.join(packages)}` "
      "are built as the tests build them")
