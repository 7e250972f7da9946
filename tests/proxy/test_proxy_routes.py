"""Each route of the invoke proxy, through the function URL adapter, against a stubbed SageMaker runtime."""

from __future__ import annotations

from botocore.stub import Stubber
from proxy_helpers import Call, LambdaContext, queue_answer, tgi_answer, url_event

from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event

# --- POST /generate --------------------------------------------------------------------------------------


def test_generate_answers_generated_text(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("Paris."))
    status, body, _ = call(url_event(body={"inputs": "The capital of France is"}))
    assert (status, body) == (200, {"generated_text": "Paris."})


def test_generate_sends_inputs_and_parameters_to_tgi(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(body={"inputs": "Hi", "parameters": {"temperature": 0.5, "top_p": 0.9, "stop": ["\n"]}}))
    assert sent.json == {
        "inputs": "Hi",
        "parameters": {
            "temperature": 0.5,
            "top_p": 0.9,
            "stop": ["\n"],
            "max_new_tokens": 512,
            "details": True,
        },
    }


def test_generate_defaults_max_new_tokens_to_the_configured_default(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(body={"inputs": "Hi"}))
    assert sent.json["parameters"]["max_new_tokens"] == 512


def test_generate_keeps_the_callers_max_new_tokens(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(body={"inputs": "Hi", "parameters": {"max_new_tokens": 7}}))
    assert sent.json["parameters"]["max_new_tokens"] == 7


def test_generate_drops_null_optional_parameters(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(body={"inputs": "Hi", "parameters": {"temperature": None, "seed": None}}))
    assert "temperature" not in sent.json["parameters"] and "seed" not in sent.json["parameters"]


def test_generate_returns_details_when_asked(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("Paris.", generated_tokens=2))
    status, body, _ = call(url_event(body={"inputs": "Hi", "parameters": {"details": True}}))
    assert status == 200
    assert body["details"]["generated_tokens"] == 2
    assert body["details"]["finish_reason"] == "eos_token"


def test_generate_accepts_stream_false(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber)
    status, _, _ = call(url_event(body={"inputs": "Hi", "stream": False}))
    assert status == 200


def test_generate_accepts_a_tgi_answer_that_is_an_object(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, {"generated_text": "ok"})
    status, body, _ = call(url_event(body={"inputs": "Hi"}))
    assert (status, body) == (200, {"generated_text": "ok"})


def test_generate_reads_a_base64_body(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    status, _, _ = call(url_event(raw_body='{"inputs": "Grüß dich"}', base64_encoded=True))
    assert status == 200
    assert sent.json["inputs"] == "Grüß dich"


def test_generate_sends_non_ascii_text_unescaped(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(body={"inputs": "日本語"}))
    assert "日本語".encode() in sent.values[-1]


def test_generate_answers_non_ascii_text_unescaped(stubber: Stubber, proxy: Proxy) -> None:
    queue_answer(stubber, tgi_answer("日本語"))
    result = handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    assert "日本語" in result["body"]


# --- POST /chat ------------------------------------------------------------------------------------------


def test_chat_answers_an_assistant_message(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("Hello!"))
    status, body, _ = call(url_event(path="/chat", body={"messages": [{"role": "user", "content": "Hi"}]}))
    assert status == 200
    assert body["message"] == {"role": "assistant", "content": "Hello!"}


def test_chat_reports_tgi_finish_reason(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("Hello", finish_reason="length"))
    _, body, _ = call(url_event(path="/chat", body={"messages": [{"role": "user", "content": "Hi"}]}))
    assert body["finish_reason"] == "length"


def test_chat_sends_the_rendered_prompt_without_echo(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/chat", body={"messages": [{"role": "user", "content": "Hi"}]}))
    assert sent.json["inputs"] == "<s>[INST] Hi [/INST]"
    assert sent.json["parameters"]["return_full_text"] is False


def test_chat_passes_parameters_to_tgi(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    messages = [{"role": "user", "content": "Hi"}]
    call(
        url_event(path="/chat", body={"messages": messages, "parameters": {"max_new_tokens": 64, "top_k": 5}})
    )
    assert sent.json["parameters"]["max_new_tokens"] == 64
    assert sent.json["parameters"]["top_k"] == 5


def test_chat_removes_the_stop_sequence_that_ended_the_answer(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("One, two. END", finish_reason="stop_sequence"))
    messages = [{"role": "user", "content": "Count"}]
    _, body, _ = call(url_event(path="/chat", body={"messages": messages, "parameters": {"stop": [" END"]}}))
    assert body["message"]["content"] == "One, two."


def test_chat_returns_details_only_when_asked(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber)
    _, body, _ = call(url_event(path="/chat", body={"messages": [{"role": "user", "content": "Hi"}]}))
    assert "details" not in body


# --- POST /v1/chat/completions ---------------------------------------------------------------------------


def openai_body(**fields: object) -> dict[str, object]:
    return {
        "model": "mistral",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        **fields,
    }


def test_openai_answers_a_chat_completion(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("Hello!", generated_tokens=4))
    status, body, _ = call(url_event(path="/v1/chat/completions", body=openai_body()))
    assert status == 200
    assert body["object"] == "chat.completion"
    assert body["model"] == "huggingface-llm-mistral-7b-instruct"
    assert body["id"] == "chatcmpl-lambda-request-id"
    assert isinstance(body["created"], int)
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!"},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]


def test_openai_usage_counts_completion_tokens_from_tgi_details(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer(generated_tokens=4))
    _, body, _ = call(url_event(path="/v1/chat/completions", body=openai_body()))
    assert body["usage"] == {"completion_tokens": 4}


def test_openai_finish_reason_length_when_tokens_ran_out(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer(finish_reason="length"))
    _, body, _ = call(url_event(path="/v1/chat/completions", body=openai_body()))
    assert body["choices"][0]["finish_reason"] == "length"


def test_openai_finish_reason_stop_on_a_stop_sequence(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer("Yes.\n", finish_reason="stop_sequence"))
    _, body, _ = call(url_event(path="/v1/chat/completions", body=openai_body(stop="\n")))
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"] == "Yes."


def test_openai_maps_its_fields_onto_tgi_parameters(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(
        url_event(
            path="/v1/chat/completions",
            body=openai_body(
                max_tokens=100, temperature=0.7, top_p=0.9, stop=["\n\n"], seed=42, n=1, stream=False
            ),
        )
    )
    assert sent.json["parameters"] == {
        "return_full_text": False,
        "max_new_tokens": 100,
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": 42,
        "details": True,
    }


def test_openai_renders_the_system_message_into_the_first_turn(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body()))
    assert sent.json["inputs"] == "<s>[INST] Be brief.\n\nHi [/INST]"


def test_openai_temperature_zero_means_greedy_decoding(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body(temperature=0)))
    assert sent.json["parameters"]["do_sample"] is False
    assert "temperature" not in sent.json["parameters"]


def test_openai_temperature_zero_drops_top_p_so_decoding_stays_greedy(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body(temperature=0, top_p=0.5)))
    assert sent.json["parameters"]["do_sample"] is False
    assert "top_p" not in sent.json["parameters"]


def test_openai_top_p_one_means_no_nucleus_filtering(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body(top_p=1)))
    assert "top_p" not in sent.json["parameters"]


def test_openai_top_p_that_is_1_as_a_32_bit_float_means_no_nucleus_filtering(
    call: Call, stubber: Stubber
) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body(top_p=0.99999999999)))
    assert "top_p" not in sent.json["parameters"]


def test_generate_accepts_the_32_bit_floats_closest_to_the_bounds(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    params = {
        "top_p": 0.99999994,
        "typical_p": 1.5e-45,
        "temperature": 1.5e-45,
        "repetition_penalty": 1.5e-45,
    }
    status, _, _ = call(url_event(body={"inputs": "Hi", "parameters": params}))
    assert status == 200
    assert sent.json["parameters"]["top_p"] == 0.99999994


def test_openai_samples_by_default_like_openai(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body()))
    assert sent.json["parameters"]["do_sample"] is True


def test_openai_accepts_max_completion_tokens(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(path="/v1/chat/completions", body=openai_body(max_completion_tokens=33)))
    assert sent.json["parameters"]["max_new_tokens"] == 33


def test_openai_accepts_text_parts_and_developer_role(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
    ]
    call(url_event(path="/v1/chat/completions", body={"model": "m", "messages": messages}))
    assert sent.json["inputs"] == "<s>[INST] Be brief.\n\nHi\nthere [/INST]"


# --- GET /health, routing --------------------------------------------------------------------------------


def test_health_reports_liveness_and_limits_without_calling_the_model(call: Call, stubber: Stubber) -> None:
    status, body, _ = call(url_event("GET", "/health"))
    assert status == 200
    assert body["status"] == "ok"
    assert body["limits"]["max_total_tokens"] == 8192
    assert body["limits"]["max_input_length"] == 8191
    assert body["limits"]["default_max_new_tokens"] == 512
    assert body["routes"] == ["/generate", "/chat", "/v1/chat/completions", "/health"]


def test_unknown_path_is_404(call: Call) -> None:
    status, body, _ = call(url_event("POST", "/v1/completions", {"prompt": "x"}))
    assert status == 404
    assert body["error"]["type"] == "not_found"


def test_wrong_method_is_405_with_allow_header(call: Call) -> None:
    status, body, headers = call(url_event("GET", "/generate"))
    assert status == 405
    assert body["error"]["type"] == "method_not_allowed"
    assert headers["allow"] == "POST"


def test_post_to_health_is_405(call: Call) -> None:
    status, _, headers = call(url_event("POST", "/health", {}))
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


def test_a_trailing_slash_reaches_the_same_route(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber)
    status, _, _ = call(url_event(path="/generate/", body={"inputs": "Hi"}))
    assert status == 200


def test_responses_are_json_with_the_request_id_header(call: Call) -> None:
    _, _, headers = call(url_event("GET", "/health"))
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "lambda-request-id"


def test_errors_carry_the_lambda_request_id(call: Call) -> None:
    _, body, _ = call(url_event("GET", "/nowhere"))
    assert body["request_id"] == "lambda-request-id"


def test_without_a_context_the_url_request_id_is_used(call: Call) -> None:
    class NoId(LambdaContext):
        aws_request_id = ""

    _, body, _ = call(url_event("GET", "/nowhere"), NoId())
    assert body["request_id"] == "url-request-id"


def test_chat_returns_details_when_asked(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, tgi_answer(generated_tokens=2))
    body = {"messages": [{"role": "user", "content": "Hi"}], "parameters": {"details": True}}
    _, answer, _ = call(url_event(path="/chat", body=body))
    assert answer["details"]["generated_tokens"] == 2


def test_openai_usage_has_prompt_and_total_tokens_only_when_tgi_reports_them(
    call: Call, stubber: Stubber
) -> None:
    prefill = [{"id": 1, "text": "<s>", "logprob": None}, {"id": 2, "text": "Hi", "logprob": -1.0}]
    queue_answer(stubber, tgi_answer(generated_tokens=4, prefill=prefill))
    _, body, _ = call(url_event(path="/v1/chat/completions", body=openai_body()))
    assert body["usage"] == {"completion_tokens": 4, "prompt_tokens": 2, "total_tokens": 6}
