"""No secret reaches a cassette, a log line, an exception message, an event or the report.

Sentinel secrets (tests.fake_providers.SENTINELS) are used for the cassettes and for a chain run
against the fake server in which every provider's server quotes the request (path, headers,
query) back in an error body, the way some real APIs echo input. The providers must register
their own secrets in create(): the run starts with an empty secret registry.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from imagegen import redact
from imagegen.chain.scheduler import Chain, ChainExhausted, PostFailed
from imagegen.testing import VirtualClock
from imagegen.providers.base import ImageRequest, ProviderContext
from imagegen.report import Event, Failed, Report
from imagegen.config.settings import load
from tests.fake_providers import NAMES, SENTINELS, FakeProviders, fake_providers  # noqa: F401

CASSETTES = Path(__file__).parent / "cassettes"


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


NEEDLES = sorted({form for s in SENTINELS.values() for form in _forms(s)})


def _leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def test_no_sentinel_in_any_cassette() -> None:
    files = [p for p in CASSETTES.rglob("*") if p.is_file()]
    assert any(p.suffix == ".yaml" for p in files), "no cassettes recorded"
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert not _leaks(text), f"{path.name} contains a secret"


@pytest.fixture
def empty_registry() -> object:
    redact.clear()
    yield None
    redact.clear()


def test_no_sentinel_in_a_run(fake_providers: FakeProviders, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                              empty_registry: object) -> None:
    fp = fake_providers
    env = fp.env(**SENTINELS)
    settings = load({}, env, repo=tmp_path)
    assert [p.name for p in settings.providers] == list(NAMES)
    redact.clear()  # settings.load registered them: the providers must do it themselves

    for name in NAMES:
        fp.script(name, ["echo", "server_error", "ok" if name == "gemini" else "auth"])

    events: list[Event] = []
    errors: list[str] = []
    report = Report()

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            ctx = ProviderContext(http=http, clock=VirtualClock())
            members = [(ps, ps.spec.create(ps.opts, ctx)) for ps in settings.providers]
            chain = Chain(members, clock=VirtualClock(), emit=events.append)
            try:
                for i in range(3):
                    post = f"posts/p{i}.md"
                    try:
                        image = await chain.generate(post, ImageRequest("a red fox in fresh snow"))
                        report.generated.append(_generated(post, image))
                    except (PostFailed, ChainExhausted) as exc:
                        errors.append(str(exc))
                        report.failed.append(Failed(post, str(exc)))
            finally:
                await chain.aclose()
            report.providers = dict(chain.stats)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(run())

    # The test means something only if the secrets really went over the wire and came back.
    assert SENTINELS["CLOUDFLARE_ACCOUNT_ID"] in fp.requests("cloudflare")[0].raw_path
    assert SENTINELS["GEMINI_API_KEY"] == fp.requests("gemini")[0].headers["x-goog-api-key"]
    assert errors and any("HTTP 400" in e for e in errors)
    assert report.generated, errors

    texts = {
        "errors": "\n".join(errors),
        "event lines": "\n".join(e.line() for e in events),
        "event json": "\n".join(e.to_json() for e in events),
        "raw event messages": "\n".join(e.message for e in events),
        "report": report.dumps(),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
    }
    for what, text in texts.items():
        assert not _leaks(text), f"a secret leaked into the {what}"


def _generated(post: str, image: object) -> object:
    from imagegen.report import Generated

    return Generated(post=post, image="attachments/x.png", provider=getattr(image, "provider", ""),
                     model=getattr(image, "model", ""), prompt="a red fox in fresh snow")


def test_httpx_request_log_lines_are_redacted(caplog: pytest.LogCaptureFixture, empty_registry: object) -> None:
    import imagegen.providers._http  # noqa: F401  (installs the log filter)

    redact.register(SENTINELS["CLOUDFLARE_ACCOUNT_ID"])
    with caplog.at_level(logging.INFO):
        logging.getLogger("httpx").info('HTTP Request: %s %s "%s"', "POST",
                                        f"https://api.example/accounts/{SENTINELS['CLOUDFLARE_ACCOUNT_ID']}/ai/run/m",
                                        "HTTP/1.1 200 OK")
    assert caplog.records and not _leaks(caplog.text)
