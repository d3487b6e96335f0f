"""What all providers share: registry and settings, transport failures, size cap, delays, resets."""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from imagegen import redact
from imagegen.providers import REGISTRY, SPECS, _http, base
from imagegen.providers.base import (
    BadImage,
    ImageRequest,
    ProviderUnavailable,
    TimedOut,
    TransientError,
    prompt_seed,
)
from imagegen.config.settings import load
from tests.fake_providers import ALL_NAMES, NAMES, FakeProviders, fake_providers, generate_once  # noqa: F401

ALL_SECRETS = {
    "CLOUDFLARE_API_TOKEN": "tok-cf-abcdef",
    "CLOUDFLARE_ACCOUNT_ID": "acct-abcdef",
    "HUGGINGFACE_API_TOKEN": "hf_abcdef",
    "TOGETHER_API_TOKEN": "tok-together-abcdef",
    "POLLINATIONS_ENABLED": "true",
    "GEMINI_API_KEY": "gem-abcdef",
}


def test_registry_order() -> None:
    assert [s.name for s in REGISTRY] == ["card", "local", "cloudflare", "huggingface", "together", "pollinations",
                                          "aihorde", "gemini"]


def test_full_chain_order_with_all_secrets(tmp_path: Path) -> None:
    s = load({}, ALL_SECRETS, repo=tmp_path)
    assert [p.name for p in s.providers] == ["cloudflare", "huggingface", "together", "pollinations", "gemini"]
    assert s.provider_opts["gemini"]["api_key"] == "gem-abcdef"


def test_describer_attached_when_a_gemini_key_is_set(tmp_path: Path) -> None:
    from imagegen.prompts import Describer, make_describer

    s = load({}, ALL_SECRETS, repo=tmp_path)
    assert isinstance(make_describer(s), Describer)
    s = load({"describer": "off"}, ALL_SECRETS, repo=tmp_path)
    assert make_describer(s) is None
    s = load({}, {k: v for k, v in ALL_SECRETS.items() if k != "GEMINI_API_KEY"}, repo=tmp_path)
    assert make_describer(s) is None


@pytest.mark.parametrize("name,model_env,default_model", [
    ("cloudflare", "CLOUDFLARE_IMAGE_MODEL", "@cf/black-forest-labs/flux-2-klein-4b"),
    ("huggingface", "HUGGINGFACE_IMAGE_MODEL", "black-forest-labs/FLUX.1-schnell"),
    ("together", "TOGETHER_IMAGE_MODEL", "black-forest-labs/FLUX.1-schnell"),
    ("pollinations", "POLLINATIONS_IMAGE_MODEL", "flux"),
    ("gemini", "IMAGE_GEMINI_MODEL", "gemini-3.1-flash-image"),
])
def test_model_and_base_url_come_from_env(tmp_path: Path, name: str, model_env: str, default_model: str) -> None:
    s = load({"providers": name}, ALL_SECRETS, repo=tmp_path)
    assert s.providers[0].model == default_model
    env = {**ALL_SECRETS, model_env: "other-model", f"IMAGEGEN_{name.upper()}_BASE_URL": "http://127.0.0.1:9"}
    s = load({"providers": name}, env, repo=tmp_path)
    assert s.providers[0].model == "other-model"
    assert s.providers[0].opts["base_url"] == "http://127.0.0.1:9"


def test_every_spec_is_complete() -> None:
    for name in ALL_NAMES:
        spec = SPECS[name]
        assert spec.needs and spec.quota_reset is not None and spec.limits.timeout > 0
        assert spec.default_base_url.startswith("https://")
        assert all(o.secret for o in spec.options if o.key in ("api_token", "api_key", "account_id"))
        now = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
        assert spec.quota_reset(now) > now


def test_create_registers_the_providers_secrets() -> None:
    import asyncio

    from imagegen.testing import VirtualClock
    from imagegen.providers.base import ProviderContext

    redact.clear()
    opts = {"api_token": "tok-registered-1", "account_id": "acct-registered-1", "api_key": "key-registered-1",
            "enabled": "true"}

    async def build() -> None:
        async with httpx.AsyncClient() as http:
            ctx = ProviderContext(http=http, clock=VirtualClock())
            for name in ALL_NAMES:
                await SPECS[name].create(opts, ctx).aclose()

    asyncio.run(build())
    assert {"tok-registered-1", "acct-registered-1", "key-registered-1"} <= redact.registered()
    redact.clear()


# --------------------------------------------------------------------------- transport failures


def _dns_failure(request: httpx.Request) -> httpx.Response:
    try:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    except socket.gaierror as exc:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc


def _dns_flaky(request: httpx.Request) -> httpx.Response:
    try:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    except socket.gaierror as exc:
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request) from exc


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if n != "huggingface"])
def test_dns_failure_is_unavailable(fake_providers: FakeProviders, name: str) -> None:
    # Hugging Face goes through huggingface_hub's own httpx2 client (this mock transport is for the
    # shared httpx client); its transport errors go through the same _http.transport_error.
    err = generate_once(fake_providers, name, transport=httpx.MockTransport(_dns_failure))
    assert type(err) is ProviderUnavailable, err
    err = generate_once(fake_providers, name, transport=httpx.MockTransport(_dns_flaky))
    assert type(err) is TransientError, err


def _library_errors() -> list[tuple[BaseException, str]]:
    import httpcore
    import httpcore2
    import httpx2

    out: list[tuple[BaseException, str]] = []
    for lib in (httpx, httpx2):
        out += [(lib.ConnectTimeout("t"), "timed out"), (lib.ReadTimeout("t"), "timed out"),
                (lib.PoolTimeout("t"), "timed out"), (lib.ConnectError("c"), "connection failed"),
                (lib.RemoteProtocolError("r"), "connection failed"), (lib.UnsupportedProtocol("u"), "unusable"),
                (lib.LocalProtocolError("l"), "unusable"), (lib.InvalidURL("i"), "unusable")]
    for core in (httpcore, httpcore2):
        out += [(core.ReadTimeout("t"), "timed out"), (core.ConnectError("c"), "connection failed"),
                (core.UnsupportedProtocol("u"), "unusable")]
    return out


@pytest.mark.parametrize("exc,says", _library_errors(), ids=lambda v: f"{type(v).__module__}.{type(v).__name__}"
                         if isinstance(v, BaseException) else str(v))
def test_transport_errors_are_classified_by_class_per_library(exc: BaseException, says: str) -> None:
    assert _http.transport_kind(exc) is not None
    err = _http.transport_error("p", exc, 5.0)
    assert says in str(err) and type(exc).__name__ in str(err)
    expected = {"unusable": ProviderUnavailable, "timed out": TimedOut}.get(says, TransientError)
    assert type(err) is expected and isinstance(err, ProviderUnavailable if says == "unusable" else TransientError)


def test_bare_socket_errors_count_only_where_asked() -> None:
    # google-genai may let a TimeoutError or OSError through as it is; huggingface_hub's Pillow
    # decode raises UnidentifiedImageError, an OSError that means a bad image, not the network.
    from PIL import UnidentifiedImageError

    assert _http.transport_kind(TimeoutError()) is None and _http.transport_kind(UnidentifiedImageError()) is None
    assert _http.transport_kind(TimeoutError(), builtins=True) == _http.TIMEOUT
    assert _http.transport_kind(ConnectionResetError(), builtins=True) == _http.CONNECTION
    assert "timed out" in str(_http.transport_error("p", TimeoutError()))
    assert _http.transport_kind(ValueError("not json")) is None


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if n != "gemini"])  # the SDK checks its base URL itself
def test_an_unparsable_base_url_is_unavailable_not_a_crash(fake_providers: FakeProviders, name: str) -> None:
    err = generate_once(fake_providers, name, base_url="http://[::1")
    assert type(err) is ProviderUnavailable and "unusable (InvalidURL)" in str(err), err


@pytest.mark.parametrize("name", ALL_NAMES)
def test_refused_connection_is_transient(fake_providers: FakeProviders, name: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = generate_once(fake_providers, name, base_url=f"http://127.0.0.1:{port}")
    assert type(err) is TransientError, err


@pytest.mark.parametrize("name", ALL_NAMES)
def test_timeout_is_transient(fake_providers: FakeProviders, name: str) -> None:
    # TimedOut is a TransientError (retried for an image; reported as `transient`), its own class
    # so that a describer model that timed out can be out for the run.
    fake_providers.script(name, [{"kind": "ok", "latency": 0.3}])
    err = generate_once(fake_providers, name, ctx_timeout="0.05")
    assert type(err) is TimedOut and err.kind == "transient" and "timed out" in str(err), err


@pytest.mark.parametrize("name", ALL_NAMES)
def test_response_size_cap(fake_providers: FakeProviders, name: str) -> None:
    err = generate_once(fake_providers, name, ctx_max_response_bytes="300")
    assert type(err) is BadImage and "cap" in str(err), err


# --------------------------------------------------------------------------- delays and resets


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value,expected", [
    ("41", 41.0),
    ("0", 0.0),
    ("1.5", 1.5),
    ("Tue, 24 Nov 2026 12:01:30 GMT", 90.0),
    ("Tue, 24 Nov 2026 11:00:00 GMT", 0.0),  # in the past: retry now
    ("soon", None),
    ("", None),
    (None, None),
    ("-5", None),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert _http.parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("value,expected", [("41s", 41.0), ("0.5s", 0.5), ("41.88s", 41.88), ("250ms", 0.25),
                                            (12, 12.0), ({"seconds": 3, "nanos": 500000000}, 3.5), ("x", None)])
def test_parse_duration(value: object, expected: float | None) -> None:
    assert _http.parse_duration(value) == expected


def test_retry_in_text() -> None:
    assert _http.retry_in_text("Quota exceeded. Please retry in 41.88s.") == 41.88
    assert _http.retry_in_text("retry after 3 seconds") == 3.0
    assert _http.retry_in_text("error 401 at 12s") is None


def test_reset_rules() -> None:
    assert base.next_utc_midnight(NOW) == datetime(2026, 11, 25, tzinfo=timezone.utc)
    assert base.next_utc_midnight(datetime(2026, 11, 24, 23, 59, tzinfo=timezone.utc)) == datetime(
        2026, 11, 25, tzinfo=timezone.utc)
    # 12:00 UTC is 04:00 in Los Angeles (PST, UTC-8): next midnight there is 08:00 UTC.
    assert base.next_pacific_midnight(NOW) == datetime(2026, 11, 25, 8, tzinfo=timezone.utc)
    # Summer (PDT, UTC-7); 06:00 UTC is still the previous day in LA.
    assert base.next_pacific_midnight(datetime(2026, 7, 1, 6, tzinfo=timezone.utc)) == datetime(
        2026, 7, 1, 7, tzinfo=timezone.utc)
    assert base.next_month_utc(NOW) == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert base.next_month_utc(datetime(2026, 12, 31, 23, tzinfo=timezone.utc)) == datetime(
        2027, 1, 1, tzinfo=timezone.utc)


def test_round_and_seed() -> None:
    assert (_http.round_to(1200), _http.round_to(630), _http.round_to(10), _http.round_to(5000)) == (
        1200, 624, 256, 1440)
    assert ImageRequest("a").seed == ImageRequest("a").seed == prompt_seed("a") != ImageRequest("b").seed
    assert ImageRequest("a", seed=7).seed == 7  # a seed given is kept


def test_excerpt_is_short_single_line_and_redacted() -> None:
    redact.register("sekrit-value-1")
    try:
        text = _http.excerpt("line one\nline two sekrit-value-1 " + "x" * 500)
        assert "\n" not in text and "sekrit-value-1" not in text and len(text) <= _http.MAX_EXCERPT
    finally:
        redact.clear()


# --------------------------------------------------------------------------- what the specs own


def test_display_names_and_secrets_come_from_the_specs() -> None:
    from imagegen.providers import display_name, secret_env_names, secret_options

    assert [display_name(n) for n in ("huggingface", "together", "local", "card", "cloudflare", "aihorde", "p1")] == [
        "Hugging Face", "Together AI", "the offline provider", "Card", "Cloudflare", "AI Horde", "P1"]
    every = [o.env for spec in REGISTRY for o in spec.options if o.secret]
    assert list(secret_env_names()) == list(dict.fromkeys(every))
    assert set(secret_env_names()) == {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "HUGGINGFACE_API_TOKEN",
                                       "TOGETHER_API_TOKEN", "POLLINATIONS_API_KEY", "AIHORDE_API_KEY", "GEMINI_API_KEY"}
    assert {o.input_name for o in secret_options()} >= {"cloudflare-api-token", "gemini-api-key"}
    assert [s.name for s in REGISTRY if s.renders_title] == ["card", "local"]


def test_doctor_fixes_are_the_specs() -> None:
    from imagegen.providers.base import AuthFailed, ModelUnavailable, QuotaExhausted

    cf = SPECS["cloudflare"]
    wrong_account = cf.fix_for(AuthFailed("cloudflare: HTTP 404 (code 7003): Could not route -- check "
                                          "CLOUDFLARE_ACCOUNT_ID"))
    assert wrong_account.startswith("set CLOUDFLARE_ACCOUNT_ID")
    assert cf.fix_for(AuthFailed("cloudflare: HTTP 401"), key_env="CLOUDFLARE_API_TOKEN").startswith(
        "set CLOUDFLARE_API_TOKEN")
    assert SPECS["gemini"].fix_for(ModelUnavailable("gone")) == "remove it from IMAGE_GEMINI_MODEL or put a served model first"
    assert "quota" in SPECS["together"].fix_for(QuotaExhausted("402"))
