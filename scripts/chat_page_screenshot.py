"""Take the docs' screenshot of `mistral-invoke serve`'s chat page, mid-conversation, in headless Chromium.

serve's HTTP app runs in-process over the SageMaker stand-in, which plays two scripted answers: the first whole,
the second held part way, so the picture shows a finished answer with its figures and one still streaming.

    python scripts/chat_page_screenshot.py [--out docs/chat-page.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import threading
from pathlib import Path

from mistral_client.standin import StandIn, Step, tokens_script

REPO = Path(__file__).resolve().parents[1]
SYSTEM = "You are a concise assistant for a weather team. Answer in plain sentences."
TURNS = [
    (
        "What is the mistral?",
        " The mistral is a strong, cold, dry wind from the north that blows down the Rhône valley to the "
        "Gulf of Lion. It brings clear skies and can last for several days.",
    ),
    (
        "When does it blow most often?",
        " Mostly in winter and spring, when high pressure sits over the Bay of Biscay and low pressure over "
        "the Gulf of Genoa. Gusts above 90 km/h are common at the coast.",
    ),
]
SHOWN_TOKENS = 17  # how much of the second answer has arrived when the picture is taken


def paced(text: str, hold: threading.Event | None = None, at: int = 0) -> list[Step]:
    """The answer as one token per word, 15 ms apart; with ``hold``, paused before token ``at``."""
    steps: list[Step] = []
    for index, part in enumerate(tokens_script(re.findall(r"\s*\S+", text))):
        if hold is not None and index == at:
            steps.append(hold)
        steps += [0.015, part]
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "chat-page.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    from invoke_proxy.config import load_config
    from invoke_proxy.core import Proxy
    from invoke_proxy.sagemaker import create_client
    from mistral_client.serve import local_app

    hold = threading.Event()
    with StandIn(endpoint_name="mistral-7b-instruct-demo") as stand_in:
        os.environ.update(
            AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
            AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=stand_in.url,
        )
        config = load_config({"ENDPOINT_NAME": stand_in.endpoint_name, "AWS_REGION": "us-east-1"})
        proxy = Proxy(config, create_client(config), write_metrics=lambda line: None)  # no EMF lines printed
        server = local_app(proxy, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stand_in.stream(*paced(TURNS[0][1]))
        stand_in.stream(*paced(TURNS[1][1], hold, SHOWN_TOKENS))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
                page = browser.new_page(viewport={"width": 1100, "height": 640}, color_scheme="light")
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
                page.get_by_label("System prompt").fill(SYSTEM)
                page.get_by_label("Max tokens").fill("256")
                box = page.get_by_label("Message", exact=True)
                for number, (question, _) in enumerate(TURNS, start=1):
                    box.fill(question)
                    box.press("Enter")
                    if number == 1:
                        expect(page.locator(".turn.assistant .stats")).to_have_count(1)
                shown = "".join(re.findall(r"\s*\S+", TURNS[1][1])[:SHOWN_TOKENS]).lstrip()
                expect(page.locator(".turn.assistant .text").last).to_have_text(shown)
                page.screenshot(path=str(args.out))
                hold.set()
                browser.close()
        finally:
            hold.set()
            server.shutdown()
            server.server_close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
