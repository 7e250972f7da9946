"""The serving container as an abstraction, as generative-ai-cdk-constructs does with ``ContainerImage.bind``.

- :meth:`ServingImage.tgi_1_1` (the default): Hugging Face TGI 1.1 from the AWS Deep Learning Containers account
  of the deploy region (a CloudFormation mapping of the SageMaker SDK's own table, the runtime's ``tgi_images``).
- :meth:`ServingImage.from_ecr_repository`: a TGI 1.1 image the team mirrors or patches in its own ECR
  repository; pull rights on that repository go to the model's execution role.

Either way the container must speak TGI 1.1's HTTP API with the token limits the endpoint sets: the invoke proxy
validates requests against those limits (``MAX_INPUT_LENGTH``, ``MAX_TOTAL_TOKENS``), which do not change with the
image.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Aws, CfnMapping, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._lambda import tgi_images
from ._validation import ConfigurationError, is_unresolved
from .regions import check_tgi_region

if TYPE_CHECKING:  # types only
    from aws_cdk import aws_ecr as ecr

# A Docker image tag (distribution/reference grammar: `[\w][\w.-]{0,127}`), which ECR tags follow.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ServingImageConfig:
    """What a bound image gives the model: the URI SageMaker pulls."""

    image_uri: str


class ServingImage(ABC):
    """The container SageMaker runs for the model: TGI 1.1 by default, or your own copy of it in ECR."""

    @staticmethod
    def tgi_1_1() -> ServingImage:
        """Hugging Face TGI 1.1 (``huggingface-pytorch-tgi-inference:2.0.1-tgi1.1.0-gpu-py39-cu118-ubuntu20.04``)
        from the deploy region's AWS Deep Learning Containers account. The default."""
        return _Tgi11()

    @staticmethod
    def from_ecr_repository(repository: ecr.IRepository, tag: str) -> ServingImage:
        """A TGI 1.1 image in your own ECR repository (mirrored, scanned or patched), pulled by ``tag``.

        The execution role is granted pull on ``repository`` only (and ``ecr:GetAuthorizationToken``, which has no
        resource). A repository of another account must also allow the role in its repository policy.
        """
        if not is_unresolved(tag) and not _TAG.match(tag):
            raise ConfigurationError(
                f"image tag {tag!r} is not a valid image tag: up to 128 letters, digits, '_', '.' and '-', not "
                "starting with '.' or '-'",
                prop="image",
            )
        return _EcrImage(repository, tag)

    def check_region(self, scope: Construct) -> None:  # noqa: B027 - an image of your own is wherever you put it
        """Refuse a pinned region the image is not published in (and guard region-agnostic templates)."""

    @abstractmethod
    def bind(self, scope: Construct, grantable: iam.IGrantable) -> ServingImageConfig:
        """Grant ``grantable`` (the model's execution role) what pulling the image takes; return its URI."""


class _Tgi11(ServingImage):
    def check_region(self, scope: Construct) -> None:
        check_tgi_region(scope)

    def bind(self, scope: Construct, grantable: iam.IGrantable) -> ServingImageConfig:
        image_account = CfnMapping(
            scope,
            "TgiImageAccounts",
            mapping={
                region: {"account": account} for region, account in tgi_images.ECR_ACCOUNT_BY_REGION.items()
            },
        ).find_in_map(Aws.REGION, "account")
        repository_arn = Stack.of(scope).format_arn(
            service="ecr", account=image_account, resource="repository", resource_name=tgi_images.REPOSITORY
        )
        principal = grantable.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullTgiImage",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[repository_arn],
            )
        )
        return ServingImageConfig(
            f"{image_account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{tgi_images.REPOSITORY}:{tgi_images.TAG}"
        )


class _EcrImage(ServingImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self.repository = repository
        self.tag = tag

    def bind(self, scope: Construct, grantable: iam.IGrantable) -> ServingImageConfig:
        # aws-cdk-lib's grant: BatchCheckLayerAvailability, GetDownloadUrlForLayer and BatchGetImage on this
        # repository, GetAuthorizationToken on * (it takes no resource).
        self.repository.grant_pull(grantable)
        return ServingImageConfig(self.repository.repository_uri_for_tag(self.tag))
