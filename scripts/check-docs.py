#!/usr/bin/env python3
"""The docs still describe the project: every relative link and anchor of README.md, docs/ and
the crates' READMEs leads somewhere, every `make <target>` they show is a Makefile target, and
every `--flag` they show after one of the project's commands is one that command takes (its
`--help`, from target/debug: run after the build).

    scripts/check-docs.py
"""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("crates/*/*/README.md"))]
# The commands whose flags the docs show; vbaws-resolve takes positional arguments only.
COMMANDS = ["vbaws-reconcile", "vbaws-preflight", "vbaws-netcheck", "vbaws-demo", "vbaws-sim", "vbaws-bench"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces as -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def prose_and_code(text):
    """The text outside fenced blocks, and every piece of code (fenced lines, code spans)."""
    prose, code, fenced = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        (code if fenced else prose).append(line)
    prose_text = "\n".join(prose)
    return prose_text, code + CODE_SPAN.findall(prose_text)


def anchors(path):
    prose, _ = prose_and_code(path.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", prose, re.M)}


def targets():
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, re.M))


def flags(command):
    binary = ROOT / "target" / "debug" / command
    if not binary.exists():
        sys.exit(f"{binary} is missing: build the workspace first (make test does)")
    done = subprocess.run([str(binary), "--help"], capture_output=True, text=True)
    return set(re.findall(r"--[a-z][a-z0-9-]*", done.stdout))


problems = []
make_targets = targets()
known = {command: flags(command) for command in COMMANDS}
anchor_cache = {}
for page in PAGES:
    text = page.read_text()
    prose, code = prose_and_code(text)
    name = page.relative_to(ROOT)
    for target in LINK.findall(prose):
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            problems.append(f"{name}: the link {target} leads to no file")
            continue
        if anchor and linked.suffix == ".md":
            found = anchor_cache.setdefault(linked, anchors(linked))
            if anchor not in found:
                problems.append(f"{name}: the link {target}: {linked.relative_to(ROOT)} has no heading #{anchor}")
    for piece in code:
        for target in re.findall(r"\bmake ([a-z][a-z-]*)", piece):
            if target not in make_targets:
                problems.append(f"{name}: `make {target}` is no Makefile target")
        for command, accepted in known.items():
            for after in re.findall(rf"\b{command}\b(.*)", piece):
                for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", after):
                    if flag not in accepted:
                        problems.append(f"{name}: `{command} {flag}`: {command} takes no {flag}")
if problems:
    print("\n".join(sorted(set(problems))))
    sys.exit(1)
print(f"docs: {len(PAGES)} pages, every link, anchor, make target and flag they show exists")
