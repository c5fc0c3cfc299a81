"""The role SageMaker assumes for the training job and the endpoint, with nothing more than they use."""
from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.images import DlcImage
from stacks.nag import acknowledge, nag_spelling


class SageMakerRole(Construct):
    def __init__(self, scope: Construct, id_: str, *, images: list[DlcImage]) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.iam_role = iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker training job and endpoint of the sentiment service",
        )
        self.iam_role.add_to_policy(iam.PolicyStatement(
            sid="PullDeepLearningContainers",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=sorted({image.repository_arn(stack) for image in images}),
        ))
        self.iam_role.add_to_policy(iam.PolicyStatement(
            sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        self.iam_role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                     "logs:DescribeLogStreams"],
            resources=[f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/*"],
        ))
        self.iam_role.add_to_policy(iam.PolicyStatement(
            sid="PublishOwnMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
        ))
        acknowledge(self.iam_role, id="AwsSolutions-IAM5[Resource::*]",
                    reason="ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource "
                           "scoping; the metrics statement is limited to SageMaker's namespaces.")
        acknowledge(self.iam_role,
                    id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
                       "<AWS::AccountId>:log-group:/aws/sagemaker/*]",
                    reason="SageMaker names its log groups per job type under /aws/sagemaker/ "
                           "(TrainingJobs, Endpoints/<name>); the role may write only there.")

    @property
    def policy(self) -> iam.Policy:
        """The role's inline policy: what a resource that needs the permissions depends on (the
        role itself is already a dependency through its ARN)."""
        return self.iam_role.node.find_child("DefaultPolicy")

    def allow_read_prefix(self, bucket: s3.IBucket, prefix: str) -> None:
        """List and read everything under prefix (a training channel)."""
        self.iam_role.add_to_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}))
        self.iam_role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{prefix}*")]))
        acknowledge(self.iam_role, id=f"AwsSolutions-IAM5[Resource::{nag_object_arn(bucket, prefix)}]",
                    reason="A training channel is a whole prefix, named after the dataset's hash.")

    def allow_write_prefix(self, bucket: s3.IBucket, prefix: str) -> None:
        """Write objects under prefix (training output)."""
        self.iam_role.add_to_policy(iam.PolicyStatement(
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[bucket.arn_for_objects(f"{prefix}*")]))
        acknowledge(self.iam_role, id=f"AwsSolutions-IAM5[Resource::{nag_object_arn(bucket, prefix)}]",
                    reason="SageMaker writes each job's output under a folder named after the job.")

    def allow_vpc(self) -> None:
        """What SageMaker needs to place a training job or a model's containers in the company's
        subnets: it creates, describes and deletes their network interfaces as this role."""
        self.iam_role.add_to_policy(iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                     "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
                     "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                     "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            resources=["*"]))
        acknowledge(self.iam_role, id="AwsSolutions-IAM5[Resource::*]",
                    reason="SageMaker's VPC placement: the interfaces it creates have ids only known then, "
                           "and the Describe actions accept no resource.")

    def allow_read_object(self, object_arn: str) -> None:
        self.iam_role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[object_arn]))

    def allow_read_asset(self, asset: s3_assets.Asset) -> None:
        self.allow_read_object(
            f"arn:{Aws.PARTITION}:s3:::{asset.s3_bucket_name}/{asset.s3_object_key}")


def nag_object_arn(bucket: s3.IBucket, prefix: str) -> str:
    """How cdk-nag spells `<bucket ARN>/<prefix>*` in a finding's id."""
    return nag_spelling(bucket, bucket.arn_for_objects(f"{prefix}*"))

