"""cdk-nag acknowledgements for the resources CDK Pipelines generates inside the pipeline stack.

CDK Pipelines creates its roles, projects and artifact bucket in `build_pipeline()`, so these
acknowledgements cannot sit where the resources are declared; they are made right after, on each
generated resource, one finding id at a time, each with its reason. A finding not listed here
(a new grant in a CDK upgrade, a new step) still fails synthesis.
"""
from __future__ import annotations

from aws_cdk import ArnFormat, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.nag import acknowledge, nag_spelling

# CDK's grants on the artifact bucket and its key are S3 and KMS action families.
READ_ARTIFACTS = ("s3:GetBucket*", "s3:GetObject*", "s3:List*")
WRITE_ARTIFACTS = ("s3:Abort*", "s3:DeleteObject*", *READ_ARTIFACTS)
USE_KEY = ("kms:GenerateDataKey*", "kms:ReEncrypt*")


def acknowledge_pipeline_findings(pipeline: pipelines.CodePipeline) -> None:
    """Call after pipeline.build_pipeline()."""
    codepipeline = pipeline.pipeline
    bucket = codepipeline.artifact_bucket
    acknowledge(bucket, id="AwsSolutions-S1",
                reason="The bucket holds only this pipeline's run artifacts (source archive, cloud assembly), read "
                       "and written by its own roles and the stages' deploy roles; access logs would need a "
                       "second bucket and would record only the pipeline's own runs.")
    objects = f"{nag_spelling(bucket, bucket.bucket_arn)}/*"
    # The pipeline, the source action and the synth step write artifacts; the other steps read them.
    (source_role,) = _roles(codepipeline.node.find_child("Source"))
    for role in (codepipeline.role, source_role, pipeline.synth_project.role):
        _artifact_access(role, objects, WRITE_ARTIFACTS + USE_KEY)
    # File assets are published by projects under Assets/, which share one role.
    assets = pipeline.node.try_find_child("Assets")
    for project in _projects(pipeline):
        if assets is not None and project.node.path.startswith(assets.node.path + "/"):
            continue
        _build_logs(project)
        if project.node.path != pipeline.synth_project.node.path:
            _artifact_access(project.role, objects, READ_ARTIFACTS + USE_KEY)
    _self_mutation(pipeline.self_mutation_project.role)
    if assets is not None:
        _asset_publishing(assets.node.find_child("FileRole"), objects)


def _projects(pipeline: pipelines.CodePipeline) -> list[codebuild.Project]:
    return [child for child in pipeline.node.find_all() if isinstance(child, codebuild.Project)]


def _roles(scope: IConstruct) -> list[iam.Role]:
    return [child for child in scope.node.find_all() if isinstance(child, iam.Role)]


def _artifact_access(role: iam.IRole, objects: str, actions: tuple[str, ...]) -> None:
    reason = ("CDK Pipelines' grant on this pipeline's own artifact bucket and its KMS key only: the wildcards "
              "are S3 and KMS action families for reading and writing run artifacts, on that bucket's objects.")
    for action in actions:
        acknowledge(role, id=f"AwsSolutions-IAM5[Action::{action}]", reason=reason)
    acknowledge(role, id=f"AwsSolutions-IAM5[Resource::{objects}]", reason=reason)


def _build_logs(project: codebuild.Project) -> None:
    """CodeBuild's default grant: the project's own log group (its streams) and report groups."""
    stack = Stack.of(project)
    log_group = stack.format_arn(service="logs", resource="log-group", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                 resource_name=f"/aws/codebuild/{project.project_name}")
    report_groups = stack.format_arn(service="codebuild", resource="report-group",
                                     resource_name=f"{project.project_name}-*")
    acknowledge(project.role, id=f"AwsSolutions-IAM5[Resource::{nag_spelling(project, log_group)}:*]",
                reason="The streams of this project's own log group, whose names CodeBuild generates per build.")
    acknowledge(project.role, id=f"AwsSolutions-IAM5[Resource::{nag_spelling(project, report_groups)}]",
                reason="Test report groups of this project only (CodeBuild names them after the project).")


def _self_mutation(role: iam.IRole) -> None:
    account = nag_spelling(role, Stack.of(role).account)
    acknowledge(role, id=f"AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]",
                reason="Self-mutation may assume only roles tagged as the pipeline account's CDK bootstrap roles "
                       "(deploy, file and image publishing: a condition on the aws-cdk:bootstrap-role tag).")
    acknowledge(role, id="AwsSolutions-IAM5[Resource::*]",
                reason="cloudformation:DescribeStacks and s3:ListBucket, read-only calls `cdk deploy` makes "
                       "before it assumes the bootstrap deploy role.")


def _asset_publishing(role: iam.IRole, objects: str) -> None:
    stack = Stack.of(role)
    reason = ("CDK Pipelines' shared asset-publishing role: one role for any asset project, so CodeBuild's "
              "per-project grants (log groups, report groups, builds) name every project; beyond the artifacts "
              "it may only assume the dev and prod accounts' file-publishing bootstrap roles.")
    _artifact_access(role, objects, READ_ARTIFACTS)
    log_groups = stack.format_arn(service="logs", resource="log-group", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                  resource_name="/aws/codebuild/*")
    report_groups = stack.format_arn(service="codebuild", resource="report-group", resource_name="*")
    for resource in ("*", nag_spelling(role, log_groups), nag_spelling(role, report_groups)):
        acknowledge(role, id=f"AwsSolutions-IAM5[Resource::{resource}]", reason=reason)
