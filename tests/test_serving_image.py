"""The serving image as an abstraction: TGI 1.1 from the region map by default, or the team's own ECR copy."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from synth_helpers import new_app, only, synth_app, template_of

from mistral_endpoint import ConfigurationError, MistralEndpoint
from mistral_endpoint.props import ProxyOptions, ServingOptions
from mistral_endpoint.serving_image import ServingImage

ACCOUNT, REGION = "111122223333", "eu-west-1"
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/platform/tgi-1.1"


def own_image_template(
    region: str = REGION, *, with_packs: bool = False, streaming: bool = True
) -> dict[str, Any]:
    app = new_app()
    stack = cdk.Stack(app, "OwnImage", env=cdk.Environment(account=ACCOUNT, region=region))
    repository = ecr.Repository.from_repository_arn(stack, "Mirror", REPOSITORY_ARN.replace(REGION, region))
    MistralEndpoint(
        stack,
        "Mistral",
        serving_options=ServingOptions(
            image=ServingImage.from_ecr_repository(repository, "2.0.1-tgi1.1.0-patched")
        ),
        proxy_options=ProxyOptions(streaming=streaming),
    )
    if with_packs:
        return synth_app(app, "OwnImage")
    return app.synth().get_stack_by_name("OwnImage").template


def execution_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and "SageMaker needs" in r["Properties"].get("Description", "")
    ]
    (policy,) = policies
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_the_default_image_is_tgi_1_1_from_the_regions_deep_learning_containers_account() -> None:
    template = template_of("default")
    image = only(template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]["Image"]
    assert "TgiImageAccounts" in json.dumps(image)
    assert json.dumps(image).endswith(
        'huggingface-pytorch-tgi-inference:2.0.1-tgi1.1.0-gpu-py39-cu118-ubuntu20.04"]]}'
    )


def test_an_image_in_the_teams_ecr_is_pulled_by_its_tag() -> None:
    template = own_image_template()
    image = only(template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]["Image"]
    rendered = json.dumps(cdk.Stack(new_app(), "Render").resolve(image))
    assert (
        f"{ACCOUNT}.dkr.ecr.{REGION}." in rendered and "platform/tgi-1.1:2.0.1-tgi1.1.0-patched" in rendered
    )
    assert "Mappings" not in template or "TgiImageAccounts" not in json.dumps(template["Mappings"])


def test_pull_rights_are_scoped_to_the_teams_repository() -> None:
    statements = execution_statements(own_image_template())
    pulls = [s for s in statements if "ecr:BatchGetImage" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in pulls] == [REPOSITORY_ARN]
    assert not [s for s in statements if s.get("Sid") == "PullTgiImage"]
    token = [s for s in statements if "ecr:GetAuthorizationToken" in json.dumps(s["Action"])]
    assert token and all(s["Resource"] == "*" for s in token)  # GetAuthorizationToken takes no resource


def test_the_proxys_validation_limits_do_not_change_with_the_image() -> None:
    def limits(template: dict[str, Any]) -> tuple[str, str]:
        variables = only(template, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
        return variables["MAX_INPUT_LENGTH"], variables["MAX_TOTAL_TOKENS"]

    assert limits(own_image_template()) == limits(template_of("default")) == ("8191", "8192")


def test_an_own_image_passes_the_compliance_packs() -> None:
    own_image_template(with_packs=True)  # a finding raises


def test_an_own_image_is_not_held_to_the_tgi_image_regions() -> None:
    # xx-nowhere-1 has no TGI 1.1 image (the default is refused there, tests/test_props.py) but function URLs;
    # the buffered proxy, as no Web Adapter layer is published there either.
    template = own_image_template("xx-nowhere-1", streaming=False)
    assert only(template, "AWS::SageMaker::Model")


@pytest.mark.parametrize("tag", ["", "-latest", "has space", "x" * 129])
def test_an_invalid_tag_is_refused(tag: str) -> None:
    stack = cdk.Stack(new_app(), "BadTag")
    repository = ecr.Repository.from_repository_name(stack, "Mirror", "platform/tgi-1.1")
    with pytest.raises(ConfigurationError, match=f"image tag {tag!r} is not a valid image tag"):
        ServingImage.from_ecr_repository(repository, tag)
