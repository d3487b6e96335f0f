"""The action's inputs and outputs, and the files generated from them: action.yml, the release's
action.yml (the prebuilt image) and the tables in docs/settings.md.

The inputs are the settings' declarations (imagegen.config.knobs: the core settings, every
provider's options and the action-only inputs), as the CLI flags are; `action.yml` is generated from them
(`python -m imagegen.action action-yml > action.yml`) and a test fails when the two disagree.
action.yml shows each setting's real default; an input left at that default (or empty) falls back
to the environment variable of the same meaning, so a workflow's existing `env:` keeps working.
Provider base URLs (tests, proxies) are not inputs: they are read from the environment only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from imagegen.config.knob import Knob
from imagegen.config.knobs import ACTION, GROUPS, all_knobs


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    default: str = ""
    """The default in action.yml: the setting's real default (what GitHub shows)."""
    env: str = ""
    """Environment fallback read (by settings.load, or here) when the input is empty or left at its default."""
    secret: bool = False
    kind: str = "setting"
    """setting | provider | action"""
    group: str = ""
    """The settings page's table section (see GROUPS)."""
    help: str = ""
    """The description without the default and fallback notes (the settings page's table)."""
    effective_default: str = ""
    """What an empty input ends up as, when nothing is in the environment either."""


ACTION_INPUTS: tuple[Knob, ...] = ACTION
"""The action's own inputs (declared with the other settings, in imagegen.config.knobs)."""

OUTPUTS: tuple[tuple[str, str], ...] = (
    ("images-generated", "Number of cover images generated (and committed, unless commit is none)."),
    ("posts-updated", "Posts that got a cover, one repository-relative path per line."),
    ("pending", "Number of posts left for a later run (max-images, providers out of quota, a concurrent "
                "edit; in a dry run: the posts that would get a cover)."),
    ("stopped-by-quota", "`true` when the run stopped because every provider was out of quota."),
    ("commit-sha", "The commit with the covers (on the `pull-request-branch` with `commit: pull-request`); "
                   "empty when nothing was committed."),
    ("pull-request-url", "With `commit: pull-request`: the pull request with the covers; empty when there is none."),
    ("pull-request-number", "With `commit: pull-request`: its number; empty when there is none."),
    ("report", "The JSON report (compact; secrets redacted)."),
)


def _setting_description(help_text: str, env: str, *, secret: bool = False) -> str:
    text = help_text[0].upper() + help_text[1:]
    text = text.rstrip(".") + "."
    if secret:
        return text + f" Secret: pass it from `secrets`. Empty: read from env `{env}`."
    return text + f" Left at its default (or empty): read from env `{env}` when that is set."


def inputs() -> tuple[Input, ...]:
    """Every action input, in action.yml order: run settings, provider options, action-only inputs
    (imagegen.config.knobs.all_knobs). Provider base URLs are left out (test and proxy knobs:
    environment only)."""
    out: list[Input] = []
    for k in all_knobs():
        if k.scope == "action":
            out.append(Input(k.name, k.help, k.default, k.env, k.secret, "action", k.group))
        elif k.scope == "provider":
            if k.key == "base_url":
                continue
            out.append(Input(k.name, _setting_description(k.help, k.env, secret=k.secret),
                             default="" if k.secret else k.default, env=k.env, secret=k.secret, kind="provider",
                             help=k.help + (" (secret)" if k.secret else ""), effective_default=k.default,
                             group=k.group))
        else:
            help_text = k.help + ("; comma- or newline-separated" if k.multi else "")
            out.append(Input(k.name, _setting_description(help_text, k.env_name), default=k.default, env=k.env_name,
                             help=help_text, effective_default=k.default, group=k.group))
    return tuple(out)


def in_action_words(text: str) -> str:
    """A message written for the command line, in the words of a workflow: an environment variable
    or a flag that an input stands for becomes that input (`CLOUDFLARE_API_TOKEN` ->
    `cloudflare-api-token`, `POLLINATIONS_ENABLED=true` -> `pollinations-enabled: true`,
    `--providers card` -> `providers: card`, `--no-prompt-in-frontmatter` ->
    `prompt-in-frontmatter: false`). Messages are written once (settings, providers, doctor); the
    action, whose user writes `with:` inputs, translates them here at its one way out."""
    by_env = {i.env: i.name for i in inputs() if i.env}
    names = {i.name for i in inputs()}
    on_off = {k.input_name for k in all_knobs() if k.flag}

    def flag(m: re.Match[str]) -> str:
        negated, name, value = m.group(1), m.group(2), m.group(3)
        if name not in names:
            return m.group(0)
        if negated:
            return f"{name}: false" + (m.group(0)[len(f"--no-{name}"):])
        if name in on_off or not value:  # an on/off option takes no value: the next word is prose
            return name + m.group(0)[len(f"--{name}"):]
        return f"{name}: {value}"

    envs = "|".join(sorted(map(re.escape, by_env), key=len, reverse=True))
    text = re.sub(rf"\b({envs})=(\S+)", lambda m: f"{by_env[m.group(1)]}: {m.group(2)}", text)
    text = re.sub(rf"\b({envs})\b", lambda m: by_env[m.group(1)], text)
    return re.sub(r"(?<![\w-])--(no-)?([a-z][a-z0-9-]*)(?:[ =]([a-z0-9][\w,.-]*))?", flag, text)


def input_env_name(name: str) -> str:
    """The variable the runner sets for an input: INPUT_ + upper-cased name, spaces to `_`, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def render_action_yml(image: str = "Dockerfile") -> str:
    """action.yml. On main the runner builds the Dockerfile; a release's action.yml (see
    render_release_action_yml) runs the prebuilt image instead. Nothing else differs."""
    lines = [
        "# Generated from imagegen/config/knobs.py and the provider registry by",
        "#   python -m imagegen.action action-yml > action.yml",
        "# tests/test_action_yml.py fails when this file and the code disagree.",
        "name: Blog cover images (imagegen)",
        "description: " + _q("Give blog posts cover images from a chain of image APIs (or offline title cards) and commit them back."),
        "author: imagegen",
        "branding:",
        "  icon: image",
        "  color: purple",
        "inputs:",
    ]
    for i in inputs():
        lines += [f"  {i.name}:", f"    description: {_q(i.description)}", "    required: false",
                  f"    default: {_q(i.default)}"]
    lines.append("outputs:")
    for name, desc in OUTPUTS:
        lines += [f"  {name}:", f"    description: {_q(desc)}"]
    lines += ["runs:", "  using: docker", f"  image: {_q(image) if image != 'Dockerfile' else image}", ""]
    return "\n".join(lines)


def render_release_action_yml(image: str) -> str:
    """The released action.yml: the same inputs and outputs, `runs.image` the prebuilt image
    (`docker://ghcr.io/owner/repo:1.2.3`), so a user's job pulls it instead of building it."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})", image):
        raise ValueError(f"not an image reference with a tag or digest: {image!r}")
    return render_action_yml("docker://" + image).replace(
        "#   python -m imagegen.action action-yml > action.yml",
        "#   python -m imagegen.action release-action-yml IMAGE > action.yml   (the release's: a prebuilt image)")


def markdown_tables() -> str:
    """The inputs tables of docs/settings.md, one per purpose, and the outputs table."""
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    rows: list[str] = []
    all_inputs = inputs()
    for key, title in GROUPS:
        members = [i for i in all_inputs if i.group == key]
        if not members:
            continue
        rows += [f"**{title}**", "", "| input | default | env fallback | description |", "|---|---|---|---|"]
        for i in members:
            default = i.default or i.effective_default
            rows.append(f"| `{i.name}` | {('`' + cell(default) + '`') if default else ''} | "
                        f"{('`' + i.env + '`') if i.env else ''} | {cell(i.help or i.description)} |")
        rows.append("")
    rows += ["**Outputs**", "", "| output | description |", "|---|---|"]
    rows += [f"| `{n}` | {cell(d)} |" for n, d in OUTPUTS]
    return "\n".join(rows) + "\n"
