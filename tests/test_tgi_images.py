"""The library's TGI image table is an exact copy of the SageMaker SDK's own."""

from __future__ import annotations

import subprocess
import sys

from synth_helpers import REPO

from invoke_proxy import tgi_images as _tgi_images


def test_generated_module_matches_the_sdk_config() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_tgi_images.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_table_matches_the_sdks_image_uri_lookup() -> None:
    from sagemaker.core import image_uris

    for region in ("us-east-1", "af-south-1", "me-south-1", "cn-north-1"):
        uri = image_uris.retrieve(
            "huggingface-llm",
            region=region,
            version=_tgi_images.TGI_VERSION,
            image_scope="inference",
            instance_type="ml.g5.2xlarge",
        )
        account = _tgi_images.ECR_ACCOUNT_BY_REGION[region]
        assert uri.startswith(f"{account}.dkr.ecr.{region}.")
        assert uri.endswith(f"/{_tgi_images.REPOSITORY}:{_tgi_images.TAG}")


def test_known_accounts_from_domain_facts() -> None:
    table = _tgi_images.ECR_ACCOUNT_BY_REGION
    assert len(table) == 45
    assert sum(account == "763104351884" for account in table.values()) == 16
    assert table["af-south-1"] == "626614931356"
    assert table["ap-east-1"] == "871362719292"
    assert table["me-south-1"] == "217643126080"
