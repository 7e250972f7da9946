"""Snapshots of every stack variant: any change to the synthesized CloudFormation shows up in review.

Update deliberately with `pytest tests/test_snapshots.py --snapshot-update` and read the diff.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from synth_helpers import VARIANTS, template_of
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

# Asset hashes change with every edit of the proxy's code; the snapshot is about the template around them.
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict[str, Any]) -> Any:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_template_matches_snapshot(variant: str, snapshot_json: SnapshotAssertion) -> None:
    assert masked(template_of(variant)) == snapshot_json


def test_masking_hides_asset_hashes_only(template: dict[str, Any]) -> None:
    code = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    assert ASSET_HASH.search(json.dumps(code))
    masked_code = masked(code)
    assert masked_code["Properties"]["Code"]["S3Key"] == "<asset-hash>.zip"
    assert masked_code["Properties"]["Handler"] == "run.sh"  # the streaming function's start script
