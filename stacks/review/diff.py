"""`sentiment diff`: what a change does to the infrastructure, read from the templates.

Synthesizes the current templates (as `sentiment snapshot` does, hashes normalized) and compares
them with tests/snapshots/ at a git ref (default: the merge base with main), per configuration
and stack: resources added, removed, replaced (with the property that forces it) and changed.
Security-relevant changes come first: IAM statements, security group rules, bucket and topic
policies, public access settings.

    sentiment diff                   # against the merge base with main
    sentiment diff --base HEAD~1 --markdown
    sentiment diff --base HEAD --configuration prod -c waf=true       # what a -c setting would change
    sentiment diff --configuration prod --base-context canary=false  # what turning the canary on changes

Exit status: 0 when nothing changed, 1 when something did, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sentiment.paths import ROOT

# Properties whose change makes CloudFormation replace the resource (a new physical resource,
# the old one deleted), from the CloudFormation resource reference ("Update requires:
# Replacement") for the types these stacks use. "*" means every property but Tags.
REPLACEMENT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::SageMaker::Model": ("*",),
    "AWS::SageMaker::EndpointConfig": ("*",),
    "AWS::SageMaker::Endpoint": ("EndpointName",),
    "AWS::S3::Bucket": ("BucketName", "ObjectLockEnabled"),
    "AWS::IAM::Role": ("RoleName", "Path"),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "Path"),
    "AWS::Lambda::Function": ("FunctionName", "PackageType"),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::CloudWatch::Alarm": ("AlarmName",),
    "AWS::CloudWatch::Dashboard": ("DashboardName",),
    "AWS::SNS::Topic": ("TopicName", "FifoTopic"),
    "AWS::KMS::Key": ("KeySpec", "KeyUsage", "MultiRegion"),
    "AWS::WAFv2::WebACL": ("Name", "Scope"),
    "AWS::ApiGateway::Stage": ("StageName", "RestApiId"),
    "AWS::ApiGateway::Deployment": ("RestApiId",),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "StateMachineType"),
    # The training job's handler: a new JobName is a new physical id, so a new training job.
    "Custom::SageMakerTrainingJob": ("JobName",),
}
# Where policy documents sit, per type: (label, path of keys) pairs.
POLICY_DOCUMENTS: dict[str, tuple[tuple[str, tuple], ...]] = {
    "AWS::IAM::Policy": (("policy", ("PolicyDocument",)),),
    "AWS::IAM::ManagedPolicy": (("policy", ("PolicyDocument",)),),
    "AWS::IAM::Role": (("trust policy", ("AssumeRolePolicyDocument",)),),
    "AWS::S3::BucketPolicy": (("bucket policy", ("PolicyDocument",)),),
    "AWS::SNS::TopicPolicy": (("topic policy", ("PolicyDocument",)),),
    "AWS::SQS::QueuePolicy": (("queue policy", ("PolicyDocument",)),),
    "AWS::KMS::Key": (("key policy", ("KeyPolicy",)),),
}
PUBLIC_ACCESS_PROPERTIES = ("PublicAccessBlockConfiguration", "AccessControl")


@dataclass
class StackDiff:
    name: str
    security: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # outputs, parameters, conditions

    @property
    def empty(self) -> bool:
        return not (self.security or self.added or self.removed or self.replaced or self.changed or self.other)


# Comparison ----------------------------------------------------------------------------------

def compare(name: str, old: dict | None, new: dict | None) -> StackDiff:
    """The differences between two templates of one stack (None: the stack does not exist)."""
    diff = StackDiff(name)
    old_resources = (old or {}).get("Resources", {})
    new_resources = (new or {}).get("Resources", {})
    for logical_id in sorted(old_resources.keys() | new_resources.keys()):
        before, after = old_resources.get(logical_id), new_resources.get(logical_id)
        diff.security.extend(security_changes(logical_id, before, after))
        if before is None:
            diff.added.append(f"{logical_id} ({after['Type']})")
        elif after is None:
            diff.removed.append(f"{logical_id} ({before['Type']})")
        elif before.get("Type") != after.get("Type"):
            diff.replaced.append(f"{logical_id}: type {before.get('Type')} -> {after.get('Type')}")
        else:
            changes = changed_paths(before, after)
            if not changes:
                continue
            forcing = replacement_causes(after["Type"], before.get("Properties", {}), after.get("Properties", {}))
            detail = "; ".join(describe_change(path, a, b) for path, a, b in changes)
            if forcing:
                diff.replaced.append(f"{logical_id} ({after['Type']}), forced by {', '.join(forcing)}: {detail}")
            else:
                diff.changed.append(f"{logical_id} ({after['Type']}): {detail}")
    for section in ("Outputs", "Parameters", "Conditions", "Mappings"):
        before, after = (old or {}).get(section, {}), (new or {}).get(section, {})
        for key in sorted(before.keys() | after.keys()):
            if key not in before:
                diff.other.append(f"{section[:-1]} {key} added")
            elif key not in after:
                diff.other.append(f"{section[:-1]} {key} removed")
            elif before[key] != after[key]:
                diff.other.append(f"{section[:-1]} {key} changed")
    return diff


def replacement_causes(resource_type: str, before: dict, after: dict) -> list[str]:
    forcing = REPLACEMENT_PROPERTIES.get(resource_type, ())
    differing = sorted(key for key in before.keys() | after.keys()
                       if key != "Tags" and before.get(key) != after.get(key))
    if "*" in forcing:
        return differing
    return [key for key in differing if key in forcing]


def changed_paths(before, after, path: str = "") -> list[tuple[str, object, object]]:
    """(path, old, new) for every leaf that differs; lists of different lengths are one leaf."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(before.keys() | after.keys()):
            sub = f"{path}.{key}" if path else key
            if key not in before:
                out.append((sub, None, after[key]))
            elif key not in after:
                out.append((sub, before[key], None))
            else:
                out.extend(changed_paths(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (a, b) in enumerate(zip(before, after)):
            out.extend(changed_paths(a, b, f"{path}[{index}]"))
        return out
    return [] if before == after else [(path, before, after)]


def describe_change(path: str, before, after) -> str:
    path = path.removeprefix("Properties.")
    if before is None:
        return f"{path} added ({short(after)})"
    if after is None:
        return f"{path} removed (was {short(before)})"
    return f"{path} {short(before)} -> {short(after)}"


def short(value, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Security ------------------------------------------------------------------------------------

def security_changes(logical_id: str, before: dict | None, after: dict | None) -> list[str]:
    out = []
    resource_type = (after or before)["Type"]
    for label, old_statement, new_statement in statement_changes(resource_type, before, after):
        sign = "+" if new_statement else "-"
        out.append(f"{sign} {logical_id} {label}: {describe_statement(new_statement or old_statement)}")
    for sign, rule in security_group_changes(resource_type, before, after):
        out.append(f"{sign} {logical_id} security group rule: {short(rule, 160)}")
    if resource_type == "AWS::S3::Bucket":
        for key in PUBLIC_ACCESS_PROPERTIES:
            a = ((before or {}).get("Properties") or {}).get(key)
            b = ((after or {}).get("Properties") or {}).get(key)
            if a != b and before is not None and after is not None:
                out.append(f"! {logical_id} public access: {key} {short(a)} -> {short(b)}")
            elif after is not None and before is None and b is None and key == "PublicAccessBlockConfiguration":
                out.append(f"! {logical_id} public access: new bucket without {key}")
    return out


def statements(resource: dict | None, path: tuple) -> list[dict]:
    node = (resource or {}).get("Properties", {})
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return []
    found = node.get("Statement", [])
    return found if isinstance(found, list) else [found]


def statement_changes(resource_type: str, before, after):
    documents = list(POLICY_DOCUMENTS.get(resource_type, ()))
    if resource_type == "AWS::IAM::Role":
        # Inline policies, by name.
        names = {p.get("PolicyName") for r in (before, after) if r
                 for p in r.get("Properties", {}).get("Policies", [])}
        for name in sorted(n for n in names if n):
            old_doc = next((p["PolicyDocument"] for p in (before or {}).get("Properties", {}).get("Policies", [])
                            if p.get("PolicyName") == name), {})
            new_doc = next((p["PolicyDocument"] for p in (after or {}).get("Properties", {}).get("Policies", [])
                            if p.get("PolicyName") == name), {})
            yield from _statement_set_changes(f"inline policy {name}", old_doc.get("Statement", []),
                                              new_doc.get("Statement", []))
    for label, path in documents:
        yield from _statement_set_changes(label, statements(before, path), statements(after, path))


def _statement_set_changes(label: str, old: list, new: list):
    old_keys = {json.dumps(s, sort_keys=True): s for s in old}
    new_keys = {json.dumps(s, sort_keys=True): s for s in new}
    for key in sorted(old_keys.keys() - new_keys.keys()):
        yield label, old_keys[key], None
    for key in sorted(new_keys.keys() - old_keys.keys()):
        yield label, None, new_keys[key]


def describe_statement(statement: dict) -> str:
    parts = [statement.get("Effect", "?")]
    for key in ("Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"):
        if key in statement:
            parts.append(f"{key} {short(statement[key], 120)}")
    return " ".join(parts)


def security_group_changes(resource_type: str, before, after):
    if resource_type in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        old = [before["Properties"]] if before else []
        new = [after["Properties"]] if after else []
    elif resource_type == "AWS::EC2::SecurityGroup":
        old = [rule for key in ("SecurityGroupIngress", "SecurityGroupEgress")
               for rule in (before or {}).get("Properties", {}).get(key, [])]
        new = [rule for key in ("SecurityGroupIngress", "SecurityGroupEgress")
               for rule in (after or {}).get("Properties", {}).get(key, [])]
    else:
        return
    for _, old_rule, new_rule in _statement_set_changes("", old, new):
        yield ("+", new_rule) if new_rule else ("-", old_rule)


# Report --------------------------------------------------------------------------------------

SECTIONS = (("replaced", "Replaced"), ("removed", "Removed"), ("added", "Added"), ("changed", "Changed"),
            ("other", "Outputs and parameters"))


def report(diffs: list[StackDiff], base: str, markdown: bool) -> str:
    changed = [d for d in diffs if not d.empty]
    lines = []
    if markdown:
        lines.append(f"## Infrastructure diff against `{base}`")
        lines.append("")
        if not changed:
            lines.append("No infrastructure changes.")
        for diff in changed:
            lines.append(f"### {diff.name}")
            lines.append("")
            if diff.security:
                lines.append("**Security** (IAM statements, security groups, policies, public access)")
                lines.append("")
                lines.append("```diff")
                lines.extend(diff.security)
                lines.append("```")
                lines.append("")
            for attribute, title in SECTIONS:
                items = getattr(diff, attribute)
                if items:
                    lines.append(f"**{title}** ({len(items)})")
                    lines.append("")
                    lines.extend(f"- `{item.split(' ', 1)[0]}` {item.split(' ', 1)[1] if ' ' in item else ''}".rstrip()
                                 for item in items)
                    lines.append("")
    else:
        lines.append(f"Infrastructure diff against {base}")
        if not changed:
            lines.append("No infrastructure changes.")
        for diff in changed:
            lines.append("")
            lines.append(f"== {diff.name}")
            if diff.security:
                lines.append("Security (IAM statements, security groups, policies, public access):")
                lines.extend(f"  {item}" for item in diff.security)
            for attribute, title in SECTIONS:
                items = getattr(diff, attribute)
                if items:
                    lines.append(f"{title} ({len(items)}):")
                    lines.extend(f"  {item}" for item in items)
    return "\n".join(lines).rstrip() + "\n"


# Templates -----------------------------------------------------------------------------------

def default_base(root: Path = ROOT) -> str:
    for branch in ("main", "origin/main"):
        result = subprocess.run(["git", "merge-base", "HEAD", branch], cwd=root, capture_output=True, text=True,
                                check=False)
        if result.returncode == 0:
            return result.stdout.strip()
    raise RuntimeError("no merge base with main or origin/main; pass --base REF")


def snapshot_at(ref: str, relative: str, root: Path = ROOT) -> dict | None:
    """A snapshot file as committed at ref, or None when it did not exist there."""
    result = subprocess.run(["git", "show", f"{ref}:{relative}"], cwd=root, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        if "does not exist" in result.stderr or "exists on disk, but not in" in result.stderr:
            return None
        raise RuntimeError(f"git show {ref}:{relative}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def templates_from_dir(directory: Path) -> dict[tuple[str, str], dict]:
    """The same from a folder laid out like tests/snapshots/ (<configuration>/<stack>.template.json)."""
    return {(path.parent.name, path.name.removesuffix(".template.json")): json.loads(path.read_text())
            for path in sorted(Path(directory).glob("*/*.template.json"))}


def diff_against(base: str, current: dict[tuple[str, str], dict], root: Path = ROOT,
                 snapshot_dir: str = "tests/snapshots", configurations: list[str] | None = None) -> list[StackDiff]:
    """The current templates against the snapshots committed at base (only these
    configurations' when given; a stack that exists on one side only is all added or removed)."""
    keys = set(current)
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", base, snapshot_dir + "/"], cwd=root,
                             capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        raise RuntimeError(f"git ls-tree {base}: {listing.stderr.strip()}")
    for line in listing.stdout.splitlines():
        path = Path(line)
        if path.name.endswith(".template.json") and (not configurations or path.parent.name in configurations):
            keys.add((path.parent.name, path.name.removesuffix(".template.json")))
    committed = {(configuration, stack): snapshot_at(base, f"{snapshot_dir}/{configuration}/{stack}.template.json", root)
                 for configuration, stack in keys}
    return diff_templates(committed, current)


def diff_templates(old: dict[tuple[str, str], dict], new: dict[tuple[str, str], dict]) -> list[StackDiff]:
    """Two sets of templates keyed by (configuration, stack), compared stack by stack."""
    return [compare(f"{stack} ({configuration})", old.get((configuration, stack)), new.get((configuration, stack)))
            for configuration, stack in sorted(old.keys() | new.keys())]


def context_pair(text: str) -> tuple[str, str]:
    """KEY=VALUE from the command line, as `cdk -c` takes it."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv=None) -> int:
    from stacks.review.snapshot import CONFIGURATIONS, normalized_templates

    parser = argparse.ArgumentParser(prog="sentiment diff", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="git ref whose tests/snapshots/ to compare with (default: merge base with main)")
    parser.add_argument("--base-context", metavar="KEY=VALUE", type=context_pair, action="append", default=[],
                        help="instead of a git ref, compare with the same configurations synthesized now with "
                             "this context on top (repeatable), e.g. canary=false")
    parser.add_argument("-c", "--context", metavar="KEY=VALUE", type=context_pair, action="append", default=[],
                        help="context on top of each configuration's for the current templates (repeatable), "
                             "as `cdk -c` takes it")
    parser.add_argument("--configuration", choices=sorted(CONFIGURATIONS), action="append",
                        help="compare only this snapshot configuration (repeatable; default: all)")
    parser.add_argument("--markdown", action="store_true", help="GitHub-flavoured markdown (for a job summary)")
    parser.add_argument("--templates", type=Path,
                        help="compare these templates (laid out like tests/snapshots/) instead of synthesizing")
    args = parser.parse_args(argv)
    if args.base and args.base_context:
        parser.error("--base and --base-context each name what to compare with; give one")
    if args.templates and args.context:
        parser.error("--context applies to synthesized templates, not to --templates")
    from stacks.config import ConfigError

    try:
        if args.templates:
            current = templates_from_dir(args.templates)
            if args.configuration:
                current = {key: value for key, value in current.items() if key[0] in args.configuration}
        else:
            current = normalized_templates(args.configuration, dict(args.context))
        if args.base_context:
            base = "the same configurations with " + " ".join(f"{key}={value}" for key, value in args.base_context)
            diffs = diff_templates(normalized_templates(args.configuration, dict(args.base_context)), current)
        else:
            base = args.base or default_base(ROOT)
            diffs = diff_against(base, current, ROOT, configurations=args.configuration)
    except (RuntimeError, ConfigError) as error:
        print(f"sentiment diff: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(report(diffs, base, args.markdown))
    return 0 if all(d.empty for d in diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
