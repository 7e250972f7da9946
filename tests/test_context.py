"""The app's context is checked as a whole before the stack is built; each mistake is one line naming the key typed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from synth_helpers import new_app

from app import build_app, main
from mistral_endpoint import DEFAULTS, ConfigurationError
from stacks.config import StackConfig, prop_of


def refusal(**context: Any) -> str:
    with pytest.raises(ConfigurationError) as raised:
        build_app(new_app(**context, compliance="off"))
    return str(raised.value)


# --- unknown keys -----------------------------------------------------------------------------------------


def test_misspelled_keys_are_refused_with_the_nearest_known_keys() -> None:
    assert refusal(scale_to_zero="true", maxcapacity="1") == (
        "unknown context keys scale_to_zero='true' (did you mean scaleToZero?), "
        "maxcapacity='1' (did you mean maxCapacity?)"
    )


def test_a_misspelled_key_of_an_earlier_release_gets_its_new_name() -> None:
    assert refusal(maxinstances="4") == "unknown context key maxinstances='4' (did you mean maxCapacity?)"


def test_a_near_spelling_is_matched_by_similarity() -> None:
    assert refusal(maxCapacit="4") == "unknown context key maxCapacit='4' (did you mean maxCapacity?)"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("instanceCount", "initialInstanceCount"),
        ("minInstances", "minCapacity"),
        ("maxInstances", "maxCapacity"),
        ("businessHours", "schedule"),
    ],
)
def test_a_key_of_an_earlier_release_still_sets_its_prop_and_warns(old: str, new: str) -> None:
    value = "Europe/Paris 8-19" if new == "schedule" else "1"
    extra = {"scaleToZero": "true"} if new == "schedule" else {}
    with pytest.warns(FutureWarning, match=rf"context key {old} is deprecated: use {new}"):
        config = StackConfig.from_context(new_app(**{old: value}, **extra).node)
    assert config == StackConfig.from_context(new_app(**{new: value}, **extra).node)


def test_a_mistake_in_a_key_of_an_earlier_release_names_the_key_typed() -> None:
    with pytest.warns(FutureWarning):
        assert refusal(minInstances="-1") == (
            "context minInstances='-1': must be at least 1 (an always-on endpoint keeps one instance), or 0 with "
            "-c scaleToZero=true"
        )
    with pytest.warns(FutureWarning):
        assert refusal(maxInstances="0") == "context maxInstances='0': must be at least 1, got 0"


def test_a_key_and_its_earlier_spelling_together_are_refused() -> None:
    assert refusal(maxInstances="2", maxCapacity="3") == (
        "context maxInstances='2' and maxCapacity='3' set the same prop: keep maxCapacity (maxInstances is its "
        "earlier spelling)"
    )


def test_a_key_like_no_other_lists_the_keys_the_app_reads() -> None:
    message = refusal(flavour="vanilla")
    assert message.startswith(
        "unknown context key flavour='vanilla'; this app reads flowLogTrafficType, model, instanceType, "
    )
    assert message.endswith(", region, compliance")


@pytest.mark.parametrize(
    "key",
    [
        # What aws-cdk 2.1148 passes in CDK_CONTEXT_JSON on `cdk synth` (with and without --no-* flags).
        "aws:cdk:enable-path-metadata",
        "aws:cdk:enable-asset-metadata",
        "aws:cdk:version-reporting",
        "aws:cdk:bundling-stacks",
        "aws:cdk:disable-version-reporting",
        "aws:cdk:disable-asset-staging",
        "@aws-cdk/core:failSynthOnValidationErrors",
        # What the CLI keeps in cdk.context.json.
        "acknowledged-issue-numbers",
        "cli-telemetry",
        "availability-zones:account=111122223333:region=eu-west-1",
        "ssm:account=111122223333:parameterName=/team/ami:region=eu-west-1",
        "vpc-provider:account=111122223333:filter.vpc-id=vpc-0a1b2c3d:region=eu-west-1",
        # Feature flags of other CDK modules.
        "@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver",
    ],
)
def test_cdks_own_keys_pass(key: str) -> None:
    StackConfig.from_context(new_app(**{key: True}).node)


def test_a_lookup_provider_name_alone_is_not_a_lookup() -> None:
    assert refusal(ssm="x").startswith("unknown context key ssm='x'")


# --- each key's value, named as typed ---------------------------------------------------------------------


def test_a_time_zone_the_tz_database_does_not_know_is_refused() -> None:
    assert refusal(scaleToZero="true", schedule="Mars/Olympus 8-19") == (
        "context schedule='Mars/Olympus 8-19': 'Mars/Olympus' is not an IANA time zone name: "
        "use one such as 'Europe/Paris'"
    )


def test_a_misspelled_time_zone_gets_the_nearest_name() -> None:
    message = refusal(scaleToZero="true", schedule="Europe/Pariss 8-19")
    assert message.endswith("use one such as 'Europe/Paris'")


def test_a_window_out_of_the_day_names_the_schedule_key() -> None:
    assert refusal(scaleToZero="true", schedule="Europe/Paris 8-25") == (
        "context schedule='Europe/Paris 8-25': end_hour must be between 1 and 23, got 25"
    )


def test_a_negative_minimum_says_what_the_minimum_is() -> None:
    assert refusal(minCapacity="-1") == (
        "context minCapacity='-1': must be at least 1 (an always-on endpoint keeps one instance), "
        "or 0 with -c scaleToZero=true"
    )


def test_a_zero_minimum_without_scale_to_zero_says_how_to_reach_zero() -> None:
    assert refusal(minCapacity="0").endswith("or 0 with -c scaleToZero=true")


def test_a_minimum_with_scale_to_zero_says_the_floor_is_zero() -> None:
    assert refusal(minCapacity="1", scaleToZero="true") == (
        "context minCapacity='1': with scaleToZero=true the floor is 0 copies: leave minCapacity unset, "
        "or keep copies warm in a window with -c schedule=..."
    )


def test_string_booleans_are_read_as_booleans() -> None:
    config = StackConfig.from_context(new_app(scaleToZero="false", monitoring="true").node)
    assert (config.scale_to_zero, config.monitoring) == (False, True)


def test_a_boolean_that_is_not_true_or_false_is_refused() -> None:
    assert refusal(scaleToZero="yes") == "context scaleToZero='yes': use true or false"


# --- keys that need another key ---------------------------------------------------------------------------


def test_a_schedule_needs_scale_to_zero() -> None:
    assert refusal(schedule="Europe/Paris 8-19") == (
        "context schedule='Europe/Paris 8-19' needs -c scaleToZero=true: the window keeps one copy warm "
        "on an endpoint that scales to zero outside it, and an always-on endpoint already keeps 1 instance(s) "
        "up at all times"
    )


def test_alarm_email_needs_monitoring() -> None:
    assert refusal(alarmEmail="ops@example.com", monitoring="false") == (
        "context alarmEmail='ops@example.com' needs monitoring=true (it subscribes to the alarm topic): "
        "drop alarmEmail, or set -c monitoring=true"
    )


def test_a_minimum_above_the_maximum_names_both_keys() -> None:
    assert refusal(minCapacity="3") == (
        "context minCapacity='3' must not exceed maxCapacity (2): raise maxCapacity, or lower minCapacity"
    )


# --- token limits -----------------------------------------------------------------------------------------


def test_max_input_length_follows_a_lowered_max_total_tokens() -> None:
    app = build_app(new_app(maxTotalTokens="4096", compliance="off"))
    template = app.synth().get_stack_by_name("MistralEndpointStack").template
    [model] = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"]
    environment = model["Properties"]["PrimaryContainer"]["Environment"]
    assert (environment["MAX_TOTAL_TOKENS"], environment["MAX_INPUT_LENGTH"]) == ("4096", "4095")


def test_the_default_input_length_is_the_librarys() -> None:
    assert StackConfig.from_context(new_app().node).input_length == DEFAULTS.max_input_length


def test_an_explicit_max_input_length_is_kept() -> None:
    assert StackConfig.from_context(new_app(maxInputLength="2048").node).input_length == 2048


def test_an_input_length_not_below_the_total_names_both_keys() -> None:
    assert refusal(maxInputLength="4096", maxTotalTokens="4096") == (
        "context maxInputLength='4096' must be less than maxTotalTokens (4096): TGI needs room for one "
        "generated token; leave maxInputLength unset and it follows maxTotalTokens"
    )


def test_a_prefill_below_the_derived_input_length_says_where_that_comes_from() -> None:
    assert refusal(maxTotalTokens="4096", maxBatchPrefillTokens="100") == (
        "context maxBatchPrefillTokens='100' must be at least maxInputLength (4095, which follows "
        "maxTotalTokens): TGI cannot prefill a maximal prompt otherwise"
    )


# --- the constructs' errors, restated for the key typed ---------------------------------------------------


def test_a_construct_range_error_names_the_context_key_not_the_prop() -> None:
    message = refusal(maxCapacity="0")
    assert message == "context maxCapacity='0': must be at least 1, got 0"


def test_a_construct_range_error_keeps_its_hint() -> None:
    assert refusal(maxTotalTokens="9000") == (
        "context maxTotalTokens='9000': must be between 2 and 8192, got 9000. "
        "Mistral 7B's context window is 8192 tokens"
    )


def test_a_refused_region_names_the_region_key() -> None:
    assert refusal(region="il-central-1").startswith(
        "context region='il-central-1': MistralEndpointStack is pinned to il-central-1, but Lambda function URLs"
    )


def test_a_construct_error_about_a_prop_is_prefixed_with_its_key() -> None:
    assert refusal(instanceType="ml.g5.xlarge").startswith(
        "context instanceType='ml.g5.xlarge': instance_type 'ml.g5.xlarge' cannot serve Mistral 7B"
    )


def test_a_proxy_concurrency_reservation_reaches_the_function() -> None:
    from aws_cdk import assertions

    app = build_app(new_app(proxyReservedConcurrentExecutions="256", compliance="off"))
    template = assertions.Template.from_stack(app.node.find_child("MistralEndpointStack"))  # type: ignore[arg-type]
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 256})


def test_a_zero_proxy_reservation_names_the_context_key() -> None:
    assert refusal(proxyReservedConcurrentExecutions="0") == (
        "context proxyReservedConcurrentExecutions='0': must be at least 1, got 0. "
        "leave it unset to reserve nothing (the default)"
    )


def test_every_key_maps_to_a_prop_by_one_rule() -> None:
    props = {key: prop_of(key) for key in StackConfig.context_keys()}
    assert props["scaleToZero"] == "scale_to_zero"
    assert props["maxBatchPrefillTokens"] == "max_batch_prefill_tokens"
    assert (props["initialInstanceCount"], props["minCapacity"], props["maxCapacity"]) == (
        "initial_instance_count",
        "min_capacity",
        "max_capacity",
    )
    assert all(key == re.sub(r"_(\w)", lambda m: m.group(1).upper(), prop) for key, prop in props.items())


# --- the app's entry point --------------------------------------------------------------------------------


def test_the_app_prints_one_line_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(new_app(minCapacity="-1")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "Error: context minCapacity='-1': must be at least 1 (an always-on endpoint keeps one instance), "
        "or 0 with -c scaleToZero=true\n"
    )
