"""`sentiment models`: the stage's model registry (a SageMaker model package group) for reviewers.

Every model the training job trains is registered as a version of the group sentiment-<stage>
(stacks/training_job/registry.py): approved at once in dev when it passes the quality gate,
pending a person's approval in prod, rejected with the gate's reason when it fails. Prod deploys
the version its `modelPackageArn` pins, and only once that version is Approved.

    sentiment models list --stage prod --status pending
    sentiment models show 3 --stage prod          # lineage, figures, approval, endpoints serving it
    sentiment models approve 3 --stage prod --reason "short reviews checked by hand"
    sentiment models reject 4 --stage prod --reason "worse than version 3 on short reviews"

A version is its number in the group (--stage or --group) or its ARN. Every approve or reject
also adds an entry to the version's approval history, kept in its CustomerMetadataProperties as
Approval1, Approval2, ... ("<status> <UTC time> by <caller ARN>: <reason>"), and `show` prints that
history oldest first beside the registration and the approval's last change (LastModifiedBy and
LastModifiedTime of DescribeModelPackage, and its ApprovalDescription). Errors (an unknown
version, no credentials, access denied) are one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
from datetime import datetime, timezone

from sentiment.contract import NAME_PREFIX, STAGES
from sentiment.infra.aws_errors import client_error_parts, one_line
from sentiment.paths import ROOT

STATUSES = {"approved": "Approved", "pending": "PendingManualApproval", "rejected": "Rejected"}
# The metadata convention of stacks/training_job/registry.py (package_metadata): the figures'
# keys (each also with the prefix "Baseline" for the baseline's figure) and the lineage keys.
FIGURES = (("ValidationAccuracy", "validation accuracy"),
           ("ShortTextValidationAccuracy", "short-text validation accuracy"),
           ("CalibrationError", "calibration error (ECE)"),
           ("ValidationLoss", "validation loss"))
BASELINE_PREFIX = "Baseline"
LINEAGE = (("TrainingJobName", "training job"), ("DataHash", "data hash"), ("CodeHash", "code hash"),
           ("ImageUri", "image"))
GATE_KEYS = ("QualityGate", "QualityGateReason")
DESCRIPTION_CHARS = 90
# The metadata convention itself, with its cleaning to SageMaker's limits and the approval history.
CONVENTION_FILE = ROOT / "stacks" / "training_job" / "registry.py"


class RegistryError(Exception):
    """A version that cannot be found or changed; one line for the user."""


def sagemaker_client(region: str | None):
    """The one place a client is built (tests replace it with one wrapped in botocore's Stubber)."""
    import boto3

    return boto3.client("sagemaker", region_name=region)


def sts_client(region: str | None):
    import boto3

    return boto3.client("sts", region_name=region)


@functools.cache
def convention():
    """stacks/training_job/registry.py, loaded from its file as the training job's Lambda loads it
    (a standard-library module with no package; this layer does not import the stacks), so the
    history entries are written and cleaned by the same code as the rest of the metadata."""
    spec = importlib.util.spec_from_file_location("sentiment_registry_convention", CONVENTION_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def caller_arn(region: str | None) -> str:
    """Who is changing the version (STS GetCallerIdentity), or 'unknown' when STS will not say."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return sts_client(region).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError):
        return "unknown"


def group_name(stage: str) -> str:
    return f"{NAME_PREFIX}-{stage}"


# Reading the registry -------------------------------------------------------------------------

def list_versions(sagemaker, group: str, status: str | None = None) -> list[dict]:
    """ListModelPackages' summaries of the group, newest first."""
    request = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        request["ModelApprovalStatus"] = status
    pages = sagemaker.get_paginator("list_model_packages").paginate(**request)
    return [summary for page in pages for summary in page.get("ModelPackageSummaryList", [])]


def resolve(sagemaker, target: str, group: str) -> str:
    """The ARN of `target`: an ARN as given, a version number looked up in the group."""
    if target.startswith("arn:"):
        return target
    if not target.isdigit():
        raise RegistryError(f"{target!r} is neither a version number nor a model package ARN")
    versions = list_versions(sagemaker, group)
    for summary in versions:
        if summary.get("ModelPackageVersion") == int(target):
            return summary["ModelPackageArn"]
    known = sorted(summary["ModelPackageVersion"] for summary in versions if "ModelPackageVersion" in summary)
    listing = f"versions {known[0]} to {known[-1]}" if known else "no versions"
    raise RegistryError(f"model package group {group} has no version {target} ({listing})")


def describe(sagemaker, arn: str) -> dict:
    from botocore.exceptions import ClientError

    try:
        return sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if error.response["Error"].get("Code") in ("ValidationException", "ResourceNotFound"):
            raise RegistryError(f"no model package {arn} ({one_line(error.response['Error'].get('Message', ''))})") from None
        raise


def serving_endpoints(sagemaker, package: dict) -> list[dict]:
    """The endpoints of the region whose current configuration runs a model made from the package
    (a container naming it) or from the same model data (the stack builds its model from the
    training job's output): {"endpoint", "status", "variant", "model", "match"} each."""
    arn = package["ModelPackageArn"]
    model_data = {container.get("ModelDataUrl") for container in package["InferenceSpecification"]["Containers"]}
    model_data.discard(None)
    models: dict[str, dict] = {}
    found = []
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        for summary in page.get("Endpoints", []):
            name = summary["EndpointName"]
            config_name = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
            config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            for variant in config.get("ProductionVariants", []):
                model_name = variant["ModelName"]
                if model_name not in models:
                    models[model_name] = sagemaker.describe_model(ModelName=model_name)
                match = container_match(models[model_name], arn, model_data)
                if match:
                    found.append({"endpoint": name, "status": summary.get("EndpointStatus", "?"),
                                  "variant": variant["VariantName"], "model": model_name, "match": match})
    return found


def container_match(model: dict, arn: str, model_data: set[str]) -> str | None:
    containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
    if any(container.get("ModelPackageName") == arn for container in containers):
        return "built from this version"
    if any(container.get("ModelDataUrl") in model_data for container in containers):
        return "same model data"
    return None


# Printing -------------------------------------------------------------------------------------

def when(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value) if value else "?"


def who(context: dict | None) -> str:
    """A UserContext (CreatedBy, LastModifiedBy): the IAM identity, else the Studio user."""
    context = context or {}
    return (context.get("IamIdentity") or {}).get("Arn") or context.get("UserProfileName") or "unknown"


def format_list(group: str, versions: list[dict], status: str | None) -> str:
    which = f" {status}" if status else ""
    if not versions:
        return f"{group}: no{which} versions"
    lines = [f"{group}: {len(versions)}{which} version{'s' if len(versions) != 1 else ''}, newest first",
             f"{'VERSION':<8} {'APPROVAL':<22} {'REGISTERED':<21} DESCRIPTION"]
    for summary in versions:
        text = one_line(summary.get("ModelPackageDescription", ""))
        if len(text) > DESCRIPTION_CHARS:
            text = text[:DESCRIPTION_CHARS - 3] + "..."
        lines.append(f"{summary.get('ModelPackageVersion', '?')!s:<8} {summary.get('ModelApprovalStatus', '?'):<22} "
                     f"{when(summary.get('CreationTime')):<21} {text}")
    return "\n".join(lines)


def format_show(package: dict, endpoints: list[dict] | str) -> str:
    """A reviewer's page on one version: approval, lineage, figures beside the baseline's, and
    the endpoints serving it (or why they are unknown)."""
    metadata = package.get("CustomerMetadataProperties") or {}
    containers = package["InferenceSpecification"]["Containers"]
    status = package.get("ModelApprovalStatus", "?")
    lines = [f"{package.get('ModelPackageGroupName', '?')} version {package.get('ModelPackageVersion', '?')}  "
             f"{package['ModelPackageArn']}",
             f"  registered      {when(package.get('CreationTime'))} by {who(package.get('CreatedBy'))}"]
    if package.get("LastModifiedBy") or package.get("LastModifiedTime"):
        lines.append(f"  approval        {status}, last changed {when(package.get('LastModifiedTime'))} "
                     f"by {who(package.get('LastModifiedBy'))}")
    else:
        lines.append(f"  approval        {status}, as registered")
    if package.get("ApprovalDescription"):
        lines.append(f"  approval note   {one_line(package['ApprovalDescription'])}")
    lines.append(f"  quality gate    {metadata.get('QualityGate', 'not recorded')}")
    # The registration's description is the gate's reason in full; the metadata's copy is cleaned.
    reason = package.get("ModelPackageDescription") or metadata.get("QualityGateReason")
    if reason:
        lines.append(f"  description     {one_line(reason)}")
    lines += ["", "approval history, oldest first",
              f"  registered      {when(package.get('CreationTime'))} by {who(package.get('CreatedBy'))}, "
              f"quality gate {metadata.get('QualityGate', 'not recorded')}"]
    history = convention().approval_history(metadata)
    if history and history[0][0] > 1:
        lines.append(f"  (Approval1 to Approval{history[0][0] - 1} dropped: a version keeps at most "
                     f"{convention().MAX_ENTRIES} metadata entries)")
    lines += [f"  {'Approval' + str(number):<14}  {value}" for number, value in history]
    if not history:
        lines.append("  no approval or rejection recorded by `sentiment models`")
    lines += ["", "lineage"]
    lines += [f"  {label:<14}  {metadata.get(key, 'not recorded')}" for key, label in LINEAGE]
    lines += [f"  {'model data':<14}  {container.get('ModelDataUrl', 'none')}" for container in containers]
    width = max(len(label) for _, label in FIGURES)
    lines += ["", f"{'figures':<{width + 2}}  {'model':>8}  {'baseline':>8}"]
    for key, label in FIGURES:
        model, baseline = metadata.get(key, "-"), metadata.get(BASELINE_PREFIX + key, "-")
        if model != "-" or baseline != "-":
            lines.append(f"  {label:<{width}}  {model:>8}  {baseline:>8}")
    lines += ["", "served by"]
    if isinstance(endpoints, str):
        lines.append(f"  unknown: {endpoints}")
    elif not endpoints:
        lines.append("  no endpoint in this region")
    for item in endpoints if isinstance(endpoints, list) else []:
        lines.append(f"  {item['endpoint']} ({item['status']}), variant {item['variant']}, model {item['model']}: "
                     f"{item['match']}")
    return "\n".join(lines)


# Commands -------------------------------------------------------------------------------------

def list_command(sagemaker, args) -> str:
    status = STATUSES[args.status] if args.status else None
    return format_list(args.group, list_versions(sagemaker, args.group, status), status)


def show_command(sagemaker, args) -> str:
    from botocore.exceptions import ClientError

    package = describe(sagemaker, resolve(sagemaker, args.version, args.group))
    try:
        endpoints: list[dict] | str = serving_endpoints(sagemaker, package)
    except ClientError as error:  # the lineage is still worth printing without the endpoints
        endpoints = client_error_line(error)
    return format_show(package, endpoints)


def set_status(sagemaker, args, status: str) -> str:
    """The version's new status and reason, and the change added to its approval history (the
    oldest entries dropped first when the metadata would pass SageMaker's 50 entries)."""
    arn = resolve(sagemaker, args.version, args.group)
    package = describe(sagemaker, arn)
    reason = args.reason or f"{status.lower()} with `sentiment models {args.command}`"
    metadata = package.get("CustomerMetadataProperties") or {}
    entry = convention().approval_entry(status=status, when=utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                                        by=caller_arn(args.region), note=reason)
    added, dropped = convention().approval_update(metadata, entry)
    if dropped:  # first, so the map never holds more than SageMaker allows
        sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=dropped)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=reason,
                                   CustomerMetadataProperties=added)
    lines = [f"{package.get('ModelPackageGroupName', '?')} version {package.get('ModelPackageVersion', '?')}: "
             f"{package.get('ModelApprovalStatus', '?')} -> {status} ({reason})",
             f"recorded as {next(iter(added))}: {entry}"]
    if dropped:
        lines.append(f"note: a version keeps at most {convention().MAX_ENTRIES} metadata entries, so the oldest "
                     f"approval history entr{'ies' if len(dropped) > 1 else 'y'} went: {', '.join(dropped)}")
    if status == "Approved" and metadata.get("QualityGate") == "failed":
        lines.append(f"note: this version failed the quality gate: {one_line(package.get('ModelPackageDescription', ''))}")
    return "\n".join(lines)


def client_error_line(error) -> str:
    operation, code, message = client_error_parts(error)
    if code in ("AccessDenied", "AccessDeniedException"):
        return f"access denied to {operation}: {message}"
    return f"{operation}: {code}: {message}"


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sentiment models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--stage", choices=STAGES, default="dev",
                       help=f"the stage whose group ({NAME_PREFIX}-<stage>) to use (default: dev)")
    where.add_argument("--group", help="a model package group by name, instead of --stage")
    common.add_argument("--region", help="AWS region (default: the SDK's configuration)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,show,approve,reject}")
    listing = commands.add_parser("list", parents=[common], help="the group's versions, newest first",
                                  description="The group's versions, newest first, with approval and description.")
    listing.add_argument("--status", choices=sorted(STATUSES),
                         help="only versions with this approval status (pending: PendingManualApproval)")
    for name, summary in (("show", "lineage, figures, approval and serving endpoints of a version"),
                          ("approve", "set a version to Approved"), ("reject", "set a version to Rejected")):
        command = commands.add_parser(name, parents=[common], help=summary, description=summary[0].upper() + summary[1:] + ".")
        command.add_argument("version", metavar="VERSION_OR_ARN", help="a version number in the group, or a model package ARN")
        if name != "show":
            command.add_argument("--reason", required=name == "reject",
                                 help="why (the version's ApprovalDescription)" + ("" if name == "reject" else
                                                                                  "; default: says it was approved here"))
    args = parser.parse_args(argv)
    args.group = args.group or group_name(args.stage)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    handlers = {"list": list_command, "show": show_command,
                "approve": lambda client, a: set_status(client, a, "Approved"),
                "reject": lambda client, a: set_status(client, a, "Rejected")}
    try:
        print(handlers[args.command](sagemaker_client(args.region), args))
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("error: no AWS credentials (set AWS_PROFILE, or run `aws configure` or `aws sso login`)", file=sys.stderr)
        return 2
    except NoRegionError:
        print("error: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return 2
    except ClientError as error:
        print(f"error: {client_error_line(error)}", file=sys.stderr)
        return 2
    except BotoCoreError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
