#!/usr/bin/env python3
"""Security scanners over the project: bandit on its code, pip-audit on the packages installed in
this environment (requirements.txt and requirements-dev.txt). Acknowledged findings live in
audit.toml, each with a reason.

Fails on any high-severity bandit finding and on any known vulnerability in an installed
package that audit.toml does not acknowledge. pip-audit asks PyPI's JSON API for each package;
where that cannot be reached (an offline machine, or a mirror that serves only package files),
the packages are reported as not audited, loudly, and the step passes unless
--require-vulnerability-data is given.

    sentiment audit
    sentiment audit --require-vulnerability-data     # CI with internet access
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess  # nosec B404 - runs the two scanners from this virtual environment, fixed arguments
import sys
import tomllib
from pathlib import Path

from sentiment.paths import ROOT

CONFIG = ROOT / "audit.toml"
CODE = ["model_code", "lambda", "scripts", "stacks", "app.py"]


def tool(name: str) -> str:
    """The scanner installed next to this interpreter (the project's venv), else on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def run_bandit() -> tuple[bool, str]:
    process = subprocess.run(  # nosec B603 - fixed command line
        [tool("bandit"), "-q", "-r", *CODE, "-c", str(CONFIG), "-f", "json"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        results = json.loads(process.stdout)["results"]
    except (ValueError, KeyError):
        return False, f"bandit: could not run ({(process.stderr or process.stdout).strip()[-300:]})"
    by_severity = {level: [r for r in results if r["issue_severity"] == level] for level in ("HIGH", "MEDIUM", "LOW")}
    lines = [(f"bandit: {len(by_severity['HIGH'])} high, {len(by_severity['MEDIUM'])} medium, "
             f"{len(by_severity['LOW'])} low findings in {', '.join(CODE)}")]
    for finding in by_severity["HIGH"] + by_severity["MEDIUM"]:
        lines.append(f"  {finding['issue_severity'].lower()} {finding['test_id']} {finding['filename']}:"
                     f"{finding['line_number']} {finding['issue_text']}")
    return not by_severity["HIGH"], "\n".join(lines)


def acknowledged_vulnerabilities(config: dict) -> dict[str, str]:
    entries = config.get("pip-audit", {}).get("ignore", [])
    missing = [entry for entry in entries if not str(entry.get("reason", "")).strip()]
    if missing:
        raise SystemExit(f"error: {CONFIG.name}: every [pip-audit] ignore needs a reason: {missing}")
    return {entry["id"]: entry["reason"] for entry in entries}


def summarize_pip_audit(report: dict, acknowledged: dict[str, str], require_data: bool) -> tuple[bool, str]:
    """(passed, text) from pip-audit's JSON report."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    found = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
    unacknowledged = [(n, ver, v) for n, ver, v in found
                      if v["id"] not in acknowledged and not set(v.get("aliases", [])) & set(acknowledged)]
    lines = [(f"pip-audit: {len(audited)} of {len(dependencies)} installed packages audited, "
             f"{len(found)} known vulnerabilities ({len(found) - len(unacknowledged)} acknowledged in {CONFIG.name})")]
    for name, version, vulnerability in unacknowledged:
        fixes = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed version yet"
        lines.append(f"  {name} {version}: {vulnerability['id']} (fixed in {fixes})")
    passed = not unacknowledged
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        lines.append(f"  WARNING: {len(skipped)} packages were NOT audited ({'; '.join(reasons)}).")
        if len(skipped) == len(dependencies):
            lines.append("  WARNING: pip-audit could not reach its vulnerability data (PyPI's JSON API): "
                         "dependency vulnerabilities were not checked on this machine.")
        if require_data:
            passed = False
    return passed, "\n".join(lines)


def not_checked(reason: str) -> str:
    return (f"pip-audit: WARNING: could not run or reach its vulnerability data ({reason[:300]}); "
            "dependency vulnerabilities were NOT checked.")


def run_pip_audit(acknowledged: dict[str, str], require_data: bool) -> tuple[bool, str]:
    command = [tool("pip-audit"), "--progress-spinner", "off", "--format", "json"]
    for vulnerability_id in acknowledged:
        command += ["--ignore-vuln", vulnerability_id]
    try:
        process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,  # nosec B603 - fixed command line
                                 timeout=600, check=False)
        report = json.loads(process.stdout)
    except (subprocess.TimeoutExpired, OSError) as error:
        return not require_data, not_checked(str(error))
    except ValueError:  # no JSON: pip-audit stopped with an error (e.g. no network at all)
        return not require_data, not_checked((process.stderr.strip().splitlines() or ["no output"])[-1])
    return summarize_pip_audit(report, acknowledged, require_data)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--require-vulnerability-data", action="store_true",
                        help="fail when pip-audit cannot check every installed package (default: warn)")
    parser.add_argument("--skip-pip-audit", action="store_true", help="run bandit only (no network)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    bandit_ok, bandit_text = run_bandit()
    print(bandit_text, flush=True)
    pip_ok = True
    if not args.skip_pip_audit:
        pip_ok, pip_text = run_pip_audit(acknowledged_vulnerabilities(config), args.require_vulnerability_data)
        print(pip_text, flush=True)
    print("audit: " + ("passed" if bandit_ok and pip_ok else "FAILED"))
    return 0 if bandit_ok and pip_ok else 1


if __name__ == "__main__":
    sys.exit(main())
