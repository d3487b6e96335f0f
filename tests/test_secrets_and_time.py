"""No credential to another origin on a redirect; an overall deadline per call; timeouts refused when
they make no sense.

Two loopback servers: the fake provider answers a 307 pointing at a second port, which records
whatever reaches it (nothing may). A dripping server sends one byte at a time: the provider's
deadline (a tiny one here, so no test waits long) must end the call.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from imagegen.testing import VirtualClock
from imagegen.prompts import Describer, DescriberFailed
from imagegen.providers.base import ProviderUnavailable, TransientError
from imagegen.config.settings import SettingsError, load
from tests.fake_providers import SENTINELS, FakeProviders, fake_providers, generate_once  # noqa: F401


class Catcher:
    """A second origin that records every request reaching it."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        catcher = self

        class H(BaseHTTPRequestHandler):
            def _any(self) -> None:
                catcher.seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _any  # noqa: N815

            def log_message(self, *a: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def catcher() -> Iterator[Catcher]:
    c = Catcher()
    yield c
    c.close()


def redirect(to: str) -> dict[str, Any]:
    return {"kind": "raw", "status": 307, "body": "", "headers": {"Location": to + "/stolen"}}


@pytest.mark.parametrize("name,secret_opts", [
    ("cloudflare", {"api_token": SENTINELS["CLOUDFLARE_API_TOKEN"]}),
    ("gemini", {"api_key": SENTINELS["GEMINI_API_KEY"]}),  # x-goog-api-key: httpx would not strip it
    ("together", {"api_token": SENTINELS["TOGETHER_API_TOKEN"]}),
    ("huggingface", {"api_token": SENTINELS["HUGGINGFACE_API_TOKEN"]}),
    ("pollinations", {"api_key": SENTINELS["POLLINATIONS_API_KEY"]}),
])
def test_a_redirect_to_another_origin_receives_no_key(name: str, secret_opts: dict[str, str],
                                                      fake_providers: FakeProviders, catcher: Catcher) -> None:  # noqa: F811
    fake_providers.script(name, [redirect(catcher.url)])
    err = generate_once(fake_providers, name, **secret_opts)
    assert isinstance(err, ProviderUnavailable) and "redirect" in str(err), err
    assert fake_providers.count(name) == 1
    assert catcher.seen == []  # not followed at all: no key, no prompt, nothing reaches the other host


def test_the_describer_does_not_follow_a_redirect_with_its_key(fake_providers: FakeProviders,  # noqa: F811
                                                               catcher: Catcher) -> None:
    fake_providers.script("gemini", [redirect(catcher.url)] * 3)

    class Post:
        rel, title, cached_prompt = "p.md", "Foxes", None

        def prompt_text(self) -> str:
            return "Foxes in snow."

    async def go() -> Any:
        d = Describer(api_key=SENTINELS["GEMINI_API_KEY"], model="m1", fallbacks=("m2", "m3"),
                      base_url=fake_providers.base_url("gemini"), clock=VirtualClock())
        try:
            return await d.describe(Post())
        except DescriberFailed as exc:
            return exc
        finally:
            await d.aclose()

    assert isinstance(asyncio.run(go()), DescriberFailed)
    assert catcher.seen == []


# --------------------------------------------------------------------------- the overall deadline


class Dripper:
    """Answers 200 with a big Content-Length, then one byte every `every` seconds, forever."""

    def __init__(self, every: float = 0.02) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.every = every
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b" ")
                time.sleep(self.every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def dripper() -> Iterator[Dripper]:
    d = Dripper()
    yield d
    d.close()


@pytest.mark.parametrize("name", ["cloudflare", "huggingface", "together", "pollinations", "gemini"])
def test_a_dripping_server_cannot_hold_a_call_past_its_deadline(name: str, fake_providers: FakeProviders,  # noqa: F811
                                                                dripper: Dripper) -> None:
    t0 = time.monotonic()
    err = generate_once(fake_providers, name, base_url=dripper.url + "/" + name, ctx_timeout="0.4")
    took = time.monotonic() - t0
    assert isinstance(err, TransientError) and "0.4 s deadline" in str(err), err
    assert took < 5  # each read came within the per-read timeout; only the overall deadline ended it


def test_the_describer_has_an_overall_deadline_too(dripper: Dripper) -> None:
    class Post:
        rel, title, cached_prompt = "p.md", "Foxes", None

        def prompt_text(self) -> str:
            return "Foxes in snow."

    async def go() -> Any:
        d = Describer(api_key="k-123456", model="m1", base_url=dripper.url, clock=VirtualClock(), timeout=0.4)
        try:
            return await d.describe(Post())
        except DescriberFailed as exc:
            return exc
        finally:
            await d.aclose()

    result = asyncio.run(go())
    assert isinstance(result, DescriberFailed) and "transient" in str(result)


# --------------------------------------------------------------------------- timeouts that make no sense


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "NaN"])
def test_timeouts_refuse_zero_negative_nan_and_infinity(value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="provider-timeout"):
        load({"providers": "local", "provider-timeout": f"local={value}"}, {}, repo=tmp_path)


def test_a_sane_timeout_is_kept(tmp_path: Path) -> None:
    s = load({"providers": "local", "provider-timeout": "local=2.5"}, {}, repo=tmp_path)
    assert s.providers[0].limits.timeout == 2.5
