"""The CLI's commands: what they send, what they print, how they fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli_helpers import FunctionUrl, Run


def cli(function_url: FunctionUrl, *argv: str) -> list[str]:
    return ["--url", function_url.url, "--region", "us-east-1", *argv]


# --- generate ---------------------------------------------------------------------------------------------


def test_generate_prints_the_generated_text(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": " Paris."})
    code, out, _ = run(*cli(function_url, "generate", "The capital of France is"))
    assert (code, out) == (0, " Paris.\n")


def test_generate_with_json_prints_the_whole_answer(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "x", "details": {"generated_tokens": 1}})
    _, out, _ = run(*cli(function_url, "--json", "generate", "Hi", "--details"))
    assert '"generated_tokens": 1' in out


def test_json_flag_is_accepted_after_the_command(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "x"})
    _, out, _ = run(*cli(function_url, "generate", "Hi", "--json"))
    assert '"generated_text": "x"' in out


def test_generate_sends_parameter_flags_as_tgi_parameters(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "x"})
    run(
        *cli(
            function_url, "generate", "Hi", "--max-new-tokens", "64", "--temperature", "0.7", "--top-p", "0.9"
        ),
        *["--top-k", "50", "--repetition-penalty", "1.1", "--stop", "\n", "--stop", "END", "--seed", "7"],
        *["--truncate", "100", "--do-sample", "--details"],
    )
    assert function_url.requests[0].json() == {
        "inputs": "Hi",
        "parameters": {
            "max_new_tokens": 64,
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 50,
            "repetition_penalty": 1.1,
            "seed": 7,
            "truncate": 100,
            "stop": ["\n", "END"],
            "do_sample": True,
            "details": True,
        },
        "stream": True,  # the CLI streams unless told --no-stream
    }


def test_generate_reads_the_prompt_from_stdin_with_a_dash(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "x"})
    run(*cli(function_url, "generate", "-"), stdin="a long prompt\n")
    assert function_url.requests[0].json()["inputs"] == "a long prompt\n"


# --- chat -------------------------------------------------------------------------------------------------


def assistant(text: str) -> dict[str, object]:
    return {"message": {"role": "assistant", "content": text}, "finish_reason": "eos_token"}


def test_chat_with_a_message_sends_one_turn_and_prints_the_answer(
    run: Run, function_url: FunctionUrl
) -> None:
    function_url.answer(200, assistant("Bonjour !"))
    code, out, _ = run(*cli(function_url, "chat", "--system", "Answer in French.", "-m", "Hi"))
    assert (code, out) == (0, "Bonjour !\n")
    assert function_url.requests[0].json()["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
    ]


def test_chat_keeps_the_history_between_turns(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, assistant("Hello!"))
    function_url.answer(200, assistant("Blue."))
    run(*cli(function_url, "chat"), stdin="Hi\nName a colour.\n")
    assert function_url.requests[1].json()["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a colour."},
    ]


def test_chat_reset_forgets_the_history_but_keeps_the_system_prompt(
    run: Run, function_url: FunctionUrl
) -> None:
    function_url.answer(200, assistant("Hello!"))
    function_url.answer(200, assistant("Hi again."))
    run(*cli(function_url, "chat", "--system", "Be brief."), stdin="Hi\n/reset\nHello\n")
    assert function_url.requests[1].json()["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]


def test_chat_leaves_a_failed_turn_out_of_the_history(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(429, {"error": {"type": "throttled", "message": "slow down"}, "request_id": "r1"})
    function_url.answer(200, assistant("Hello!"))
    code, _, err = run(*cli(function_url, "chat"), stdin="Hi\nHi again\n")
    assert function_url.requests[1].json()["messages"] == [{"role": "user", "content": "Hi again"}]
    assert "429 throttled: slow down" in err
    assert code == 1


def test_chat_stops_on_exit(run: Run, function_url: FunctionUrl) -> None:
    code, _, _ = run(*cli(function_url, "chat"), stdin="/exit\nnever sent\n")
    assert code == 0
    assert function_url.requests == []


# --- request and health -----------------------------------------------------------------------------------


def test_request_sends_any_body_to_any_path(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"object": "chat.completion"})
    body = '{"model": "m", "messages": [{"role": "user", "content": "Hi"}]}'
    code, out, _ = run(*cli(function_url, "request", "POST", "/v1/chat/completions", "-d", body))
    assert code == 0
    assert function_url.requests[0].path == "/v1/chat/completions"
    assert function_url.requests[0].body == body.encode()
    assert '"object": "chat.completion"' in out


def test_request_reads_the_body_from_a_file(run: Run, function_url: FunctionUrl, tmp_path: Path) -> None:
    function_url.answer(200, {"generated_text": "x"})
    (tmp_path / "body.json").write_text('{"inputs": "from a file"}')
    run(*cli(function_url, "request", "POST", "/generate", "-d", f"@{tmp_path / 'body.json'}"))
    assert function_url.requests[0].json() == {"inputs": "from a file"}


def test_health_prints_the_proxys_answer(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"status": "ok", "limits": {"max_total_tokens": 8192}})
    code, out, _ = run(*cli(function_url, "health"))
    assert code == 0
    assert '"max_total_tokens": 8192' in out


# --- failures ---------------------------------------------------------------------------------------------


def test_a_403_names_both_iam_permissions(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(403, {"Message": "Forbidden"})
    code, _, err = run(*cli(function_url, "health"))
    assert code == 1
    assert "lambda:InvokeFunctionUrl" in err
    assert "lambda:InvokeFunction\n" in err
    assert "Forbidden" in err


def test_a_proxy_error_prints_type_message_param_and_request_id(run: Run, function_url: FunctionUrl) -> None:
    error = {"type": "invalid_request_error", "message": "top_p must be below 1", "param": "parameters.top_p"}
    function_url.answer(400, {"error": error, "request_id": "req-1"})
    code, _, err = run(*cli(function_url, "generate", "Hi", "--top-p", "1"))
    assert code == 1
    assert err == (
        "error: 400 invalid_request_error: top_p must be below 1 (param parameters.top_p) "
        "[request id req-1]\n"
    )


def test_a_retry_after_is_shown(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(
        503,
        {"error": {"type": "model_not_ready", "message": "wait"}, "request_id": "r"},
        {"Retry-After": "30"},
    )
    _, _, err = run(*cli(function_url, "health"))
    assert "retry after 30 s" in err


def test_an_unreachable_url_is_a_clear_error(run: Run) -> None:
    code, _, err = run("--url", "http://127.0.0.1:9/", "--region", "us-east-1", "--timeout", "5", "health")
    assert code == 1
    assert "Could not reach http://127.0.0.1:9/health" in err


def test_an_unknown_profile_is_a_clear_error(run: Run) -> None:
    code, _, err = run("--url", "https://abc.lambda-url.us-east-1.on.aws/", "--profile", "nope", "health")
    assert code == 1
    assert "nope" in err


def test_importing_the_cli_does_not_import_the_cdk() -> None:
    probe = "import sys, mistral_client.cli; print('aws_cdk' in sys.modules, 'botocore' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_an_answer_that_is_not_the_proxys_is_a_clear_error(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"something": "else"})
    code, _, err = run(*cli(function_url, "generate", "Hi"))
    assert code == 1
    assert "no generated_text" in err


def test_an_error_not_from_the_proxy_shows_the_status_and_body(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(502, {"Message": "Internal Server Error"})
    code, _, err = run(*cli(function_url, "health"))
    assert code == 1
    assert err == 'error: 502: {"Message": "Internal Server Error"}\n'


def test_the_json_log_formatter_writes_one_json_object_with_the_extra_fields() -> None:
    import json
    import logging

    from invoke_proxy.json_logs import JsonLogFormatter

    record = logging.makeLogRecord(
        {"msg": "request", "levelname": "INFO", "name": "invoke_proxy", "status": 200}
    )
    line = json.loads(JsonLogFormatter().format(record))
    assert (line["message"], line["level"], line["status"]) == ("request", "INFO", 200)
