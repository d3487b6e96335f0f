"""What every image provider shares: the error hierarchy, the request and result types, the protocol, the spec.

A provider translates its own wire errors into the classes below; the chain only ever sees these
(the mapping table is in docs/providers.md). Keeping the hierarchy small and documented, like
httpx's, is what lets the chain treat five very different APIs the same way:

    ProviderError (imagegen.errors.ImagegenError)   kind     what the chain does
    ├── QuotaExhausted                             quota        out until `reset_at`, remembered across runs
    ├── RateLimited                                rate_limit   wait `retry_after` (bounded), same provider
    ├── AuthFailed                                 auth         out for the run
    ├── ProviderUnavailable                        unavailable  out for the run
    ├── ModelUnavailable                           retired      next model at once; remembered for days
    ├── TransientError                             transient    bounded retries, then the next provider
    │   └── TimedOut                               transient    (the same; a describer model is out for the run)
    ├── ContentRefused                             refused      the next provider for this post
    ├── BadImage                                   bad_image    the next provider for this post
    └── BadRequest                                 bad_request  the next provider for this post
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from imagegen import redact
from imagegen.config.knob import Knob
from imagegen.errors import ImagegenError
from imagegen.images.check import GeneratedImage, ImageError, checked_image
from imagegen.images.overlay import DEFAULT_STYLE, CardStyle

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from imagegen.clock import Clock


# --------------------------------------------------------------------------- errors


class ProviderError(ImagegenError):
    """Base of every error a provider raises. `kind` is the report key counted per provider.

    Messages never contain a secret: ImagegenError masks every registered one.
    """

    kind: str = "error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def message(self) -> str:
        return str(self)


class QuotaExhausted(ProviderError):
    """The provider's daily/monthly allocation is used up; it is out until `reset_at` (UTC).

    `reset_at` may be None when the provider gave no hint; the chain then applies the
    provider spec's documented reset rule.
    """

    kind = "quota"

    def __init__(self, message: str, *, reset_at: datetime | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.reset_at = reset_at


class RateLimited(ProviderError):
    """Short-term limit: retry after `retry_after` seconds (None: the server gave no delay)."""

    kind = "rate_limit"

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class AuthFailed(ProviderError):
    """Bad or missing credentials, or the account may not use this model: out for the run."""

    kind = "auth"


class ProviderUnavailable(ProviderError):
    """Gone, wrong endpoint, DNS failure, a redirect we will not follow: out for the run."""

    kind = "unavailable"


class ModelUnavailable(ProviderError):
    """This *model* is retired or not served on this route (HF 410/400 'not supported by
    provider', Cloudflare 5007/3042/5028/5035, Gemini 404 NOT_FOUND, Together 404, Pollinations
    400 unknown model). The provider goes on with its next model at once; the state file
    remembers the model for `state.RETIRED_DAYS` days. Raised only on a structured signal that
    names the model, never on a bare 404 (a wrong base URL must not retire good models)."""

    kind = "retired"

    def __init__(self, message: str, *, model: str = "", status: int | None = None, remember: bool = True) -> None:
        super().__init__(message, status=status)
        self.model = model
        self.remember = remember
        """False: not served *now* (AI Horde: no volunteer runs it at the moment): out for this run
        only, not written to the state file."""


class TransientError(ProviderError):
    """5xx, timeouts, resets, a model still loading: worth a bounded retry.

    `retry_after` carries a server hint when there is one (Hugging Face's `estimated_time`).
    """

    kind = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class TimedOut(TransientError):
    """No complete answer within the call's deadline (a stalled server, or one dripping a byte a
    second). Still `transient` for an image call (retried, bounded), but a *describer* model that
    timed out is out for the run: a second call would most likely cost another full deadline,
    for every post (issue 19: a dripping describer cost every post three deadlines). A subclass,
    so its kind (and the report's keys) stay those of TransientError."""


class ContentRefused(ProviderError):
    """The provider refused this prompt (safety): try the next provider, never the same call again."""

    kind = "refused"


class BadImage(ProviderError):
    """A success status without a usable image (HTML, JSON, truncated bytes, placeholder)."""

    kind = "bad_image"


class BadRequest(ProviderError):
    """400/413/422: this request will not work here; next provider for this post."""

    kind = "bad_request"


ERROR_KINDS: tuple[str, ...] = tuple(c.kind for c in ProviderError.__subclasses__())
"""Report keys for errors per provider, in a stable order: one per direct subclass above, as
declared (TimedOut counts as `transient`)."""


# --------------------------------------------------------------------------- requests and results


def prompt_seed(prompt: str) -> int:
    """A deterministic seed from the prompt: same post, same picture (where the API honours it)."""
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:4], "big") % 2_147_483_647


@dataclass(frozen=True)
class Queued:
    """A note from a provider that queues work (AI Horde): this call waits in its queue at
    `position` (None: not said), expected to be done in `wait` seconds (None: not said)."""

    position: int | None
    wait: float | None


@dataclass(frozen=True)
class RouteOut:
    """A note from a provider with several routes to one model (Hugging Face's partners): `route`
    does not serve `model` (`reason`), skipped until `until` (None: for this run);
    `replacement` is the route tried next ('' when none is left)."""

    route: str
    model: str
    reason: str
    until: datetime | None
    replacement: str


Note = Queued | RouteOut
"""What a provider may tell about a call while it runs (the chain turns each into an Event)."""

NoteSink = Callable[[Note], None]


def no_notes(note: Note) -> None:
    return None


@dataclass(frozen=True)
class ImageRequest:
    """Everything one call asks of a provider. The pipeline fills in the post's part (prompt, size,
    title, series); the chain sets `model` for each call (the lane's current model).

    A provider uses what its API can take and ignores the rest: the card draws `title` and
    `series`, the HTTP APIs send `prompt`, `width`, `height` (rounded to what they accept) and
    `seed`. An empty `model` means the provider's first configured model (a direct call)."""

    prompt: str
    model: str = ""
    width: int = 1200
    height: int = 630
    seed: int | None = None
    """None: derived from the prompt (`prompt_seed`), so the same post gets the same picture."""
    title: str = ""
    series: str = ""
    style: CardStyle = DEFAULT_STYLE
    """The blog's card settings (colours, font, logo, series shown): the card draws with them."""
    notify: NoteSink = field(default=no_notes, compare=False, repr=False)
    """Where the provider sends its notes about this call (`Queued`, `RouteOut`): the chain sets
    it per call, with the post bound, so a note becomes an Event about that post."""

    def __post_init__(self) -> None:
        if self.seed is None:
            object.__setattr__(self, "seed", prompt_seed(self.prompt))


def checked(data: bytes, *, provider: str, model: str) -> GeneratedImage:
    """`images.checked_image` for a provider: bytes that are not a complete image are `BadImage`
    (the chain then tries the next provider for this post)."""
    try:
        return checked_image(data, provider=provider, model=model)
    except ImageError as exc:
        raise BadImage(str(exc)) from None


class Memory(Protocol):
    """What a provider may remember across runs: routes or models that are not served, for
    `state.RETIRED_DAYS` days (the state file, `imagegen.chain.state.State`, is one). `key` names
    the provider, or one of its routes ("huggingface@nscale")."""

    def retired_until(self, key: str, model: str, now: datetime | None = None, /) -> datetime | None:
        ...

    def mark_retired(self, key: str, model: str, now: datetime, /) -> datetime:
        ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may use when it is built: shared, run-wide resources."""

    http: "httpx.AsyncClient"
    clock: "Clock"
    max_response_bytes: int = 25 * 1024 * 1024
    timeout: float = 120.0
    """This provider's request timeout in seconds (its Limits.timeout, possibly overridden)."""
    memory: Memory | None = None
    """The run's state file (None: nothing is remembered between runs)."""


@runtime_checkable
class Provider(Protocol):
    """An image provider: small, stateless between calls, async.

    `model` is the first of its configured models. The chain calls every provider, and every test
    double, the same way: `generate(request)`, with `request.model` set to the model to use."""

    name: str
    model: str

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Return a checked image for `request` made by `request.model` (default: `self.model`),
        or raise a `ProviderError` subclass."""
        ...

    async def aclose(self) -> None:
        """Release anything the provider opened itself (the shared http client is not its own)."""
        ...


class TextBackend(Protocol):
    """A text model service: what the describer asks for a prompt (`imagegen.providers.text_backend`
    builds it). Errors are the same shared classes as an image provider's."""

    async def ask(self, model: str, contents: str, *, system: str, schema: Mapping[str, Any] | None = None,
                  label: str = "") -> str:
        """`model`'s text answer to `contents`, or a `ProviderError` subclass. `label` starts every
        error message (e.g. "describer gemini-3.1-flash-lite")."""
        ...

    async def check(self, models: tuple[str, ...], *, what: str, model_env: str, system: str = "",
                    schema: Mapping[str, Any] | None = None) -> list["Check"]:
        """`imagegen doctor`'s lines for the key and each model, and whether the service takes a
        call with `system` and `schema` as `ask` would send it (no generation)."""
        ...

    def fix_for(self, error: "ProviderError", *, model_env: str) -> str:
        """The one-line fix doctor prints for `error`."""
        ...

    async def aclose(self) -> None:
        ...


# --------------------------------------------------------------------------- specs


def Option(key: str, env: str, help: str, default: str = "", secret: bool = False, input: str = "") -> Knob:  # noqa: N802
    """One provider setting, declared as a Knob (imagegen.config.knob: the one type every setting
    has). `key` names it in the provider's resolved options; the env name is the one the blog's
    workflows already use; the CLI flag is `--<input>` and the action input is `<input>`
    (kebab-case, derived from env unless given)."""
    return Knob(input or env.lower().replace("_", "-"), help, default, env=env, secret=secret, scope="provider",
                group="providers", key=key)


@dataclass(frozen=True)
class Limits:
    """Per-provider pacing defaults (see providers.md); every one is overridable."""

    max_in_flight: int = 4
    min_interval: float = 0.0
    timeout: float = 120.0
    """Overall deadline of one call in seconds (connect, send, every read: a server dripping one
    byte a second cannot hold a run past it)."""
    probe: bool = True
    """The first call of a run (and the first call to a model after a retired one) goes alone;
    the full `max_in_flight` opens once it succeeded, or at once when the state file says the
    provider worked on its last run. So a bad key, a used-up quota or a retired model costs one
    call, not one per slot. False for a provider that cannot run out (the offline one)."""


@dataclass(frozen=True)
class Check:
    """One line of `imagegen doctor`: what was checked, whether it is fine, what is wrong, the fix."""

    what: str
    ok: bool
    problem: str = ""
    fix: str = ""
    usable: bool = True
    """For a model line: the provider can make images with it (the key line must be ok too)."""


DoctorCheck = Callable[[Mapping[str, str], "ProviderContext", tuple[str, ...]], Awaitable[list[Check]]]
"""A provider's cheap checks (model list/get, whoami, the Hub's mapping): never generates an image.
Gets the resolved options, a context and the configured models; returns the key line first."""


ResetRule = Callable[[datetime], datetime]
"""Given 'now' (aware UTC), when does a used-up quota come back (aware UTC)."""

# Quota reset rules (a spec's `quota_reset`, and the chain's fallback): pure functions now -> reset
# (aware UTC). `now` may be in any timezone; naive means UTC.

PACIFIC = ZoneInfo("America/Los_Angeles")


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def next_utc_midnight(now: datetime) -> datetime:
    n = _utc(now)
    return datetime(n.year, n.month, n.day, tzinfo=timezone.utc) + timedelta(days=1)


def next_pacific_midnight(now: datetime) -> datetime:
    local = _utc(now).astimezone(PACIFIC)
    nxt = (local + timedelta(days=1)).date()
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=PACIFIC).astimezone(timezone.utc)


def next_month_utc(now: datetime) -> datetime:
    n = _utc(now)
    year, month = (n.year + 1, 1) if n.month == 12 else (n.year, n.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc)


def in_one_hour(now: datetime) -> datetime:
    return _utc(now) + timedelta(hours=1)


def in_one_week(now: datetime) -> datetime:
    """For a balance nothing refills by itself (Pollinations since 2026-06-22): checked again a
    week later, or at once with another key (the state file keeps the key's fingerprint)."""
    return _utc(now) + timedelta(days=7)


DoctorFix = Callable[["ProviderError"], str]
"""A provider's own one-line fix for an error `imagegen doctor` shows ('' for the generic one)."""


def generic_fix(error: ProviderError, key_env: str, model_env: str) -> str:
    """The one-line fix `imagegen doctor` prints for an error class, when the provider has no
    better one of its own (`ProviderSpec.doctor_fix`)."""
    kind = error.kind
    if kind == "auth":
        return f"set {key_env} to a valid key with access to this API"
    if kind == "retired":
        return f"remove it from {model_env} or put a served model first"
    if kind == "quota":
        return "wait for the quota to reset, or add another provider"
    if kind in ("transient", "rate_limit"):
        return "try again later; check the network and the base URL"
    if kind == "unavailable":
        return "check the base URL (and that the host is reachable)"
    return "see the message"


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the rest of the program knows about a provider, in one place.

    `enabled(opts)` says whether the provider joins the chain with these settings; `create`
    builds it. `opts` maps option keys to strings (already resolved from CLI/inputs/env), plus
    `model` and `base_url`, which every provider has. `model` may be a comma list: the
    provider's ordered models (see `models`).
    """

    name: str
    options: tuple[Knob, ...]
    default_model: str
    default_base_url: str
    model_env: str
    enabled: Callable[[Mapping[str, str]], bool]
    create: Callable[[Mapping[str, str], ProviderContext], Provider]
    needs: str = ""
    """Human hint for what to set to enable it (used in the 'nothing configured' error)."""
    limits: Limits = field(default_factory=Limits)
    quota_reset: ResetRule | None = None
    doctor: DoctorCheck | None = None
    """Cheap 'will this work?' checks for `imagegen doctor` (None: nothing to check, e.g. local)."""
    check_opts: Callable[[Mapping[str, str]], str] | None = None
    """Given the resolved options, a one-line reason why they must not be used ('' when fine):
    refused as a settings error before any work (e.g. a Hugging Face token that is not hf_...)."""
    check_model: Callable[[str], str] | None = None
    """Given one model id, a one-line reason why it can never work here ('' when fine): refused
    as a settings error before any work (e.g. Gemini's `imagen-*` ids)."""
    renders_title: bool = False
    """The provider sets the post's title on its picture itself (the card): `--title-overlay`
    puts no band on top of it."""
    display_name: str = ""
    """How the provider is called in a sentence ("Hugging Face"); '' means the name, capitalised."""
    doctor_fix: DoctorFix | None = None
    """This provider's own fixes for `imagegen doctor` (e.g. Cloudflare's wrong account id)."""
    signup: str = ""
    """Where a newcomer gets a key (a URL; '' when the provider needs none). `imagegen doctor`
    prints it on the provider's `off` line: the moment someone has no key is when they need it."""
    free: str = ""
    """What the service gives without paying, in a few words ("about 170 covers a day"); said next
    to `signup`. Services change their terms: docs/providers.md gives the date of these facts."""
    alias_of: str = ""
    """The provider this name is another name for (`local` -> `card`): listed once, under its own name."""
    stand_in: Callable[[Mapping[str, str]], bool] | None = None
    """A keyless last resort (AI Horde): given the resolved options, True when it is on only
    because nothing else is (its switch left at `auto`). `config.settings` keeps such a provider
    in the default chain only when no other provider but the offline card joined it (or was meant
    to: given some of its secrets)."""
    caveat: str = ""
    """What a user must know before this provider makes their covers (AI Horde: who sees the
    prompts), said once when it joins the chain on its own."""

    def __post_init__(self) -> None:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.name[:1].upper() + self.name[1:])
        make = self.create

        def create(opts: Mapping[str, str], ctx: ProviderContext) -> Provider:
            # The entry points register every secret a user gives; a provider built any other way
            # (a library, a test) still never lets its own keys into a message.
            for value in self.secrets(opts):
                redact.register(value)
            return make(opts, ctx)

        object.__setattr__(self, "create", create)

    def fix_for(self, error: ProviderError, *, key_env: str | None = None, model_env: str | None = None) -> str:
        """The one-line fix `imagegen doctor` prints for `error`: the provider's own, else the
        generic one for its class. `key_env`/`model_env` name the settings to change (default:
        what enables the provider, and its model setting)."""
        own = self.doctor_fix(error) if self.doctor_fix is not None else ""
        return own or generic_fix(error, self.needs if key_env is None else key_env,
                                  self.model_env if model_env is None else model_env)

    def secret_options(self) -> tuple[Knob, ...]:
        """The options that hold a secret (keys, tokens, Cloudflare's account id)."""
        return tuple(o for o in self.options if o.secret)

    def half_configured(self, opts: Mapping[str, str]) -> str:
        """Why a provider given some of its secrets but not enough to join is left out, naming what
        is missing ("CLOUDFLARE_ACCOUNT_ID is missing (CLOUDFLARE_API_TOKEN is set)"); '' when it is
        enabled or given none of them. A generic "configure a provider" would hide the one line to add."""
        missing = self.missing_secrets(opts)
        if not missing:
            return ""
        given = [o.env or o.name for o in self.secret_options() if (opts.get(o.key) or "").strip()]
        return (f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing "
                f"({' and '.join(given)} {'is' if len(given) == 1 else 'are'} set)")

    def missing_secrets(self, opts: Mapping[str, str]) -> list[str]:
        """The secrets (by environment name) a half-configured provider still lacks; [] when it is
        enabled or was given none of them."""
        if self.enabled(opts):
            return []
        values = [(o, (opts.get(o.key) or "").strip()) for o in self.secret_options()]
        if not any(v for _, v in values):
            return []
        return [o.env or o.name for o, v in values if not v]

    def how_to_join(self) -> str:
        """What to set to add the provider, where to get the key and what it gives for free."""
        needs_nothing = self.enabled({})
        text = f"set {self.needs} to add it" if self.needs and not needs_nothing else "name it in --providers to add it"
        if self.signup:
            text += f"; get a key at {self.signup}"
        if self.free:
            text += f"; free: {self.free}"
        return text

    def models(self, opts: Mapping[str, str]) -> tuple[str, ...]:
        """The ordered model list from `opts['model']` (comma- or newline-separated), else the
        default list. Duplicates dropped, order kept."""
        return split_models(opts.get("model") or "") or split_models(self.default_model)

    @property
    def base_url_env(self) -> str:
        return f"IMAGEGEN_{self.name.upper()}_BASE_URL"

    def all_options(self) -> tuple[Knob, ...]:
        """The provider's own options plus the model option every provider has and, for providers
        that talk to a server, the base-URL option. Inputs are named `<provider>-image-model` and
        `<provider>-base-url` whatever the env names are (e.g. IMAGE_GEMINI_MODEL)."""
        extra = [Option("model", self.model_env,
                        f"{self.name} image model ids, in the order tried (comma-separated; a retired one "
                        "is skipped for the next)", default=self.default_model, input=f"{self.name}-image-model")]
        if self.default_base_url:
            extra.append(Option("base_url", self.base_url_env, f"{self.name} API base URL (tests, proxies)",
                                default=self.default_base_url, input=f"{self.name}-base-url"))
        return self.options + tuple(extra)

    def secrets(self, opts: Mapping[str, str]) -> list[str]:
        return [opts.get(o.key, "") for o in self.secret_options() if opts.get(o.key)]

    def fingerprint(self, opts: Mapping[str, str]) -> str:
        """A short one-way fingerprint of the credentials in `opts` ('' without any). The state
        file keeps it next to a used-up quota, so that a new key (or account) is tried at once
        while the old one stays out: the key itself is never written anywhere. 64 bits of a
        SHA-256 over a fixed label and the secrets: enough to tell keys apart, nothing to recover
        a key from."""
        secrets = self.secrets(opts)
        if not secrets:
            return ""
        digest = hashlib.sha256(b"imagegen credential fingerprint v1\0" + "\0".join(secrets).encode("utf-8"))
        return digest.hexdigest()[:16]


def split_models(value: str) -> tuple[str, ...]:
    """'a, b,a' -> ('a', 'b'): a comma/newline model list, blanks and repeats dropped."""
    out: list[str] = []
    for part in value.replace("\n", ",").split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return tuple(out)
