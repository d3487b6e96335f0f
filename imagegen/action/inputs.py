"""The action's inputs and outputs, and the files generated from them: action.yml, the release's
action.yml (the prebuilt image) and the README's tables.

The inputs are derived from the same declarations as the CLI flags (settings.CORE and every
provider's options) plus a few action-only inputs; `action.yml` is generated from them
(`python -m imagegen.action action-yml > action.yml`) and a test fails when the two disagree.
action.yml shows each setting's real default; an input left at that default (or empty) falls back
to the environment variable of the same meaning, so a workflow's existing `env:` keeps working.
Provider base URLs (tests, proxies) are not inputs: they are read from the environment only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


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
    """The README table's section (see GROUPS)."""
    help: str = ""
    """The description without the default and fallback notes (the README's table)."""
    effective_default: str = ""
    """What an empty input ends up as, when nothing is in the environment either."""


ACTION_INPUTS: tuple[Input, ...] = (
    Input("mode", "`run`: give posts covers; `doctor`: only check the setup (each provider's key and models, "
          "the state file, the describer) through cheap endpoints, without making an image or committing; the "
          "step fails when no image provider is usable (for a manual workflow_dispatch workflow).", "run",
          kind="action"),
    Input("github-token", "Token used to commit the covers back (needs `permissions: contents: write`).",
          "${{ github.token }}", env="GITHUB_TOKEN", secret=True, kind="action"),
    Input("commit", "How to commit the covers: `api` (Git Data API; the commit is made and verified as the "
          "token's bot), `git` (git CLI as github-actions[bot], push with rebase-and-retry), `pull-request` "
          "(push them to the `pull-request-branch` and open or update one pull request for a human to approve; "
          "needs `permissions: pull-requests: write` too), or `none` (only write the files; a later step commits "
          "them).", "api", kind="action"),
    Input("pull-request-branch", "With `commit: pull-request`: the branch the covers are pushed to (reused and "
          "updated by later runs while its pull request is open).", "imagegen/covers", kind="action"),
    Input("commit-message", "Commit message. Default: \"Add cover image(s) for ...\" listing the posts.", kind="action"),
    Input("branch", "Branch to commit to. Default: the checked-out branch (the pull request's head branch "
          "on pull_request events).", kind="action"),
    Input("only-changed", "`auto`: on push (and pull_request) events only the posts changed by the pushed "
          "commits, on schedule and workflow_dispatch every post missing a cover; `true`: only changed posts "
          "(nothing on events without commits); `false`: every post missing a cover. An explicit `posts` or "
          "`changed-since` input wins.", "auto", kind="action"),
)

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


GROUPS: tuple[tuple[str, str], ...] = (
    ("cover", "What to cover"),
    ("providers", "Providers and prompts"),
    ("output", "Output"),
    ("commit", "Commit"),
    ("other", "Other settings"),
)
_GROUP_OF = {
    **dict.fromkeys(("site", "paths", "posts", "changed-since", "exclude", "include-undated", "max-images", "timezone",
                     "max-post-bytes", "only-changed", "dry-run"), "cover"),
    **dict.fromkeys(("providers", "reserve", "concurrency", "state-file", "prompt-style", "describer",
                     "social-headings"), "providers"),
    **dict.fromkeys(("attachments-dir", "embed-style", "frontmatter-field", "width", "height", "report", "crop",
                     "title-overlay"),
                    "output"),
    **dict.fromkeys(("github-token", "commit", "pull-request-branch", "commit-message", "branch"), "commit"),
}


def group_of(name: str, kind: str) -> str:
    """Which README section an input belongs to. Settings added later without an entry here land
    in a sensible section by their name, or in "Other settings"."""
    if kind == "provider" or name.startswith(("provider-", "describer", "prompt-")):
        return "providers"
    if name in _GROUP_OF:
        return _GROUP_OF[name]
    if re.search(r"(format|quality|alt|size|width|height|embed|field|image|card)", name):
        return "output"
    return "other"


def _setting_description(help_text: str, env: str, *, secret: bool = False) -> str:
    text = help_text[0].upper() + help_text[1:]
    text = text.rstrip(".") + "."
    if secret:
        return text + f" Secret: pass it from `secrets`. Empty: read from env `{env}`."
    return text + f" Left at its default (or empty): read from env `{env}` when that is set."


def inputs() -> tuple[Input, ...]:
    """Every action input, in action.yml order: run settings, provider options, action-only inputs.
    Provider base URLs are left out (test and proxy knobs: environment only)."""
    from imagegen.providers import REGISTRY
    from imagegen.settings import CORE

    out: list[Input] = []
    for d in CORE:
        help_text = d.help + ("; comma- or newline-separated" if d.multi else "")
        out.append(Input(d.name, _setting_description(help_text, d.env_name), default=d.default, env=d.env_name,
                         help=help_text, effective_default=d.default, group=group_of(d.name, "setting")))
    for spec in REGISTRY:
        for o in spec.all_options():
            if o.key == "base_url":
                continue
            out.append(Input(o.input_name, _setting_description(o.help, o.env, secret=o.secret),
                             default="" if o.secret else o.default, env=o.env, secret=o.secret, kind="provider",
                             help=o.help + (" (secret)" if o.secret else ""), effective_default=o.default,
                             group="providers"))
    out.extend(Input(i.name, i.description, i.default, i.env, i.secret, i.kind, "commit" if i.name != "only-changed"
                     else "cover", i.help, i.effective_default) for i in ACTION_INPUTS)
    names = [i.name for i in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuntimeError(f"action inputs declared twice: {', '.join(dupes)}")
    return tuple(out)


def input_env_name(name: str) -> str:
    """The variable the runner sets for an input: INPUT_ + upper-cased name, spaces to `_`, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def render_action_yml(image: str = "Dockerfile") -> str:
    """action.yml. On main the runner builds the Dockerfile; a release's action.yml (see
    render_release_action_yml) runs the prebuilt image instead. Nothing else differs."""
    lines = [
        "# Generated from imagegen/settings.py and the provider registry by",
        "#   python -m imagegen.action action-yml > action.yml",
        "# tests/test_action_yml.py fails when this file and the code disagree.",
        "name: Blog cover images (imagegen)",
        "description: " + _q("Give blog posts cover images from a chain of free image APIs and commit them back."),
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
    """The README's inputs tables, one per purpose, and the outputs table."""
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
