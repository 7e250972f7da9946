"""Which Mistral 7B weights an endpoint serves, and where they live in S3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from ._validation import ConfigurationError, is_unresolved
from .defaults import DEFAULTS

if TYPE_CHECKING:  # types only: importing the module costs synth time
    from aws_cdk import aws_s3 as s3

#: Prompt formats the invoke proxy knows: the chat routes need the Instruct template.
PROMPT_FORMAT_INSTRUCT = DEFAULTS.prompt_format
PROMPT_FORMAT_NONE = "none"

#: Mistral 7B's context window: TGI's MAX_TOTAL_TOKENS can be no larger.
MISTRAL_7B_MAX_TOTAL_TOKENS = DEFAULTS.max_total_tokens

# JumpStart's uncompressed prepacks of huggingface-llm-mistral-7b[-instruct] 2.x, the versions JumpStart serves
# with TGI 1.1.0 (the 1.x versions are tar.gz archives; later versions move to TGI 1.4+): nothing to untar, so
# the container starts sooner.
_JUMPSTART_PREFIX = "huggingface-llm/{model_id}/artifacts/inference-prepack/v1.0.0/"


@dataclass(frozen=True)
class MistralModel:
    """Mistral 7B weights laid out for TGI (config.json, tokenizer, safetensors) under one S3 prefix.

    Use :meth:`instruct` (the default everywhere), :meth:`base`, or :meth:`from_bucket` for your own copy.
    """

    #: Identifier reported by the proxy (the OpenAI route's ``model``) and in tags.
    model_id: str
    #: ``mistral-instruct`` enables the proxy's chat routes; ``none`` serves raw text generation only.
    prompt_format: str
    #: Bucket holding the weights; a token for JumpStart's per-region cache bucket.
    bucket_name: str
    #: Key prefix of the weights, ending in ``/``.
    prefix: str
    #: Your bucket, when the weights are yours (its KMS key, if any, is granted for decrypt).
    bucket: s3.IBucket | None = None
    #: The JumpStart model version these weights come from, when they come from JumpStart.
    jumpstart_version: str | None = None

    @classmethod
    def of(cls, model: MistralModel | None) -> MistralModel:
        """The model a ``model`` prop names: None means the default, Mistral 7B Instruct."""
        if model is None:
            return cls.instruct()
        if not isinstance(model, MistralModel):
            raise ConfigurationError(
                f"model must be a MistralModel, got {model!r}: use MistralModel.instruct(), MistralModel.base() "
                "or MistralModel.from_bucket(bucket, prefix) for your own weights"
            )
        return model

    @classmethod
    def instruct(cls) -> MistralModel:
        """Mistral 7B Instruct from JumpStart (``huggingface-llm-mistral-7b-instruct`` 2.0.0)."""
        return cls._jumpstart(DEFAULTS.model_id, "2.0.0", PROMPT_FORMAT_INSTRUCT)

    @classmethod
    def base(cls) -> MistralModel:
        """The base (pre-trained, not chat-tuned) Mistral 7B from JumpStart (``huggingface-llm-mistral-7b`` 2.1.0)."""
        return cls._jumpstart("huggingface-llm-mistral-7b", "2.1.0", PROMPT_FORMAT_NONE)

    @classmethod
    def from_bucket(
        cls,
        bucket: s3.IBucket,
        prefix: str,
        *,
        instruct: bool = True,
        model_id: str = "mistral-7b-custom",
    ) -> MistralModel:
        """Your own uncompressed TGI-ready weights (for example a fine-tune) under ``prefix`` in ``bucket``.

        :param prefix: the key prefix, ``models/mistral-7b/``; ``s3://<bucket>/models/mistral-7b/`` is accepted
            when it names ``bucket`` itself.
        :param instruct: whether the weights follow the Mistral Instruct chat template (default: yes).
        """
        if not isinstance(instruct, bool):
            raise ConfigurationError(
                f"from_bucket instruct must be True or False, got {instruct!r}", prop="instruct"
            )
        prefix = _key_prefix(bucket, prefix)
        if not is_unresolved(prefix) and (not prefix or not prefix.endswith("/") or prefix.startswith("/")):
            raise ConfigurationError(
                f"prefix must be an S3 key prefix like 'models/mistral-7b/' (no leading '/', "
                f"trailing '/'), got {prefix!r}",
                prop="prefix",
            )
        return cls(
            model_id=model_id,
            prompt_format=PROMPT_FORMAT_INSTRUCT if instruct else PROMPT_FORMAT_NONE,
            bucket_name=bucket.bucket_name,
            prefix=prefix,
            bucket=bucket,
        )

    @classmethod
    def _jumpstart(cls, model_id: str, version: str, prompt_format: str) -> MistralModel:
        return cls(
            model_id=model_id,
            prompt_format=prompt_format,
            bucket_name=f"jumpstart-cache-prod-{Aws.REGION}",
            prefix=_JUMPSTART_PREFIX.format(model_id=model_id),
            jumpstart_version=version,
        )

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket_name}/{self.prefix}"

    @property
    def bucket_arn(self) -> str:
        if self.bucket is not None:
            return self.bucket.bucket_arn
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}"

    @property
    def objects_arn(self) -> str:
        """ARN pattern of every object of the weights."""
        return f"{self.bucket_arn}/{self.prefix}*"

    def read_statements(self, principal: iam.IPrincipal | None = None) -> list[iam.PolicyStatement]:
        """List the prefix and read its objects: all SageMaker needs to download the weights."""
        principals = [principal] if principal is not None else None
        return [
            iam.PolicyStatement(
                sid="ListWeights",
                principals=principals,
                actions=["s3:ListBucket"],
                resources=[self.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.prefix}*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadWeights",
                principals=principals,
                actions=["s3:GetObject"],
                resources=[self.objects_arn],
            ),
        ]

    def decrypt_statements(self) -> list[iam.PolicyStatement]:
        """kms:Decrypt on your bucket's key, when it has one (JumpStart's bucket needs none)."""
        key = self.bucket.encryption_key if self.bucket is not None else None
        if key is None:
            return []
        return [iam.PolicyStatement(sid="DecryptWeights", actions=["kms:Decrypt"], resources=[key.key_arn])]


def _key_prefix(bucket: s3.IBucket, prefix: str) -> str:
    """``prefix`` as a key prefix: an ``s3://`` URI is taken apart when it names ``bucket``, refused otherwise."""
    if is_unresolved(prefix) or not prefix.startswith("s3://"):
        return prefix
    named_bucket, _, key = prefix[len("s3://") :].partition("/")
    if is_unresolved(bucket.bucket_name):
        raise ConfigurationError(
            f"prefix {prefix!r} is an S3 URI, and the bucket's name is only known at deploy time, so the two "
            f"cannot be checked against each other: pass the key prefix alone, {key!r}",
            prop="prefix",
        )
    if named_bucket != bucket.bucket_name:
        raise ConfigurationError(
            f"prefix {prefix!r} names bucket {named_bucket!r}, but the bucket given is {bucket.bucket_name!r}: "
            f"pass the key prefix alone ({key!r}) with the bucket that holds it",
            prop="prefix",
        )
    return key
