"""The stand-in's timing model: simple enough that its figures have closed forms the self-test compares with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expected:
    """What the timing model predicts for a closed-loop cell of identical requests."""

    users: int
    input_words: int
    output_tokens: int
    batch: int  # requests in flight: users, up to the concurrency cap
    ttft_ms: float
    request_s: float
    ms_per_token: float
    throughput_tps: float
    requests_per_s: float
    timed_out: bool
    over_cap: bool  # some users get 429: more users than max_concurrent_requests


@dataclass(frozen=True)
class TimingModel:
    """The stand-in's timing; the defaults are the self-test's (tens of milliseconds per token, so that
    scheduling noise on a loaded two-core machine stays well under the self-test's 10 % tolerance)."""

    prefill_base_s: float = 0.15
    prefill_per_kword_s: float = 0.04
    token_base_s: float = 0.025
    token_per_request_s: float = 0.0004
    token_per_kword_s: float = 0.0008
    max_concurrent_requests: int = 64
    container_timeout_s: float = 12.0

    def prefill_s(self, input_words: int) -> float:
        return self.prefill_base_s + self.prefill_per_kword_s * input_words / 1000

    def token_s(self, batch: int, words_in_batch: int) -> float:
        return (
            self.token_base_s
            + self.token_per_request_s * max(batch - 1, 0)
            + self.token_per_kword_s * words_in_batch / 1000
        )

    def expected(self, users: int, input_words: int, output_tokens: int) -> Expected:
        """Closed-form figures: every user sends identical requests back to back, so the batch stays full."""
        batch = min(users, self.max_concurrent_requests)
        ttft = self.prefill_s(input_words)
        request = ttft + (output_tokens - 1) * self.token_s(batch, batch * input_words)
        return Expected(
            users=users,
            input_words=input_words,
            output_tokens=output_tokens,
            batch=batch,
            ttft_ms=ttft * 1000,
            request_s=request,
            ms_per_token=request / output_tokens * 1000,
            throughput_tps=batch * output_tokens / request,
            requests_per_s=batch / request,
            timed_out=request > self.container_timeout_s,
            over_cap=users > self.max_concurrent_requests,
        )
