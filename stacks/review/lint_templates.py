#!/usr/bin/env python3
"""Runs cfn-lint over the synthesized CloudFormation templates: both stacks, in every snapshot
configuration (each stage, and prod with every option switched on), and prints a table of
findings. Rules the project acknowledges are ignored in .cfnlintrc.yaml at the repo
root, each with its reason. Exits 1 on any finding.

    sentiment lint-templates               # synthesize now, then lint
    sentiment lint-templates --snapshots   # lint the committed tests/snapshots/ (no synthesis)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sentiment.paths import ROOT

CONFIG_FILE = ROOT / ".cfnlintrc.yaml"


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    template: str
    line: int
    message: str


def lint(paths: list[Path]) -> list[Finding]:
    """cfn-lint's findings for these template files, read with the project's .cfnlintrc.yaml.
    One process for all of them: most of cfn-lint's time is loading its schemas."""
    command = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
               "--config-file", str(CONFIG_FILE), "--format", "json",
               "--", *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    # cfn-lint's exit status is a bit mask of the levels found (2 error, 4 warning, 8 info);
    # anything else, or output that is not JSON, means it did not run.
    try:
        reported = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"cfn-lint failed ({result.returncode}): {result.stderr[-2000:]}") from None
    return [Finding(rule=item["Rule"]["Id"], level=item["Level"], template=item["Filename"],
                    line=item["Location"]["Start"]["LineNumber"], message=item["Message"])
            for item in reported]


def table(findings: list[Finding]) -> str:
    if not findings:
        return "cfn-lint: no findings"
    counts = Counter((finding.rule, finding.level) for finding in findings)
    first = {}
    for finding in findings:
        first.setdefault((finding.rule, finding.level), finding)
    rows = [("rule", "level", "count", "first occurrence")]
    for key, count in sorted(counts.items()):
        example = first[key]
        rows.append((key[0], key[1], str(count),
                     f"{Path(example.template).name}:{example.line} {example.message[:100]}"))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"
                     for row in rows)


def synthesized_templates(workdir: Path) -> list[Path]:
    """Both stacks in every snapshot configuration, written under workdir/<configuration>/."""
    from stacks.review.snapshot import CONFIGURATIONS, synthesize

    paths = []
    for configuration, overrides in CONFIGURATIONS.items():
        for stack, template in synthesize(overrides, workdir / configuration).items():
            path = workdir / configuration / f"{stack}.template.json"
            path.write_text(json.dumps(template, indent=1))
            paths.append(path)
    return paths


def snapshot_templates() -> list[Path]:
    """Every committed snapshot template (tests/snapshots/<configuration>/<stack>.template.json)."""
    from stacks.review.snapshot import SNAPSHOT_DIR

    return sorted(SNAPSHOT_DIR.glob("*/*.template.json"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", action="store_true",
                        help="lint the committed tests/snapshots/ instead of synthesizing")
    args = parser.parse_args(argv)
    if args.snapshots:
        findings = lint(snapshot_templates())
    else:
        with tempfile.TemporaryDirectory() as workdir:
            findings = lint(synthesized_templates(Path(workdir)))
    print(table(findings))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
