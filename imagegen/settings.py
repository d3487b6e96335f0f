"""One frozen Settings object, built once from CLI args / action inputs / environment, validated once.

Every knob the tool has is declared exactly once, in `CORE` below (or, for provider knobs, in that
provider's `ProviderSpec.options`). The CLI's flags, the action's inputs and their environment
fallbacks are all derived from these declarations, so a default can never differ between them.

Raw values are strings (as the runner and env deliver them); `load` parses and validates them and
raises `SettingsError` with one clear sentence for the first bad one. Each value comes from, first
to last: the explicit value (CLI flag, action input), the environment, the repository's settings
file (`imagegen.config`: `.imagegen.toml` or `[tool.imagegen]` in pyproject.toml), the default.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from imagegen import safety, secrets
from imagegen.images import CROPS, FORMATS, Output, format_supported
from imagegen.config import EMPTY as NO_CONFIG
from imagegen.config import Config, ConfigError, load_config
from imagegen.prompts import TEMPLATE_FIELDS
from imagegen.providers import DEFAULT_ORDER, DEFAULT_RESERVE, REGISTRY, SPECS
from imagegen.providers.base import Limits, ProviderSpec
from imagegen.errors import SettingsError
from imagegen.frontmatter import FALSE_WORDS, TRUE_WORDS


@dataclass(frozen=True)
class SettingDef:
    """Declaration of one core setting. `name` is the kebab-case CLI flag / action input."""

    name: str
    default: str
    help: str
    env: str = ""
    multi: bool = False
    """A list: comma- or newline-separated in one string; the CLI flag may also repeat."""
    flag: bool = False
    """A boolean."""
    metavar: str = ""
    file: bool = False
    """A file path: relative to where the command runs, or (in the settings file) to the repository."""

    @property
    def env_name(self) -> str:
        return self.env or "IMAGEGEN_" + self.name.upper().replace("-", "_")


EMBED_STYLES = ("obsidian", "markdown", "frontmatter")
SITES = ("auto", "obsidian", "hugo", "jekyll", "astro")
DEFAULT_DESCRIBER_MODEL = "gemini-3.1-flash-lite"
DEFAULT_DESCRIBER_FALLBACKS = ("gemini-3.5-flash-lite", "gemini-3.5-flash")
"""The describer's models after DEFAULT_DESCRIBER_MODEL, in order (see providers.md)."""

CORE: tuple[SettingDef, ...] = (
    SettingDef("paths", "", "content paths to search for posts, relative to the repo (empty: the site's; "
               "obsidian: the whole repository, hugo: content, astro: src/content, jekyll: _posts folders)",
               multi=True, metavar="PATH"),
    SettingDef("posts", "", "only these post files (relative to the repo)", multi=True, metavar="FILE"),
    SettingDef("changed-since", "", "only posts changed since this git ref (plus uncommitted and untracked)", metavar="REF"),
    SettingDef("exclude", "", "file names that are never posts (empty: the site's; obsidian: index.md, AGENTS.md, "
               "IDEAS.md, README.md; hugo and astro: README.md)", multi=True, metavar="NAME"),
    SettingDef("include-undated", "false", "also treat .md files without a YYYY-MM-DD name prefix as posts", flag=True),
    SettingDef("site", "auto", "blog engine whose conventions to follow: " + "|".join(SITES)
               + " (auto: detected from the repository)", metavar="SITE"),
    SettingDef("attachments-dir", "", "folder for cover images, relative to the repo (empty: the site's; "
               "obsidian: attachments, hugo: static/images/covers or the page bundle, jekyll: assets/images/covers, "
               "astro: src/assets/covers)", metavar="DIR"),
    SettingDef("embed-style", "", "how the post refers to its cover: " + "|".join(EMBED_STYLES)
               + " (empty: the site's; obsidian: obsidian, the others: frontmatter)", metavar="STYLE"),
    SettingDef("frontmatter-field", "", "frontmatter field naming the cover, dotted for a nested key such as "
               "cover.image (empty: the site's; obsidian: image, hugo: images or cover.image, jekyll: image, "
               "astro: heroImage)", metavar="FIELD"),
    SettingDef("image-url-prefix", "", "URL prefix for site-absolute cover paths in the post, e.g. /blog/ (default: the site's)", metavar="PREFIX"),
    SettingDef("max-images", "", "generate at most N images this run (the rest are reported pending)", metavar="N"),
    SettingDef("dry-run", "false", "write nothing; show what would happen", flag=True),
    SettingDef("report", "", "write the JSON report to this file", metavar="FILE", file=True),
    SettingDef("timezone", "UTC", "timezone that decides 'today' for future-dated posts", metavar="TZ"),
    SettingDef("max-post-bytes", str(2 * 1024 * 1024), "posts larger than this are skipped", metavar="BYTES"),
    SettingDef("prompt-style", "", "text appended to every image prompt (e.g. 'watercolour, soft light')", metavar="TEXT"),
    SettingDef("prompt-template", "", "replaces the built-in text prompt; may use {title} {description} {tags} {body} {style}", metavar="TEXT"),
    SettingDef("social-headings", "", "more section headings (besides Share, Comments, Tweet, Bluesky, Mastodon ...) whose sections are left out of prompts", multi=True, metavar="HEADING"),
    SettingDef("prompt-in-frontmatter", "true", "store image_prompt and image_alt in the post's frontmatter (false: cache them in the state file)", flag=True),
    SettingDef("describer", "auto", "prompt source: auto (Gemini describer when a key is set), off (cleaned post text)", metavar="MODE"),
    SettingDef("describer-model", DEFAULT_DESCRIBER_MODEL, "Gemini text model that writes image prompts", env="PROMPT_DESCRIBER_MODEL", metavar="MODEL"),
    SettingDef("describer-fallbacks", ",".join(DEFAULT_DESCRIBER_FALLBACKS), "models tried in order when the describer model fails (retired, out of quota)", env="PROMPT_DESCRIBER_FALLBACKS", multi=True, metavar="MODEL"),
    SettingDef("providers", ",".join(DEFAULT_ORDER), "provider priority order", multi=True, metavar="NAME"),
    SettingDef("reserve", ",".join(DEFAULT_RESERVE), "providers used only once every earlier one is out", multi=True, metavar="NAME"),
    SettingDef("provider-budget", "", "at most N images from a provider this run: NAME=N", multi=True, metavar="NAME=N"),
    SettingDef("provider-max-in-flight", "", "override a provider's concurrent requests: NAME=N", multi=True, metavar="NAME=N"),
    SettingDef("provider-min-interval", "", "override a provider's minimum seconds between requests: NAME=S", multi=True, metavar="NAME=S"),
    SettingDef("provider-timeout", "", "override a provider's overall deadline per call in seconds: NAME=S", multi=True, metavar="NAME=S"),
    SettingDef("concurrency", "8", "posts in flight at once (enough to keep every free provider's slots busy)", metavar="N"),
    SettingDef("state-file", "", "remember provider quotas across runs in this JSON file (off when empty)", metavar="FILE", file=True),
    SettingDef("width", "1200", "cover width in pixels (providers round to what they accept)", metavar="PX"),
    SettingDef("height", "630", "cover height in pixels", metavar="PX"),
    SettingDef("crop", "center", "how a picture of another shape is cropped to width x height: center|smart (keeps the most detailed part)", metavar="MODE"),
    SettingDef("image-format", "jpeg", "cover file format: jpeg|webp|png|avif|original (the provider's own)", metavar="FORMAT"),
    SettingDef("title-overlay", "false", "set the post's title in a band over AI covers too (an OpenGraph card; the card provider always has it)", flag=True),
    SettingDef("image-quality", "", "encoder quality 1-100 for jpeg/webp/avif (default: jpeg 82, webp 80, avif 60)", metavar="N"),
)

CORE_BY_NAME: dict[str, SettingDef] = {d.name: d for d in CORE}


@dataclass(frozen=True)
class ProviderSettings:
    """One provider that joined the chain, with its resolved options and pacing."""

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


@dataclass(frozen=True)
class Settings:
    repo: Path
    # The site-owned settings: None means "the engine decides" (imagegen.sites: each engine's defaults).
    paths: tuple[str, ...] | None = None
    posts: tuple[str, ...] = ()
    changed_since: str | None = None
    exclude: tuple[str, ...] | None = None
    include_undated: bool = False
    site: str = "auto"
    attachments_dir: str | None = None
    embed_style: str | None = None
    frontmatter_field: str | None = None
    image_url_prefix: str | None = None
    max_images: int | None = None
    dry_run: bool = False
    report: Path | None = None
    timezone: str = "UTC"
    max_post_bytes: int = 2 * 1024 * 1024
    prompt_style: str = ""
    prompt_max_chars: int = 2048
    prompt_template: str = ""
    social_headings: tuple[str, ...] = ()
    prompt_in_frontmatter: bool = True
    describer: str = "auto"
    describer_model: str = DEFAULT_DESCRIBER_MODEL
    describer_fallbacks: tuple[str, ...] | None = None
    gemini_api_key: str = ""
    gemini_base_url: str = ""
    providers: tuple[ProviderSettings, ...] = ()
    concurrency: int = 8
    state_file: Path | None = None
    width: int = 1200
    height: int = 630
    crop: str = "center"
    image_format: str = "jpeg"
    image_quality: int | None = None
    title_overlay: bool = False
    config_file: str = ""
    """The settings file that was read (`.imagegen.toml`, `pyproject.toml [tool.imagegen]`), or ''."""

    @property
    def output(self) -> Output:
        """How covers are finished (size, crop, format, quality): see images.finish."""
        return Output(width=self.width, height=self.height, format=self.image_format,
                      quality=self.image_quality, crop=self.crop)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parsing helpers

def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}: expected true or false, got {value!r}")


def split_list(value: str) -> tuple[str, ...]:
    """Comma- and/or newline-separated list, blanks dropped (the way Actions users write lists)."""
    return tuple(p.strip() for p in re.split(r"[,\n]", value or "") if p.strip())


def parse_int(name: str, value: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        text = value.strip()
        if len(text) > 30:
            raise ValueError(text)
        n = int(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {value[:40]!r}") from None
    if n < minimum:
        raise SettingsError(f"{name}: must be at least {minimum}, got {n}")
    if maximum is not None and n > maximum:
        raise SettingsError(f"{name}: must be at most {maximum}, got {n}")
    return n


# Bounds of every number a user can set (issue 9: an unbounded number is a crash or a hang).
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_POST_BYTES = 64 * 1024 * 1024
MAX_CONCURRENCY = 64
MAX_COUNT = 1_000_000
"""max-images and provider budgets."""
MAX_SECONDS = 3600.0
"""provider-timeout and provider-min-interval."""
PAIR_BOUNDS: dict[str, float] = {"provider-budget": MAX_COUNT, "provider-max-in-flight": MAX_CONCURRENCY,
                                 "provider-min-interval": MAX_SECONDS, "provider-timeout": MAX_SECONDS}


def parse_pairs(name: str, items: tuple[str, ...], known: Mapping[str, object], *, number: type = int) -> dict[str, float]:
    """Parse NAME=N pairs, checking that NAME is a known provider."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError(f"{name}: expected NAME=N, got {item!r}")
        if key not in known:
            raise SettingsError(f"{name}: unknown provider {key!r} (known: {', '.join(known)})")
        try:
            if len(val.strip()) > 30:
                raise ValueError(val)
            n = number(val.strip())
        except (ValueError, OverflowError):
            raise SettingsError(f"{name}: expected a number after '{key}=', got {val.strip()!r}") from None
        if isinstance(n, float) and not math.isfinite(n):
            raise SettingsError(f"{name}: {key} must be a finite number, got {val.strip()!r}")
        if n < 0:
            raise SettingsError(f"{name}: {key} must not be negative")
        bound = PAIR_BOUNDS.get(name)
        if bound is not None and n > bound:
            raise SettingsError(f"{name}: {key} must be at most {bound:g}, got {val.strip()[:40]}")
        out[key] = n
    return out


def inside(root: Path, rel: str, name: str) -> str:
    """Normalise a repo-relative path and refuse one that escapes the repo."""
    p = (root / rel).resolve()
    try:
        r = p.relative_to(root.resolve())
    except ValueError:
        raise SettingsError(f"{name}: {rel!r} is outside the repository {str(root)!r}") from None
    return r.as_posix() if str(r) != "." else "."


# --------------------------------------------------------------------------- loading


def raw_value(raw: Mapping[str, str | None], env: Mapping[str, str], name: str, env_name: str, default: str,
              config: Config = NO_CONFIG) -> str:
    """A raw setting: the explicit value if non-empty, else the environment, else the settings
    file, else the default."""
    v = raw.get(name)
    if v is not None and str(v).strip() != "":
        return str(v)
    ev = env.get(env_name)
    if ev is not None and ev.strip() != "":
        return ev
    cv = config.get(name)
    if cv is not None:
        return cv
    return default


def provider_opts(spec: ProviderSpec, raw: Mapping[str, str | None], env: Mapping[str, str],
                  config: Config = NO_CONFIG) -> dict[str, str]:
    """Resolve one provider's options (explicit value > env > settings file > default)."""
    return {o.key: raw_value(raw, env, o.input_name, o.env, o.default, config).strip() for o in spec.all_options()}


def read_config(repo: Path) -> Config:
    """The repository's settings file (see imagegen.config); its problems as SettingsError."""
    try:
        return load_config(repo)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def _refuse_short_secrets(raw: Mapping[str, str | None], env: Mapping[str, str], config: Config = NO_CONFIG) -> None:
    """A secret shorter than secrets.MIN_LEN cannot be masked without shredding every message
    (a key 'null' would turn each JSON null into ***): refuse it, naming the setting, never the value."""
    for spec in REGISTRY:
        for o in spec.all_options():
            if not o.secret:
                continue
            value = raw_value(raw, env, o.input_name, o.env, o.default, config).strip()
            if 0 < len(value) < secrets.MIN_LEN:
                raise SettingsError(f"{o.input_name}: {len(value)} characters is too short for a real key or token "
                                    f"(at least {secrets.MIN_LEN}); check the secret's value")


def load(raw: Mapping[str, str | None], env: Mapping[str, str], *, repo: str | Path = ".") -> Settings:
    """Build validated Settings. `raw` maps setting names (kebab-case) to strings or None."""
    repo_path = Path(repo).expanduser()
    if not repo_path.is_dir():
        raise SettingsError(f"repository folder {str(repo_path)!r} does not exist")
    repo_path = repo_path.resolve()
    # Provider secrets from the environment are registered before anything can be said about the
    # settings file (its messages never hold a secret's value, but be strict about the order).
    for spec in REGISTRY:
        for s in spec.secrets(provider_opts(spec, raw, env)):
            secrets.register(s)
    _refuse_short_secrets(raw, env)
    config = read_config(repo_path)

    def get(name: str) -> str:
        d = CORE_BY_NAME[name]
        return raw_value(raw, env, name, d.env_name, d.default, config)

    # Provider options first: their secrets must be registered before any message is built.
    all_opts = {spec.name: provider_opts(spec, raw, env, config) for spec in REGISTRY}
    for spec in REGISTRY:
        for s in spec.secrets(all_opts[spec.name]):
            secrets.register(s)

    embed_style = get("embed-style").strip().lower() or None
    if embed_style is not None and embed_style not in EMBED_STYLES:
        raise SettingsError(f"embed-style: unknown style {embed_style!r} (choose one of: {', '.join(EMBED_STYLES)})")

    site = get("site").strip().lower() or "auto"
    if site not in SITES:
        raise SettingsError(f"site: unknown site {site!r} (choose one of: {', '.join(SITES)})")
    tz = get("timezone").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"timezone: unknown timezone {tz!r} (use an IANA name such as UTC or Europe/Berlin)") from None

    describer = get("describer").strip().lower()
    if describer not in ("auto", "off"):
        raise SettingsError(f"describer: expected auto or off, got {describer!r}")

    attachments_given = get("attachments-dir").strip()
    attachments = inside(repo_path, attachments_given, "attachments-dir") if attachments_given else None
    if attachments == ".":
        raise SettingsError("attachments-dir: must be a folder inside the repository, not its root")
    frontmatter_field = get("frontmatter-field").strip() or None
    if attachments is not None:
        safety.check_attachments(repo_path, attachments_given, attachments)
    if frontmatter_field is not None:
        safety.check_frontmatter_field(frontmatter_field)

    paths = tuple(inside(repo_path, p, "paths") for p in split_list(get("paths"))) or None
    posts = tuple(inside(repo_path, p, "posts") for p in split_list(get("posts")))

    max_images_raw = get("max-images").strip()
    max_images = parse_int("max-images", max_images_raw, maximum=MAX_COUNT) if max_images_raw else None

    report_raw = get("report").strip()
    state_raw = get("state-file").strip()
    try:
        if state_raw:
            safety.check_state_file(Path(state_raw).expanduser())
        if report_raw:
            safety.check_report(Path(report_raw).expanduser(), repo_path,
                                state_file=Path(state_raw).expanduser() if state_raw else None)
    except safety.Refusal as exc:
        raise SettingsError(str(exc)) from None

    # ---- providers
    order = split_list(get("providers"))
    explicit = raw_value(raw, env, "providers", CORE_BY_NAME["providers"].env_name, "", config) != ""
    if not explicit:  # the default order names providers that may not be registered (yet)
        order = tuple(n for n in order if n in SPECS)
    for name in order:
        if name not in SPECS:
            raise SettingsError(f"providers: unknown provider {name!r} (known: {', '.join(SPECS)})")
    if len(set(order)) != len(order):
        raise SettingsError("providers: a provider is named twice")
    reserve = split_list(get("reserve"))
    for name in reserve:
        if name not in SPECS and name not in DEFAULT_RESERVE:
            raise SettingsError(f"reserve: unknown provider {name!r} (known: {', '.join(SPECS)})")
    budgets = parse_pairs("provider-budget", split_list(get("provider-budget")), SPECS)
    max_in_flight = parse_pairs("provider-max-in-flight", split_list(get("provider-max-in-flight")), SPECS)
    min_interval = parse_pairs("provider-min-interval", split_list(get("provider-min-interval")), SPECS, number=float)
    timeouts = parse_pairs("provider-timeout", split_list(get("provider-timeout")), SPECS, number=float)
    for key, t in timeouts.items():
        if t <= 0:
            raise SettingsError(f"provider-timeout: {key} must be more than 0 seconds, got {t:g}")

    chosen: list[ProviderSettings] = []
    missing: list[str] = []
    for name in order:
        spec = SPECS[name]
        opts = all_opts[name]
        if not spec.enabled(opts):
            missing.append(f"{name} ({spec.needs})")
            continue
        if spec.check_opts is not None:
            why = spec.check_opts(opts)
            if why:
                raise SettingsError(f"{name}: {why}")
        if spec.check_model is not None:
            for model in spec.models(opts):
                why = spec.check_model(model)
                if why:
                    raise SettingsError(f"{name}-image-model: {why}")
        limits = spec.limits
        limits = Limits(
            max_in_flight=int(max_in_flight.get(name, limits.max_in_flight)) or 1,
            min_interval=float(min_interval.get(name, limits.min_interval)),
            timeout=float(timeouts.get(name, limits.timeout)),
            probe=limits.probe,
        )
        budget = budgets.get(name)
        if budget is not None and budget == 0:  # a zero budget: the provider is not used at all
            missing.append(f"{name} has provider-budget 0")
            continue
        chosen.append(
            ProviderSettings(
                spec=spec,
                opts=MappingProxyType(dict(opts)),
                limits=limits,
                budget=int(budget) if budget is not None else None,
                reserve=name in reserve,
            )
        )
    if not chosen:
        if explicit and order:
            raise SettingsError("no image provider is configured: " + "; ".join(m if "provider-budget" in m else f"{m} is not set" for m in missing))
        hints = "; ".join(f"{SPECS[n].name}: {SPECS[n].needs}" for n in DEFAULT_ORDER if n in SPECS)
        raise SettingsError(
            "no image provider is configured: set at least one of "
            + (hints or "the provider secrets")
            + " (or use --providers card for offline title-card covers)"
        )

    gemini_opts = all_opts.get("gemini", {})

    image_format = get("image-format").strip().lower()
    image_format = {"jpg": "jpeg"}.get(image_format, image_format)
    if image_format not in FORMATS:
        raise SettingsError(f"image-format: unknown format {image_format!r} (choose one of: {', '.join(FORMATS)})")
    if not format_supported(image_format):
        raise SettingsError(f"image-format: this Pillow build cannot write {image_format.upper()} "
                            f"(features.check({image_format!r}) is False); choose jpeg or webp")
    quality_raw = get("image-quality").strip()
    image_quality = parse_int("image-quality", quality_raw, minimum=1) if quality_raw else None
    if image_quality is not None and image_quality > 100:
        raise SettingsError(f"image-quality: must be at most 100, got {image_quality}")
    prompt_template = get("prompt-template").strip()
    if prompt_template:
        import string

        try:
            names = {f for _, f, _, _ in string.Formatter().parse(prompt_template) if f is not None}
        except ValueError as exc:
            raise SettingsError(f"prompt-template: {exc} (write a literal brace as {{{{ or }}}})") from None
        unknown = sorted(n for n in names if n not in TEMPLATE_FIELDS)
        if unknown:
            raise SettingsError(f"prompt-template: unknown field {{{unknown[0]}}} (use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)})")
    crop = get("crop").strip().lower() or "center"
    crop = {"centre": "center"}.get(crop, crop)
    if crop not in CROPS:
        raise SettingsError(f"crop: expected {' or '.join(CROPS)}, got {crop!r}")

    return Settings(
        repo=repo_path,
        paths=paths,
        posts=posts,
        changed_since=get("changed-since").strip() or None,
        exclude=split_list(get("exclude")) or None,
        include_undated=parse_bool("include-undated", get("include-undated")),
        attachments_dir=attachments,
        embed_style=embed_style,
        frontmatter_field=frontmatter_field,
        site=site,
        image_url_prefix=get("image-url-prefix").strip() or None,
        max_images=max_images,
        dry_run=parse_bool("dry-run", get("dry-run")),
        report=Path(report_raw).expanduser() if report_raw else None,
        timezone=tz,
        max_post_bytes=parse_int("max-post-bytes", get("max-post-bytes"), minimum=1, maximum=MAX_POST_BYTES),
        prompt_style=get("prompt-style").strip(),
        prompt_template=prompt_template,
        social_headings=split_list(get("social-headings")),
        prompt_in_frontmatter=parse_bool("prompt-in-frontmatter", get("prompt-in-frontmatter")),
        describer=describer,
        describer_model=get("describer-model").strip() or DEFAULT_DESCRIBER_MODEL,
        describer_fallbacks=split_list(get("describer-fallbacks")),
        gemini_api_key=gemini_opts.get("api_key", ""),
        gemini_base_url=gemini_opts.get("base_url", ""),
        providers=tuple(chosen),
        concurrency=parse_int("concurrency", get("concurrency"), minimum=1, maximum=MAX_CONCURRENCY),
        state_file=Path(state_raw).expanduser() if state_raw else None,
        width=parse_int("width", get("width"), minimum=MIN_SIDE, maximum=MAX_SIDE),
        height=parse_int("height", get("height"), minimum=MIN_SIDE, maximum=MAX_SIDE),
        crop=crop,
        image_format=image_format,
        image_quality=image_quality,
        title_overlay=parse_bool("title-overlay", get("title-overlay")),
        config_file=config.source,
    )
