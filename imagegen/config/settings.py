"""One frozen, validated `Settings`, built once per command from the layers a user writes settings in.

    settings = load(raw, env, repo=".")     # raw: flag or action input values by name (None: not given)

`load` is four small steps: read the layers (imagegen.config.sources: flag or input > environment >
settings file > default), read each knob's raw string by its kind (imagegen.config.knob: the one
sentence naming the bound a value broke), validate the result into the pydantic model below (the
types of every field; a test or a library building Settings directly gets the same checks), and run
the refusals that need the disk or git (imagegen.config.preflight). Registering the secrets for
redaction is the entry point's job, once, before anything can be printed (`secret_values`).

The settings a blog engine owns (`paths`, `exclude`, `attachments-dir`, `embed-style`,
`frontmatter-field`, `image-url-prefix`) are None unless the user set them: the engine decides
(imagegen.sites).
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import string
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, ValidationError

from imagegen import redact
from imagegen.config import preflight
from imagegen.config.knob import Knob, parse_bool, parse_number, split_list
from imagegen.config.knobs import (CORE, DEFAULT_DESCRIBER_MODEL, MAX_COUNT, MAX_POST_BYTES, MAX_SIDE, MIN_SIDE,
                                   all_knobs, knob)
from imagegen.config.sources import Config, Layers, load_config
from imagegen.errors import ConfigError, SettingsError
from imagegen.images import Output, format_supported
from imagegen.images.overlay import CardStyle, check_font, check_logo, parse_colors
from imagegen.prompts import TEMPLATE_FIELDS
from imagegen.providers import DEFAULT_ORDER, DEFAULT_RESERVE, REGISTRY, SPECS
from imagegen.providers.base import Limits, ProviderSpec

__all__ = ["ProviderSettings", "Settings", "SettingsError", "load", "provider_opts", "read_config", "secret_values"]


@dataclass(frozen=True)
class ProviderSettings:
    """One provider that joined the chain, with its resolved options and pacing (built by `load`
    from validated values: not user input, so a plain dataclass)."""

    spec: ProviderSpec
    opts: Mapping[str, str]
    limits: Limits
    budget: int | None = None
    reserve: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def models(self) -> tuple[str, ...]:
        """The ordered model list (first = the one tried first)."""
        return self.spec.models(self.opts)

    @property
    def model(self) -> str:
        return self.models[0]


class Settings(BaseModel):
    """Every setting of one run, validated; frozen (change a copy with `with_`)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    repo: Path
    """The repository's root: the git work tree holding the folder the run was pointed at (that
    folder itself outside git). Post paths in the report are relative to it."""
    start: str = ""
    """The folder the run was pointed at, relative to `repo` ('' the root): where the site is looked
    for first, and what `paths`, `posts` and `attachments-dir` are relative to."""
    site_dir: Optional[str] = None
    # The site-owned settings: None means "the engine decides" (imagegen.sites: each engine's defaults).
    paths: Optional[tuple[str, ...]] = None
    sections: Optional[tuple[str, ...]] = None
    body_image: str = "cover"
    posts: tuple[str, ...] = ()
    changed_since: Optional[str] = None
    exclude: Optional[tuple[str, ...]] = None
    include_undated: bool = False
    site: str = "auto"
    attachments_dir: Optional[str] = None
    embed_style: Optional[str] = None
    frontmatter_field: Optional[str] = None
    image_url_prefix: Optional[str] = None
    max_images: Optional[int] = Field(None, ge=0, le=MAX_COUNT)
    dry_run: bool = False
    report: Optional[Path] = None
    timezone: str = "UTC"
    max_post_bytes: int = Field(2 * 1024 * 1024, ge=1, le=MAX_POST_BYTES)
    prompt_style: str = ""
    prompt_max_chars: int = Field(2048, ge=1)
    prompt_template: str = ""
    social_headings: tuple[str, ...] = ()
    prompt_in_frontmatter: bool = True
    describer: str = "auto"
    describer_model: str = DEFAULT_DESCRIBER_MODEL
    describer_fallbacks: Optional[tuple[str, ...]] = None
    provider_opts: Mapping[str, Mapping[str, str]] = Field(default_factory=dict)
    """Every registered provider's resolved options, in the chain or not (the describer reads its
    backend's key here; providers only ever see their own, through ProviderSettings)."""
    providers: tuple[InstanceOf[ProviderSettings], ...] = ()
    concurrency: int = Field(8, ge=1)
    state_file: Optional[Path] = None
    width: int = Field(1200, ge=MIN_SIDE, le=MAX_SIDE)
    height: int = Field(630, ge=MIN_SIDE, le=MAX_SIDE)
    crop: str = "center"
    image_format: str = "jpeg"
    image_quality: Optional[int] = Field(None, ge=1, le=100)
    title_overlay: bool = False
    card_colors: tuple[tuple[int, int, int], ...] = ()
    card_font: str = ""
    card_logo: str = ""
    card_series: bool = True
    regenerate: tuple[str, ...] = ()
    """Posts given a new cover although they have one (`--regenerate POST`); also the run's posts."""
    config_file: str = ""
    """The settings file that was read (`.imagegen.toml`, `pyproject.toml [tool.imagegen]`), or ''."""
    no_provider: str = ""
    """Why the chain is empty ('' when it is not): a dry run and `imagegen doctor` need no provider,
    so they say this instead of refusing; a run that writes refuses with it before any work."""
    left_out: tuple[str, ...] = ()
    """Providers given some of their secrets but not all ("cloudflare: CLOUDFLARE_ACCOUNT_ID is
    missing (CLOUDFLARE_API_TOKEN is set)"): the run says so once instead of leaving them out silently."""
    standing_in: tuple[str, ...] = ()
    """A keyless provider that joined only because no other is configured (AI Horde), with what to
    know about it (who sees the prompts): the run says so once; a dry run, in its last line."""

    @property
    def output(self) -> Output:
        """How covers are finished (size, crop, format, quality): see images.finish."""
        return Output(width=self.width, height=self.height, format=self.image_format,
                      quality=self.image_quality, crop=self.crop)

    @property
    def card_style(self) -> CardStyle:
        """How title cards and the title band look (colours, font, logo, series)."""
        return CardStyle(self.card_colors, self.card_font, self.card_logo, self.card_series)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_(self, **changes: object) -> "Settings":
        """A copy with `changes`, validated again."""
        return type(self).model_validate({**dict(self), **changes})


# --------------------------------------------------------------------------- reading the layers


def read_config(repo: Path, start: Path | None = None) -> Config:
    """The settings file (see imagegen.config.sources) of the folder the run was pointed at, else
    the repository's; its problems as SettingsError."""
    try:
        if start is not None and start != repo:
            own = load_config(start)
            if own.source:
                return own
        return load_config(repo)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def provider_opts(spec: ProviderSpec, layers: Layers) -> dict[str, str]:
    """One provider's options (flag or input > environment > settings file > default)."""
    return {o.key: layers.get(o).strip() for o in spec.all_options()}


def secret_values(raw: Mapping[str, str | None], env: Mapping[str, str]) -> list[str]:
    """Every secret a user gave (flags, inputs, environment): the entry point registers them for
    redaction (imagegen.redact) before anything is printed. Never read from the settings file,
    which refuses secrets."""
    layers = Layers(raw, env)
    return [v.strip() for k in all_knobs() if k.secret and (v := layers.given(k)) and v.strip()]


def _refuse_short_secrets(layers: Layers) -> None:
    """A secret shorter than redact.MIN_LEN cannot be masked without shredding every message
    (a key 'null' would turn each JSON null into ***): refuse it, naming the setting, never the value.
    A key with a line break or a space inside (two lines pasted into one secret) would reach the
    provider as a broken header, which reads as "the API URL is unusable": say what it is instead."""
    for k in all_knobs():
        if k.secret and k.scope == "provider":
            value = (layers.given(k) or "").strip()
            if 0 < len(value) < redact.MIN_LEN:
                raise SettingsError(f"{k.name}: {len(value)} characters is too short for a real key or token "
                                    f"(at least {redact.MIN_LEN}); check the secret's value")
            if any(c.isspace() or not c.isprintable() for c in value):
                what = "a line break" if any(c in value for c in "\r\n") else "a space or control character"
                raise SettingsError(f"{k.name}: the value has {what} inside it, and a key or token is one word; "
                                    "paste the secret's value again")


def _inside(root: Path, rel: str, name: str) -> str:
    """Normalise a repo-relative path and refuse one that escapes the repo."""
    p = (root / rel).resolve()
    try:
        r = p.relative_to(root.resolve())
    except ValueError:
        raise SettingsError(f"{name}: {rel!r} is outside the repository {str(root)!r}") from None
    return r.as_posix() if str(r) != "." else "."


def _read(k: Knob, text: str) -> Any:
    """One core knob's raw string as a value, by its kind (None for an empty optional one)."""
    if k.kind == "flag":
        return parse_bool(k.name, text)
    if k.kind == "int":
        return k.number(text)
    if k.kind == "choice":
        return k.choice(text) if text.strip() else None
    if k.kind == "list":
        return split_list(text)
    return text.strip()


# --------------------------------------------------------------------------- the core settings


_CHAIN = frozenset({"providers", "reserve"})
"""Core settings that become the chain (ProviderSettings), not fields of their own."""


def repository_root(folder: Path) -> Path:
    """The root of the git work tree `folder` is in (a `.git` folder or file), else `folder`:
    imagegen run from `blog/content/posts` works on the whole repository."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _core(layers: Layers, repo: Path, start: str = "") -> dict[str, Any]:
    """The core settings' values, each read by its kind, with the checks a kind cannot express.
    Paths a user gives are relative to the folder the run was pointed at (`start`)."""
    values = {k.name: _read(k, layers.get(k)) for k in CORE if k.kind != "pairs" and k.name not in _CHAIN}
    for name in ("paths", "posts"):
        values[name] = [posixpath.join(start, p) for p in values[name]]
    for name in ("attachments-dir", "site-dir"):
        if values[name]:
            values[name] = posixpath.join(start, values[name])
    tz = values["timezone"]
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"timezone: unknown timezone {tz!r} (use an IANA name such as UTC or Europe/Berlin)") from None
    fmt = values["image-format"]
    if not format_supported(fmt):
        raise SettingsError(f"image-format: this Pillow build cannot write {fmt.upper()} "
                            f"(features.check({fmt!r}) is False); choose jpeg or webp")
    _check_template(values["prompt-template"])
    attachments = values["attachments-dir"]
    if attachments:
        resolved = _inside(repo, attachments, "attachments-dir")
        if resolved == ".":
            raise SettingsError("attachments-dir: must be a folder inside the repository, not its root")
        preflight.check_attachments(repo, attachments, resolved)
        values["attachments-dir"] = resolved
    if values["frontmatter-field"]:
        preflight.check_frontmatter_field(values["frontmatter-field"])
    values["paths"] = tuple(_inside(repo, p, "paths") for p in values["paths"]) or None
    values["posts"] = tuple(_inside(repo, p, "posts") for p in values["posts"])
    for given, rel in zip(split_list(layers.get(knob("posts"))), values["posts"]):
        if not os.path.lexists(repo / rel):  # a typo must not pass as "nothing to do" (exit 0) in a script
            raise SettingsError(f"posts: {given!r} does not exist in the repository")
    if values["site-dir"]:
        values["site-dir"] = _inside(repo, values["site-dir"], "site-dir")
        if not (repo / values["site-dir"]).is_dir():
            raise SettingsError(f"site-dir: {values['site-dir']!r} is not a folder of the repository")
    for name in ("sections", "site-dir", "exclude", "changed-since", "frontmatter-field", "image-url-prefix",
                 "attachments-dir"):
        values[name] = values[name] or None
    for name in ("report", "state-file"):
        values[name] = Path(values[name]).expanduser() if values[name] else None
    values["regenerate"] = _regenerate(values, repo)
    _card_settings(values, repo)
    return values


def _regenerate(values: dict[str, Any], repo: Path) -> tuple[str, ...]:
    """`regenerate`: these posts (which must exist) are the run's posts, each given a new cover."""
    chosen = tuple(_inside(repo, p, "regenerate") for p in values["regenerate"])
    for rel in chosen:
        if not os.path.lexists(repo / rel):
            raise SettingsError(f"regenerate: {rel!r} does not exist in the repository")
    if chosen:
        values["posts"] = tuple(dict.fromkeys(values["posts"] + chosen))
    return chosen


def _card_settings(values: dict[str, Any], repo: Path) -> None:
    """card-font and card-logo (files in the repository) and card-colors, checked now: a font that
    does not load or a colour that is not one is refused before any cover is made."""
    for name in ("card-font", "card-logo"):
        if values[name]:
            rel = _inside(repo, values[name], name)
            if not (repo / rel).is_file():
                raise SettingsError(f"{name}: {values[name]!r} is not a file in the repository")
            values[name] = str(repo / rel)
    checks = (("card-colors", lambda: parse_colors(values["card-colors"])),
              ("card-font", lambda: values["card-font"] and check_font(values["card-font"])),
              ("card-logo", lambda: values["card-logo"] and check_logo(values["card-logo"])))
    for name, check in checks:
        try:
            result = check()
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None
        if name == "card-colors":
            values[name] = result


MAX_TEMPLATE_WIDTH = 10_000
"""The largest width or precision a prompt template's format spec may ask for: `{title:.80}` cuts
a title, `{title:>300000000}` would pad every prompt to 300 MB."""
_CONVERSIONS = (None, "s", "r", "a")


def _check_template(template: str) -> None:
    """Refuse a template that cannot format, before any post is read: an unknown field, a nested
    `{title:{body}}`, an unknown conversion `{title!z}`, a format spec that str.format refuses, or
    a width or precision over MAX_TEMPLATE_WIDTH (its memory: see the docs' measurements)."""
    if not template:
        return
    try:
        parts = [(f, spec or "", conv) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise SettingsError(f"prompt-template: {exc} (write a literal brace as {{{{ or }}}})") from None
    for name, spec, conv in parts:
        _check_template_field(name, spec, conv)


def _check_template_field(name: str, spec: str, conv: str | None) -> None:
    shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
    if name not in TEMPLATE_FIELDS:
        raise SettingsError(f"prompt-template: unknown field {{{name}}} "
                            f"(use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)})")
    if conv not in _CONVERSIONS:
        raise SettingsError(f"prompt-template: {shown}: unknown conversion !{conv} (use !s, !r or !a, or none)")
    if "{" in spec or "}" in spec:
        raise SettingsError(f"prompt-template: {shown}: nested fields in a format spec are not supported")
    for digits in re.findall(r"\d+", spec):
        if len(digits) > 6 or int(digits) > MAX_TEMPLATE_WIDTH:
            raise SettingsError(f"prompt-template: {shown}: a width or precision must be at most {MAX_TEMPLATE_WIDTH}")
    try:
        format("sample text", spec)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"prompt-template: {shown}: {exc}") from None


# --------------------------------------------------------------------------- the providers


def _pairs(layers: Layers, name: str, *, number: type = int) -> dict[str, float]:
    """NAME=N pairs, NAME a known provider, N within the knob's bound."""
    k = knob(name)
    out: dict[str, float] = {}
    for item in split_list(layers.get(k)):
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError(f"{name}: expected NAME=N, got {item!r}")
        if key not in SPECS:
            raise SettingsError(f"{name}: {_unknown_provider(key)}")
        out[key] = parse_number(name, key, val.strip(), number=number, bound=k.maximum)
    return out


def _unknown_provider(name: str) -> str:
    """"unknown provider 'cardd' (did you mean 'card'?; known: ...)", as options and commands do."""
    match = difflib.get_close_matches(name, list(SPECS), n=1, cutoff=0.6)
    guess = f"did you mean {match[0]!r}?; " if match else ""
    return f"unknown provider {name!r} ({guess}known: {', '.join(SPECS)})"


def _order(layers: Layers) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """(the providers in order, whether the user named them, the reserve)."""
    explicit = layers.given(knob("providers")) not in (None, "")
    order = split_list(layers.get(knob("providers")))
    if not explicit:  # the default order names providers that may not be registered (yet)
        order = tuple(n for n in order if n in SPECS)
    for name in order:
        if name not in SPECS:
            raise SettingsError(f"providers: {_unknown_provider(name)}")
    if len(set(order)) != len(order):
        raise SettingsError("providers: a provider is named twice")
    reserve = split_list(layers.get(knob("reserve")))
    for name in reserve:
        if name not in SPECS and name not in DEFAULT_RESERVE:
            raise SettingsError(f"reserve: {_unknown_provider(name)}")
    return order, explicit, reserve


def _check_provider(spec: ProviderSpec, opts: Mapping[str, str]) -> None:
    if spec.check_opts is not None:
        why = spec.check_opts(opts)
        if why:
            raise SettingsError(f"{spec.name}: {why}")
    if spec.check_model is not None:
        for model in spec.models(opts):
            why = spec.check_model(model)
            if why:
                raise SettingsError(f"{spec.name}-image-model: {why}")


def _providers(layers: Layers, all_opts: Mapping[str, Mapping[str, str]]) -> tuple[tuple[ProviderSettings, ...], str]:
    """The chain: each named (or default) provider that is configured, with its pacing; and, when
    none is, why (the line a run that needs one refuses with)."""
    order, explicit, reserve = _order(layers)
    budgets = _pairs(layers, "provider-budget")
    in_flight = _pairs(layers, "provider-max-in-flight")
    interval = _pairs(layers, "provider-min-interval", number=float)
    timeouts = _pairs(layers, "provider-timeout", number=float)
    for key, t in timeouts.items():
        if t <= 0:
            raise SettingsError(f"provider-timeout: {key} must be more than 0 seconds, got {t:g}")
    chosen: list[ProviderSettings] = []
    missing: list[str] = []
    for name in order:
        spec, opts = SPECS[name], all_opts[name]
        if not spec.enabled(opts):
            half = spec.half_configured(opts)
            missing.append(f"{name}: {half}" if half else f"{name} ({spec.needs})")
            continue
        _check_provider(spec, opts)
        budget = budgets.get(name)
        if budget is not None and budget == 0:  # a zero budget: the provider is not used at all
            missing.append(f"{name} has provider-budget 0")
            continue
        limits = Limits(max_in_flight=int(in_flight.get(name, spec.limits.max_in_flight)) or 1,
                        min_interval=float(interval.get(name, spec.limits.min_interval)),
                        timeout=float(timeouts.get(name, spec.limits.timeout)), probe=spec.limits.probe)
        chosen.append(ProviderSettings(spec=spec, opts=MappingProxyType(dict(opts)), limits=limits,
                                       budget=int(budget) if budget is not None else None, reserve=name in reserve))
    if not explicit:
        chosen = _without_idle_stand_ins(chosen, wanted=any(SPECS[n].half_configured(all_opts[n]) for n in order))
    return tuple(chosen), ("" if chosen else _nothing_configured(explicit and bool(order), missing, all_opts))


def _stands_in(ps: ProviderSettings) -> bool:
    return ps.spec.stand_in is not None and ps.spec.stand_in(ps.opts)


def _without_idle_stand_ins(chosen: list[ProviderSettings], *, wanted: bool) -> list[ProviderSettings]:
    """The default chain without a keyless last resort left at `auto` (AI Horde) when another AI
    provider joined it, or was `wanted` (given a key but not all it needs: the user meant that
    one, and must hear what is missing rather than have their prompts go to volunteers). The
    stand-in is for the blogger who has no key at all."""
    if wanted or any(not _stands_in(ps) and not ps.spec.renders_title for ps in chosen):
        return [ps for ps in chosen if not _stands_in(ps)]
    return chosen


def _standing_in(providers: tuple[ProviderSettings, ...], layers: Layers) -> tuple[str, ...]:
    """What to say about a stand-in that joined on its own (see Settings.standing_in): nothing
    when the user named the providers (then they chose it)."""
    if layers.given(knob("providers")) not in (None, ""):
        return ()
    return tuple(f"no provider key is set, so {ps.spec.display_name} makes the covers: {ps.spec.caveat}"
                 for ps in providers if _stands_in(ps) and ps.spec.caveat)


def _nothing_configured(named: bool, missing: list[str], all_opts: Mapping[str, Mapping[str, str]]) -> str:
    """Why no provider joined, naming a half-configured one first: its missing secret is the
    one line to add."""
    if named:
        return "no image provider is configured: " + "; ".join(
            m if ("provider-budget" in m or " missing " in m) else f"{m} is not set" for m in missing)
    half = [f"{n}: {SPECS[n].half_configured(all_opts[n])}" for n in DEFAULT_ORDER
            if n in SPECS and SPECS[n].half_configured(all_opts[n])]
    if half:
        return "no image provider is configured: " + "; ".join(half)
    hints = "; ".join(f"{SPECS[n].name}: {SPECS[n].needs}" for n in DEFAULT_ORDER if n in SPECS)
    return ("no image provider is configured: set at least one of " + (hints or "the provider secrets")
            + " (or use --providers card for offline title-card covers)")


def _left_out(providers: tuple[ProviderSettings, ...], all_opts: Mapping[str, Mapping[str, str]]) -> tuple[str, ...]:
    """Half-configured providers outside a chain that has others (see Settings.left_out)."""
    if not providers:
        return ()  # the refusal (or the dry run's note) names them already
    in_chain = {ps.name for ps in providers}
    return tuple(f"{spec.name}: {spec.half_configured(all_opts[spec.name])}, so it is left out" for spec in REGISTRY
                 if spec.name not in in_chain and spec.half_configured(all_opts[spec.name]))


# --------------------------------------------------------------------------- load


def _validated(fields: dict[str, Any]) -> Settings:
    """The pydantic model; a value its field refuses is one SettingsError line (never pydantic's
    own multi-line text, which would quote the value)."""
    try:
        return Settings.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        raise SettingsError(f"{where.replace('_', '-')}: {err.get('msg', 'invalid value')}") from None


def load(raw: Mapping[str, str | None], env: Mapping[str, str], *, repo: str | Path = ".",
         need_provider: bool | None = None) -> Settings:
    """Build validated Settings. `raw` maps setting names (kebab-case) to strings or None.

    `need_provider`: refuse an empty provider chain (the default: unless it is a dry run, which
    writes nothing and calls no provider). `imagegen doctor` passes False: with no key at all it
    still prints its table, with where to get one."""
    repo_path = Path(repo).expanduser()
    if repo_path.exists() and not repo_path.is_dir():
        raise SettingsError(f"{str(repo_path)!r} is a file, not the blog's folder (to cover one post: "
                            f"--posts {repo_path.name} in its repository)")
    if not repo_path.is_dir():
        raise SettingsError(f"repository folder {str(repo_path)!r} does not exist")
    given = repo_path.resolve()
    repo_path = repository_root(given)
    start = given.relative_to(repo_path).as_posix() if given != repo_path else ""
    _refuse_short_secrets(Layers(raw, env))
    layers = Layers(raw, env, read_config(repo_path, given))
    values = _core(layers, repo_path, start)
    all_opts = {spec.name: provider_opts(spec, layers) for spec in REGISTRY}
    providers, no_provider = _providers(layers, all_opts)
    if no_provider and (need_provider if need_provider is not None else not values["dry-run"]):
        raise SettingsError(no_provider)
    fields = {k.replace("-", "_"): v for k, v in values.items()}
    fields.update(repo=repo_path, start=start,
                  describer_model=fields["describer_model"] or DEFAULT_DESCRIBER_MODEL,
                  provider_opts={n: MappingProxyType(o) for n, o in all_opts.items()}, providers=providers,
                  config_file=layers.file.source, no_provider=no_provider,
                  left_out=_left_out(providers, all_opts), standing_in=_standing_in(providers, layers))
    settings = _validated(fields)
    preflight.preflight(settings)
    return settings

