"""Every setting, declared once: the run's core settings and the action's own inputs here, each
provider's options in the provider's module (read through the registry).

`all_knobs()` is the list the CLI's options, the action's inputs, `action.yml`, the tables in docs/settings.md
and the settings file's keys are made from; `KNOBS` maps a name to its Knob. The help of a setting
the blog engine decides names each engine's default; tests/test_settings.py checks those names
against the engines' own declarations (imagegen.sites), so the two cannot drift apart.
"""

from __future__ import annotations

from functools import cache

from imagegen.config.knob import Knob
from imagegen.images import CROPS, FORMATS
from imagegen.prompts import TEMPLATE_FIELDS
from imagegen.providers import DEFAULT_ORDER, DEFAULT_RESERVE, REGISTRY
from imagegen.sites import ENGINES

__all__ = ["ACTION", "CORE", "EMBED_STYLES", "GROUPS", "SITES", "all_knobs", "knob"]

EMBED_STYLES = ("obsidian", "markdown", "frontmatter")
SITES = ("auto", *ENGINES)
DEFAULT_DESCRIBER_MODEL = "gemini-3.1-flash-lite"
DEFAULT_DESCRIBER_FALLBACKS = ("gemini-3.5-flash-lite", "gemini-3.5-flash")
"""The describer's models after DEFAULT_DESCRIBER_MODEL, in order (see docs/providers.md)."""

MIN_SIDE, MAX_SIDE = 64, 4096
MAX_POST_BYTES = 64 * 1024 * 1024
MAX_CONCURRENCY = 64
MAX_COUNT = 1_000_000
"""max-images and provider budgets."""
MAX_SECONDS = 3600.0
"""provider-timeout and provider-min-interval."""

GROUPS: tuple[tuple[str, str], ...] = (
    ("cover", "What to cover"),
    ("providers", "Providers and prompts"),
    ("output", "Output"),
    ("commit", "Commit"),
    ("other", "Other settings"),
)
"""The sections of the input tables in docs/settings.md and of `imagegen run --help`."""

COVER, PROVIDERS, OUTPUT, COMMIT = "cover", "providers", "output", "commit"


def _engines(setting: str) -> str:
    """The help's note on a setting the blog engine decides: each registered engine's default, in
    its own words (`Site.describe_default`), so a new engine needs no edit here."""
    return " (empty: the site's; " + "; ".join(f"{name}: {cls.describe_default(setting)}"
                                               for name, (cls, _) in ENGINES.items()) + ")"

CORE: tuple[Knob, ...] = (
    Knob("paths", "content paths to search for posts, relative to the repo" + _engines("paths"), kind="list",
         metavar="PATH", path=True, group=COVER),
    Knob("site-dir", "the site's folder in the repository, e.g. site, docs or blog (empty: found: the folder the "
         "run is pointed at or one above it, else site/, docs/, blog/, website/ or www/ when a site is there)",
         metavar="DIR", path=True, group=COVER),
    Knob("sections", "which content folders hold posts, relative to the content folder (empty: the site's; "
         "hugo: params.mainSections, else the section with the most pages; astro: every collection in "
         "content.config; ignored when paths is given)", kind="list", metavar="SECTION", path=True, group=COVER),
    Knob("body-image", "a post whose only image is in its body, which no theme shows as the cover (hugo, "
         "jekyll, astro, quartz; an Obsidian note's body image is its cover): cover (name that image in the cover "
         "field: no quota spent), generate (make a cover), skip", "cover", kind="choice",
         choices=("cover", "generate", "skip"), metavar="MODE", group=COVER),
    Knob("posts", "only these post files (relative to the repo)", kind="list", metavar="FILE", path=True,
         group=COVER),
    Knob("changed-since", "only posts changed since this git ref (plus uncommitted and untracked)", metavar="REF",
         group=COVER),
    Knob("exclude", "file names that are never posts" + _engines("exclude"), kind="list", metavar="NAME", path=True,
         group=COVER),
    Knob("include-undated", "also treat .md files without a YYYY-MM-DD name prefix as posts", "false", kind="flag",
         group=COVER),
    Knob("site", "blog engine whose conventions to follow: " + "|".join(SITES) + " (auto: detected from the "
         "repository)", "auto", kind="choice", choices=SITES, noun="site", metavar="SITE", group=COVER),
    Knob("attachments-dir", "folder for cover images, relative to the repo" + _engines("attachments-dir"),
         metavar="DIR", path=True, group=OUTPUT),
    Knob("embed-style", "how the post refers to its cover: " + "|".join(EMBED_STYLES) + _engines("embed-style"),
         kind="choice", choices=EMBED_STYLES, noun="style",
         metavar="STYLE", group=OUTPUT),
    Knob("frontmatter-field", "frontmatter field naming the cover, dotted for a nested key such as cover.image"
         + _engines("frontmatter-field"),
         metavar="FIELD", group=OUTPUT),
    Knob("image-url-prefix", "URL prefix for site-absolute cover paths in the post, e.g. /blog/ (default: the "
         "site's)", metavar="PREFIX", path=True, group=OUTPUT),
    Knob("max-images", "generate at most N images this run (the rest are reported pending)", kind="int",
         maximum=MAX_COUNT, metavar="N", group=COVER),
    Knob("dry-run", "write nothing; show what would happen", "false", kind="flag", group=COVER),
    Knob("report", "write the JSON report to this file", kind="file", metavar="FILE", group=OUTPUT),
    Knob("timezone", "timezone that decides 'today' for future-dated posts", "UTC", metavar="TZ", group=COVER),
    Knob("max-post-bytes", "posts larger than this are skipped", str(2 * 1024 * 1024), kind="int", minimum=1,
         maximum=MAX_POST_BYTES, metavar="BYTES", group=COVER),
    Knob("prompt-style", "text appended to every image prompt (e.g. 'watercolour, soft light')", metavar="TEXT",
         group=PROVIDERS),
    Knob("prompt-template", "replaces the built-in text prompt; may use "
         + " ".join("{" + f + "}" for f in TEMPLATE_FIELDS), metavar="TEXT", group=PROVIDERS),
    Knob("social-headings", "more section headings (besides Share, Comments, Tweet, Bluesky, Mastodon ...) whose "
         "sections are left out of prompts", kind="list", metavar="HEADING", group=PROVIDERS),
    Knob("prompt-in-frontmatter", "store image_prompt and image_alt in the post's frontmatter (false: cache them "
         "in the state file)", "true", kind="flag", group=PROVIDERS),
    Knob("describer", "prompt source: auto (Gemini describer when a key is set), off (cleaned post text)", "auto",
         kind="choice", choices=("auto", "off"), metavar="MODE", group=PROVIDERS),
    Knob("describer-model", "Gemini text model that writes image prompts", DEFAULT_DESCRIBER_MODEL,
         env="PROMPT_DESCRIBER_MODEL", metavar="MODEL", group=PROVIDERS),
    Knob("describer-fallbacks", "models tried in order when the describer model fails (retired, out of quota)",
         ",".join(DEFAULT_DESCRIBER_FALLBACKS), env="PROMPT_DESCRIBER_FALLBACKS", kind="list", metavar="MODEL",
         group=PROVIDERS),
    Knob("providers", "provider priority order", ",".join(DEFAULT_ORDER), kind="list", metavar="NAME",
         group=PROVIDERS),
    Knob("reserve", "providers used only once every earlier one is out", ",".join(DEFAULT_RESERVE), kind="list",
         metavar="NAME", group=PROVIDERS),
    Knob("provider-budget", "at most N images from a provider this run: NAME=N", kind="pairs", maximum=MAX_COUNT,
         metavar="NAME=N", group=PROVIDERS),
    Knob("provider-max-in-flight", "override a provider's concurrent requests: NAME=N", kind="pairs",
         maximum=MAX_CONCURRENCY, metavar="NAME=N", group=PROVIDERS),
    Knob("provider-min-interval", "override a provider's minimum seconds between requests: NAME=S", kind="pairs",
         maximum=MAX_SECONDS, metavar="NAME=S", group=PROVIDERS),
    Knob("provider-timeout", "override a provider's overall deadline per call in seconds: NAME=S", kind="pairs",
         maximum=MAX_SECONDS, metavar="NAME=S", group=PROVIDERS),
    Knob("concurrency", "posts in flight at once (enough to keep every free provider's slots busy)", "8",
         kind="int", minimum=1, maximum=MAX_CONCURRENCY, metavar="N", group=PROVIDERS),
    Knob("state-file", "remember provider quotas across runs in this JSON file (off when empty)", kind="file",
         metavar="FILE", group=PROVIDERS),
    Knob("width", "cover width in pixels (providers round to what they accept)", "1200", kind="int",
         minimum=MIN_SIDE, maximum=MAX_SIDE, metavar="PX", group=OUTPUT),
    Knob("height", "cover height in pixels", "630", kind="int", minimum=MIN_SIDE, maximum=MAX_SIDE, metavar="PX",
         group=OUTPUT),
    Knob("crop", "how a picture of another shape is cropped to width x height: center|smart (keeps the most "
         "detailed part)", "center", kind="choice", choices=CROPS, aliases={"centre": "center"}, metavar="MODE",
         group=OUTPUT),
    Knob("image-format", "cover file format: jpeg|webp|png|avif|original (the provider's own)", "jpeg",
         kind="choice", choices=FORMATS, aliases={"jpg": "jpeg"}, noun="format", metavar="FORMAT", group=OUTPUT),
    Knob("title-overlay", "set the post's title in a band over AI covers too (an OpenGraph card; the card "
         "provider always has it)", "false", kind="flag", group=OUTPUT),
    Knob("image-quality", "encoder quality 1-100 for jpeg/webp/avif (default: jpeg 82, webp 80, avif 60)",
         kind="int", minimum=1, maximum=100, metavar="N", group=OUTPUT),
    Knob("card-colors", "title cards' colours, #rrggbb: the background (one colour, or its two ends) and, third, "
         "the accent (empty: derived from each post's prompt)", kind="list", metavar="COLOR", group=OUTPUT),
    Knob("card-font", "a font file (.ttf, .otf, .ttc) for the title on cards and the title band, relative to the "
         "repo; characters it lacks come from the built-in chain (empty: DejaVu Sans)", metavar="FILE",
         path=True, group=OUTPUT),
    Knob("card-logo", "an image file (PNG, JPEG, WebP) drawn small in a top corner of title cards and the title "
         "band, relative to the repo", metavar="FILE", path=True, group=OUTPUT),
    Knob("card-series", "show the series name (frontmatter series, else the post's folder) above the title",
         "true", kind="flag", group=OUTPUT),
    Knob("regenerate", "posts to give a new cover although they have one (as if they said regenerate_image: "
         "true); only these posts are looked at", kind="list", metavar="FILE", path=True, group=COVER),
)

ACTION: tuple[Knob, ...] = (
    Knob("mode", "`run`: give posts covers; `doctor`: only check the setup (each provider's key and models, the "
         "state file, the describer) through cheap endpoints, without making an image or committing; the step "
         "fails when no image provider is usable (for a manual workflow_dispatch workflow).", "run",
         scope="action", group=COMMIT),
    Knob("github-token", "Token used to commit the covers back (needs `permissions: contents: write`).",
         "${{ github.token }}", env="GITHUB_TOKEN", secret=True, scope="action", group=COMMIT),
    Knob("commit", "How to commit the covers: `api` (Git Data API; the commit is made and verified as the token's "
         "bot), `git` (git CLI as github-actions[bot], push with rebase-and-retry), `pull-request` (push them to "
         "the `pull-request-branch` and open or update one pull request for a human to approve; needs "
         "`permissions: pull-requests: write` too), or `none` (only write the files; a later step commits them).",
         "api", scope="action", group=COMMIT),
    Knob("pull-request-branch", "With `commit: pull-request`: the branch the covers are pushed to (reused and "
         "updated by later runs while its pull request is open).", "imagegen/covers", scope="action", group=COMMIT),
    Knob("commit-message", "Commit message. Default: \"Add cover image(s) for ...\" listing the posts.",
         scope="action", group=COMMIT),
    Knob("branch", "Branch to commit to. Default: the checked-out branch (the pull request's head branch on "
         "pull_request events).", scope="action", group=COMMIT),
    Knob("only-changed", "`auto`: on push (and pull_request) events only the posts changed by the pushed commits, "
         "on schedule and workflow_dispatch every post missing a cover; `true`: only changed posts (nothing on "
         "events without commits); `false`: every post missing a cover. An explicit `posts` or `changed-since` "
         "input wins.", "auto", scope="action", group=COVER),
)
"""The action's own inputs: how it commits and which posts an event selects (no CLI option)."""


@cache
def all_knobs() -> tuple[Knob, ...]:
    """Every setting: the core ones, each registered provider's options, the action's own inputs.
    A name declared twice is a programming error, caught here."""
    out = list(CORE)
    for spec in REGISTRY:
        out.extend(spec.all_options())
    out.extend(ACTION)
    names = [k.name for k in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuntimeError(f"settings declared twice: {', '.join(dupes)}")
    return tuple(out)


def knob(name: str) -> Knob:
    """The setting called `name` (KeyError for an unknown one)."""
    return _by_name()[name]


@cache
def _by_name() -> dict[str, Knob]:
    return {k.name: k for k in all_knobs()}
