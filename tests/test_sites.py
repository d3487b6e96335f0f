"""imagegen.sites: detection, each engine's conventions, and every path flag overriding them.
(The real engines building these sites: tests/test_sites_build.py.)"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path, PurePosixPath

import pytest

from imagegen import frontmatter as fm
from imagegen import sites
from imagegen.discover import discover
from imagegen.config.settings import SettingsError, load
from tests.helpers import commit_all, init_repo, run_cli

TODAY = dt.date(2026, 6, 1)


def write(repo: Path, rel: str, text: str | bytes) -> Path:
    p = repo / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def settings(repo: Path, **raw: str):
    return load({"providers": "local", **{k.replace("_", "-"): v for k, v in raw.items()}}, {}, repo=repo)


def verdicts(repo: Path, **raw: str) -> dict[str, str]:
    s = settings(repo, **raw)
    d = discover(s, TODAY, sites.resolve(s))
    return {**{c.post.rel: c.why for c in d.todo}, **{s.post: s.reason for s in d.skipped}}


def hugo(tmp_path: Path) -> Path:
    repo = tmp_path / "h"
    write(repo, "hugo.toml", 'baseURL = "https://example.org/"\n')
    write(repo, "content/_index.md", "---\ntitle: Home\n---\n")
    return repo


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("files, expected", [
    ({"hugo.toml": "", "content/a.md": ""}, ("hugo", "hugo.toml and content/ found")),
    ({"hugo.yaml": "", "content/a.md": ""}, ("hugo", "hugo.yaml and content/ found")),
    ({"config.toml": "", "content/a.md": ""}, ("hugo", "config.toml and content/ found")),
    ({"_config.yml": "", "_posts/2026-01-01-a.md": ""}, ("jekyll", "_config.yml and _posts/ found")),
    ({"astro.config.mjs": "", "src/content/blog/a.md": ""}, ("astro", "astro.config.mjs and src/content/ found")),
    ({"astro.config.ts": "", "src/content/blog/a.md": ""}, ("astro", "astro.config.ts and src/content/ found")),
    ({".obsidian/app.json": "{}", "2026-01-01-a.md": ""}, ("obsidian", ".obsidian/ found")),
    ({"hugo.toml": ""}, ("obsidian", sites.NO_SITE)),
    ({"_config.yml": "", "posts/2026-01-01-a.md": ""}, ("obsidian", sites.NO_SITE)),
])
def test_detect(tmp_path: Path, files: dict[str, str], expected: tuple[str, str]) -> None:
    for rel, text in files.items():
        write(tmp_path, rel, text)
    assert sites.detect(tmp_path) == expected


def test_site_setting_forces_an_engine_and_rejects_unknown_ones(tmp_path: Path) -> None:
    write(tmp_path, "content/posts/a.md", "---\ntitle: A\n---\nx\n")
    s = settings(tmp_path, site="hugo")
    site = sites.resolve(s)
    assert site.name == "hugo" and site.describe() == "site: hugo (--site hugo), posts in content/posts/"
    assert verdicts(tmp_path, site="hugo") == {"content/posts/a.md": "missing"}
    with pytest.raises(SettingsError, match="site: unknown site 'wordpress'"):
        settings(tmp_path, site="wordpress")


# --------------------------------------------------------------------------- which files are posts


def test_hugo_posts_bundles_sections_drafts_opt_outs_and_dates(tmp_path: Path) -> None:
    repo = hugo(tmp_path)
    write(repo, "content/posts/_index.md", "---\ntitle: Posts\n---\n")
    write(repo, "content/posts/a.md", '+++\ntitle = "A"\ndate = 2026-01-01\n+++\nText\n')
    write(repo, "content/posts/b/index.md", "---\ntitle: B\n---\nText\n")
    write(repo, "content/posts/c.markdown", "---\ntitle: C\n---\nText\n")
    write(repo, "content/posts/future.md", "---\ntitle: F\ndate: 2027-01-01\n---\nText\n")
    write(repo, "content/posts/draft.md", '+++\ntitle = "D"\ndraft = true\n+++\nText\n')
    for i, field in enumerate(("image", "cover", "cover_image", "imagegen")):
        write(repo, f"content/posts/out{i}.md", f"---\ntitle: O\n{field}: false\n---\nText\n")
    write(repo, "content/posts/bundled/index.md", "---\ntitle: Has\n---\nText\n")
    write(repo, "content/posts/bundled/feature-photo.webp", b"x")
    write(repo, "content/posts/listed.md", "---\ntitle: L\nimages: [a.png]\n---\nText\n")
    write(repo, "content/posts/map.md", "---\ntitle: M\ncover:\n  image: x.png\n---\nText\n")
    write(repo, "content/posts/bare.md", "Just text\n")
    write(repo, "static/notes/2026-01-01-not-content.md", "# no\n")
    assert verdicts(repo) == {
        "content/posts/a.md": "missing", "content/posts/b/index.md": "missing", "content/posts/c.markdown": "missing",
        "content/posts/future.md": "future", "content/posts/draft.md": "draft",
        "content/posts/out0.md": "opted-out", "content/posts/out1.md": "opted-out",
        "content/posts/out2.md": "opted-out", "content/posts/out3.md": "opted-out",
        "content/posts/bundled/index.md": "has-image", "content/posts/listed.md": "has-image",
        "content/posts/map.md": "has-image", "content/posts/bare.md": "no-frontmatter",
    }


def test_jekyll_posts_only_under_posts_folders(tmp_path: Path) -> None:
    write(tmp_path, "_config.yml", "title: x\n")
    write(tmp_path, "_posts/2026-01-01-a.md", "---\ntitle: A\n---\nx\n")
    write(tmp_path, "_posts/sub/2026-01-02-b.markdown", "---\ntitle: B\n---\nx\n")
    write(tmp_path, "blog/_posts/2026-01-03-c.md", "---\ntitle: C\n---\nx\n")
    write(tmp_path, "_posts/undated.md", "---\ntitle: U\n---\nx\n")
    write(tmp_path, "_drafts/2026-01-04-d.md", "---\ntitle: D\n---\nx\n")
    write(tmp_path, "_site/_posts/2026-01-05-e.md", "---\ntitle: E\n---\nx\n")
    write(tmp_path, "about.md", "---\ntitle: About\n---\nx\n")
    write(tmp_path, "_posts/2026-01-06-hidden.md", "---\ntitle: H\npublished: false\n---\nx\n")
    assert verdicts(tmp_path) == {"_posts/2026-01-01-a.md": "missing", "_posts/sub/2026-01-02-b.markdown": "missing",
                                  "blog/_posts/2026-01-03-c.md": "missing", "_posts/2026-01-06-hidden.md": "draft"}


def test_astro_entries_md_and_mdx_dated_by_pubdate(tmp_path: Path) -> None:
    write(tmp_path, "astro.config.mjs", "export default {}\n")
    write(tmp_path, "src/content/blog/a.md", "---\ntitle: A\npubDate: 2026-01-01\n---\nx\n")
    write(tmp_path, "src/content/blog/b.mdx", "---\ntitle: B\npubDate: '2026-02-01'\n---\nx\n")
    write(tmp_path, "src/content/blog/later.md", "---\ntitle: L\npubDate: 2027-02-01\n---\nx\n")
    write(tmp_path, "src/pages/about.md", "---\ntitle: About\n---\nx\n")
    s = settings(tmp_path)
    d = discover(s, TODAY, sites.resolve(s))
    assert [c.post.rel for c in d.todo] == ["src/content/blog/b.mdx", "src/content/blog/a.md"]  # newest first
    assert {s.post: s.reason for s in d.skipped} == {"src/content/blog/later.md": "future"}


def test_obsidian_is_unchanged_but_honours_opt_outs(tmp_path: Path) -> None:
    write(tmp_path, "notes/2026-01-01-a.md", "# A\ntext\n")
    write(tmp_path, "notes/2026-01-02-b.md", "---\nimage: false\n---\n# B\ntext\n")
    write(tmp_path, "notes/2026-01-03-c.md", "---\ndraft: true\n---\n# C\ntext\n")  # no drafts in a vault
    write(tmp_path, "notes/undated.md", "# U\n")
    write(tmp_path, "notes/index.md", "# I\n")
    assert verdicts(tmp_path) == {"notes/2026-01-01-a.md": "missing", "notes/2026-01-02-b.md": "opted-out",
                                  "notes/2026-01-03-c.md": "missing"}


# --------------------------------------------------------------------------- edits, via the CLI


def run(repo: Path, tmp_path: Path, *args: str) -> dict:
    report = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--providers", "local", "--width", "160", "--height", "84",
                "--report", str(report), *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(report.read_text())


def test_json_frontmatter_with_an_existing_key_is_skipped_with_the_reason(tmp_path: Path) -> None:
    repo = init_repo(hugo(tmp_path))
    text = '{\n  "title": "J",\n  "images": []\n}\nBody\n'
    write(repo, "content/posts/j.md", text)
    commit_all(repo)
    rep = run(repo, tmp_path)
    (skip,) = [s for s in rep["skipped"] if s["post"] == "content/posts/j.md"]
    assert skip["reason"] == "cannot-edit" and "JSON" in skip["message"]
    assert rep["generated"] == [] and (repo / "content/posts/j.md").read_text() == text


def test_every_path_flag_overrides_the_site(tmp_path: Path) -> None:
    repo = init_repo(hugo(tmp_path))
    write(repo, "content/posts/a.md", '+++\ntitle = "A"\n+++\nText\n')
    write(repo, "content/posts/b/index.md", "---\ntitle: B\n---\nText\n")
    commit_all(repo)
    rep = run(repo, tmp_path, "--frontmatter-field", "cover.image", "--image-url-prefix", "https://cdn.example.org/",
              "--attachments-dir", "static/covers")
    images = {g["post"]: g["image"] for g in rep["generated"]}
    assert images == {"content/posts/a.md": "static/covers/a.jpg", "content/posts/b/index.md": "static/covers/b.jpg"}
    a = tomllib.loads(fm.split((repo / "content/posts/a.md").read_text()).block)
    assert a["cover"] == {"image": "https://cdn.example.org/covers/a.jpg", "alt": "A"}
    b = fm.load((repo / "content/posts/b/index.md").read_text())[1]
    assert b["cover"]["image"] == "https://cdn.example.org/covers/b.jpg"


def test_jekyll_markdown_embed_style_uses_the_site_path(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "j")
    write(repo, "_config.yml", "title: x\n")
    write(repo, "_posts/2026-01-01-a.md", "---\ntitle: A\n---\n# A\n\nText\n")
    commit_all(repo)
    rep = run(repo, tmp_path, "--embed-style", "markdown")
    assert rep["generated"][0]["image"] == "assets/images/covers/2026-01-01-a.jpg"
    text = (repo / "_posts/2026-01-01-a.md").read_text()
    assert "# A\n![A](/assets/images/covers/2026-01-01-a.jpg)\n" in text
    assert "image:" not in text.split("---")[1].replace("image_", "")


def test_hugo_regenerate_replaces_the_cover_in_the_images_list_and_deletes_the_old_file(tmp_path: Path) -> None:
    repo = init_repo(hugo(tmp_path))
    write(repo, "content/posts/a.md", '+++\ntitle = "A"\nimages = ["/images/covers/a.jpg", "/img/other.png"]\n'
                                      'regenerate_image = true\n[params]\nx = 1\n+++\nText with ![inline](/img/x.png)\n')
    write(repo, "static/images/covers/a.jpg", b"old cover")
    commit_all(repo)
    rep = run(repo, tmp_path)
    (g,) = rep["generated"]
    assert g["image"] == "static/images/covers/a-2.jpg"
    # the old file is deleted, or kept with the reason when its name is still mentioned somewhere
    assert g["removed_image"] == "static/images/covers/a.jpg" or (
        g["kept_image"] == "static/images/covers/a.jpg" and g["kept_because"])
    text = (repo / "content/posts/a.md").read_text()
    data = tomllib.loads(fm.split(text).block)
    assert data["images"] == ["/images/covers/a-2.jpg", "/img/other.png"] and data["regenerate_image"] is False
    assert data["params"] == {"x": 1} and text.endswith("Text with ![inline](/img/x.png)\n")  # body images stay


def test_hugo_bundle_regenerate_replaces_cover_file(tmp_path: Path) -> None:
    repo = init_repo(hugo(tmp_path))
    write(repo, "content/posts/b/index.md", "---\ntitle: B\nregenerate_image: true\n---\nText\n")
    write(repo, "content/posts/b/cover.jpg", b"old cover")
    commit_all(repo)
    rep = run(repo, tmp_path)
    (g,) = rep["generated"]
    assert g["image"] == "content/posts/b/b-cover.jpg" and g["removed_image"] == "content/posts/b/cover.jpg"
    assert fm.load((repo / "content/posts/b/index.md").read_text())[1]["regenerate_image"] is False


def test_hugo_bundle_regenerate_leaves_one_cover_when_the_word_cover_is_everywhere(tmp_path: Path) -> None:
    """Hugo takes a bundle's cover by the pattern `*cover*`: an old cover kept beside the new one
    could stay the page's picture. The bundle cover's name is one that prose and config (which say
    `cover` all the time) do not mention, so regenerating replaces it; twice in a row."""
    repo = init_repo(hugo(tmp_path))
    write(repo, "README.md", "Every post gets a cover. See cover.image in the theme; cover: true.\n")
    write(repo, "content/posts/walk/index.md", "---\ntitle: Walk\n---\nA cover story.\n")
    commit_all(repo)
    first = run(repo, tmp_path)["generated"][0]["image"]
    assert first == "content/posts/walk/walk-cover.jpg"
    for _ in range(2):
        post = repo / "content/posts/walk/index.md"
        post.write_text(post.read_text().replace("title: Walk\n", "title: Walk\nregenerate_image: true\n", 1)
                        .replace("regenerate_image: false\n", ""))
        rep = run(repo, tmp_path)
        (g,) = rep["generated"]
        assert g.get("removed_image") and not g.get("kept_image")
        bundle = sorted(p.name for p in (repo / "content/posts/walk").iterdir() if p.suffix == ".jpg")
        assert bundle == [PurePosixPath(g["image"]).name]


def test_obsidian_frontmatter_style_counts_the_field_only_in_that_style(tmp_path: Path) -> None:
    write(tmp_path, "2026-01-01-a.md", "---\nimage: attachments/a.png\n---\n# A\n")
    for n, empty in enumerate(("image:", "image: ''", "image: '  '", "image: []")):
        write(tmp_path, f"2026-01-0{n + 2}-e.md", f"---\n{empty}\n---\n# E\n")
    got = verdicts(tmp_path, embed_style="frontmatter")
    assert got["2026-01-01-a.md"] == "has-image"
    assert all(got[f"2026-01-0{n + 2}-e.md"] == "missing" for n in range(4))
    assert verdicts(tmp_path)["2026-01-01-a.md"] == "missing"  # obsidian style: the body holds the cover


@pytest.mark.parametrize("pattern, yes, no", [
    ("**/[^_]*.md", ["a.md", "x/y/b.md"], ["_a.md", "x/_b.md", "a.mdx"]),
    ("**/*.{md,mdx}", ["a.md", "d/a.mdx"], ["a.json", "a.md.bak"]),
    ("*.md", ["a.md"], ["d/a.md"]),
])
def test_astro_glob_patterns_match_as_the_glob_loader_does(pattern: str, yes: list[str], no: list[str]) -> None:
    from imagegen.sites.astro import glob_regex

    rx = glob_regex(pattern)
    assert all(rx.fullmatch(p) for p in yes) and not any(rx.fullmatch(p) for p in no)


def test_astro_legacy_collections_and_data_collections(tmp_path: Path) -> None:
    """A legacy `src/content/config.ts` (no loader: the folder of the collection's name) and a
    `file()` data collection, which holds no posts."""
    write(tmp_path, "astro.config.mjs", "export default {}\n")
    write(tmp_path, "src/content/config.ts", "const blog = defineCollection({ type: 'content', schema: ({ image }) => "
          "z.object({ title: z.string(), cover: image(), published: z.date() }) });\n"
          "const authors = defineCollection({ loader: file('src/data/authors.json') });\n"
          "export const collections = { blog, authors };\n")
    write(tmp_path, "src/content/blog/a.md", "---\ntitle: A\npublished: 2026-01-01\n---\nx\n")
    write(tmp_path, "src/content/blog/later.md", "---\ntitle: L\npublished: 2027-01-01\n---\nx\n")
    s = settings(tmp_path)
    site = sites.resolve(s)
    d = discover(s, TODAY, site)
    assert [c.post.rel for c in d.todo] == ["src/content/blog/a.md"] and site.field(d.todo[0].post) == "cover"
    assert {x.post: x.reason for x in d.skipped} == {"src/content/blog/later.md": "future"}
