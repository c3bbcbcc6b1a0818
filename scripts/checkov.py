"""make templates: checkov's findings on template/ against template/rules/checkov-exceptions.yaml.

Fails on a finding the file does not list (fix it, or list it with why it stays) and on an entry
that matches no finding any more (remove it), so the file is always the whole list.
"""

import json
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
run = subprocess.run([str(pathlib.Path(sys.executable).parent / "checkov"), "-d", str(ROOT / "template"),
                      "--framework", "cloudformation", "-o", "json", "--quiet"],
                     capture_output=True, text=True)
try:
    results = json.loads(run.stdout)
except json.JSONDecodeError:
    sys.exit(f"checkov did not answer in JSON (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
found = {(f["file_path"].strip("/"), f["check_id"], f["resource"].split(".", 1)[1])
         for f in (results.get("results", {}).get("failed_checks", []) if isinstance(results, dict) else [])}
listed = {(e["template"], e["check"], resource)
          for e in yaml.safe_load((ROOT / "template" / "rules" / "checkov-exceptions.yaml").read_text())
          for resource in e["resources"]}
unlisted, stale = sorted(found - listed), sorted(listed - found)
for template, check, resource in unlisted:
    print(f"checkov: {template} {resource} fails {check}: fix it, or list it in template/rules/checkov-exceptions.yaml with why")
for template, check, resource in stale:
    print(f"checkov: {template} {resource} no longer fails {check}: remove it from template/rules/checkov-exceptions.yaml")
print(f"checkov: {len(found)} findings, each listed with why it stays" if not unlisted and not stale else "")
sys.exit(1 if unlisted or stale else 0)
