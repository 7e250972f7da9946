"""The deploy rehearsal: cdk bootstrap, deploy, invoke, update and destroy against a local AWS emulator, then
the scale-to-zero variant's deploy, wake-up and destroy, then the private front door variant's deploy, invocation
and destroy.

Runs the real CDK CLI on the real app against a moto server it starts on 127.0.0.1 (and always stops), with
dummy credentials and no AWS configuration from the machine. moto's known gaps are corrected inside that
server by ``tests/rehearsal/moto_corrections.py`` (each correction documented and tested there). Nothing is
sent anywhere but 127.0.0.1. What this proves and what it cannot: README.md, section "Deploy rehearsal (no AWS
account)".

One module per concern, in the order the phases use them:

- ``common``: the stack, account and region; the failure type; stopping a child process group.
- ``emulator``: the moto server process (start, stop, queued SageMaker answers).
- ``deploy``: the pinned CDK CLI (bootstrap, deploy, destroy) and the environment pointed at the emulator.
- ``stack``: the deployed stack read back through the emulator's APIs, and its published asset.
- ``wiring``: every resource exists and is wired to the stack's other resources.
- ``scaling``: the Application Auto Scaling registration, its policies and alarms.
- ``invoke``: the deployed proxy code answering its door's events (function URL events by default).
- ``update``: what a second deploy with changed settings must have changed (and kept).
- ``wake``: a scale-to-zero endpoint waking up: the proxy's 503 and ``mistral-invoke`` waiting.
- ``private_door``: the private REST API read back (routes, policy, stage, endpoint) and its proxy events.
- ``inventory``: what the emulator holds, to prove destroy leaves nothing behind.
- ``driver``: the phases in order, the summary line and the command line (``python tests/rehearsal``).
"""
