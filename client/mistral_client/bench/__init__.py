"""``mistral-bench``: throughput and latency of a Mistral deployment against concurrent users and input size,
in the launch article's layout, and a self-test against a loopback stand-in with a known timing model.

Modules: :mod:`.cli` (the command), :mod:`.targets` (function URL and endpoint), :mod:`.workload` (prompts and
TGI parameters), :mod:`.sweep` (closed-loop users), :mod:`.stats`, :mod:`.report`; the stand-in
is the client's own, :mod:`mistral_client.standin`.
No CDK anywhere here.
"""
