"""What every model route shares around its own request format and answer shape: the body's size and JSON,
the model call (buffered ``InvokeEndpoint``, or ``InvokeEndpointWithResponseStream`` for ``"stream": true``)
and the fields the request's log line gets from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .collaborators import Collaborators
from .config import MAX_REQUEST_BYTES, Config
from .errors import ProxyError, invalid
from .records import Answer, Failed, Request, Response
from .sagemaker import invoke, invoke_stream
from .tgi import JsonObject, ModelCall, details_of, token_counts
from .validation import parse_json_object

if TYPE_CHECKING:
    #: Validates a route's body (parsed JSON) and builds the TGI call; raises ProxyError (4xx) on bad input.
    Prepare = Callable[[JsonObject, Config], ModelCall]
    #: Shapes TGI's buffered answer for the route: (call, TGI's answer, config, request id, created) -> body.
    Shape = Callable[[ModelCall, JsonObject, Config, str, int], JsonObject]


class ModelRoute:
    """A route handler that calls the model, made of the route's own ``prepare`` and ``answer`` (and, when
    streamed, its events in ``stream_events``)."""

    def __init__(self, prepare: Prepare, answer: Shape) -> None:
        self.prepare = prepare
        self.answer = answer

    def __call__(self, request: Request, config: Config, services: Collaborators) -> Answer:
        call = self.prepare(read_body(request.body), config)
        payload = call.payload()
        fields: Mapping[str, Any] = {"prompt": call.inputs} if config.log_prompts else {}
        fields = {**fields, "max_new_tokens": call.parameters.get("max_new_tokens")}
        if call.stream:
            return self._streamed(request, call, payload, config, services, fields)
        started = services.clock()
        generated, attempts = _call_model(invoke, request, payload, config, services, fields, started)
        fields = {
            **fields,
            "model_latency_ms": _ms(services.clock() - started),
            "attempts": attempts,
            **answer_log_fields(generated, config),
        }
        try:
            body = self.answer(call, generated, config, request.request_id, int(services.wall_clock()))
        except Exception as exc:
            raise Failed(exc, fields) from exc
        return Answer(Response(200, body, {}), fields)

    def _streamed(
        self,
        request: Request,
        call: ModelCall,
        payload: bytes,
        config: Config,
        services: Collaborators,
        fields: Mapping[str, Any],
    ) -> Answer:
        """Open the stream and wait for TGI's first event: a failure up to there is a plain error answer."""
        if not request.can_stream:
            error = invalid(
                "stream true needs the streaming function URL, and this one answers buffered responses "
                "(deployed with streaming false). Omit stream or set it to false.",
                "stream",
            )
            raise Failed(error, fields)
        # Only streamed requests pay for importing these.
        from .stream_events import EVENTS
        from .streaming import TokenStream

        started = services.clock()
        body, attempts = _call_model(invoke_stream, request, payload, config, services, fields, started)
        fields = {**fields, "attempts": attempts}
        try:
            events = EVENTS[call.route](call, config, request.request_id, int(services.wall_clock()))
            stream = TokenStream(body, events, request, fields, config, services, model_started=started)
            stream.wait_for_first_event()
        except Exception as exc:
            raise Failed(exc, {**fields, "model_latency_ms": _ms(services.clock() - started)}) from exc
        return Answer(stream, {})


def read_body(body: bytes) -> JsonObject:
    """A model route's body: at most MAX_REQUEST_BYTES of UTF-8 JSON holding an object."""
    if len(body) > MAX_REQUEST_BYTES:
        raise ProxyError(
            413,
            "payload_too_large",
            f"The request body is {len(body)} bytes; this proxy accepts at most {MAX_REQUEST_BYTES}.",
        )
    return parse_json_object(body)


def answer_log_fields(generated: JsonObject, config: Config) -> dict[str, Any]:
    """What a buffered answer adds to the log line: token counts, finish reason, and the completion only
    with LOG_PROMPTS."""
    details = details_of(generated)
    fields: dict[str, Any] = dict(token_counts(details))
    if details.get("finish_reason") is not None:
        fields["finish_reason"] = details["finish_reason"]
    if config.log_prompts:
        fields["completion"] = generated["generated_text"]
    return fields


def _call_model(
    invoker: Callable[..., tuple[Any, int]],
    request: Request,
    payload: bytes,
    config: Config,
    services: Collaborators,
    fields: Mapping[str, Any],
    started: float,
) -> tuple[Any, int]:
    """``invoke`` or ``invoke_stream`` on the endpoint; a failure carries the model time it took to the log line."""
    try:
        return invoker(
            services.client,
            config.endpoint_name,
            payload,
            inference_component_name=config.inference_component_name,
            sleep=services.sleep,
            remaining_ms=request.remaining_ms,
        )
    except Exception as exc:
        raise Failed(exc, {**fields, "model_latency_ms": _ms(services.clock() - started)}) from exc


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
