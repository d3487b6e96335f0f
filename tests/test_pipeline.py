"""The pipeline's promises, with in-memory providers and real files in temp git repos."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from imagegen import pipeline, writer
from imagegen.testing import VirtualClock
from imagegen.images import checked_image
from imagegen.providers.base import ContentRefused, GeneratedImage, ImageRequest, QuotaExhausted
from imagegen.providers.card import render
from imagegen.config.settings import load
from tests.helpers import assert_consistent, commit_all, init_repo, snapshot

PNG = render("pipeline tests", 48, 32)


class Scripted:
    """An in-memory provider: answers from a script ('ok' or an exception), then 'ok'."""

    def __init__(self, name: str = "local", script: list[object] | None = None, hook=None) -> None:
        self.name = name
        self.model = "scripted"
        self.script = list(script or [])
        self.calls: list[str] = []
        self.hook = hook

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        self.calls.append(request.prompt)
        if self.hook is not None:
            await self.hook(len(self.calls))
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, Exception):
            raise step
        return checked_image(PNG, provider=self.name, model=self.model)

    async def aclose(self) -> None:
        return None


def blog(tmp_path: Path, posts: dict[str, str]) -> Path:
    repo = init_repo(tmp_path / "blog")
    for rel, text in posts.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    commit_all(repo)
    return repo


def run(repo: Path, provider: Scripted, **raw: str):
    settings = load({"providers": "local", "describer": "off", **raw}, {}, repo=repo)
    return asyncio.run(pipeline.run(settings, providers=[(settings.providers[0], provider)], clock=VirtualClock()))


POST = "---\ntitle: A post\n---\n# A post\n\nWords.\n"


def test_image_name_and_obsidian_embed(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"My Series/2026-01-02-Hello World!.md": POST})
    report = run(repo, Scripted())
    (g,) = report.generated
    assert g.image == "attachments/my-series-2026-01-02-hello-world.jpg"
    text = (repo / g.post).read_text()
    assert "# A post\n![[attachments/my-series-2026-01-02-hello-world.jpg|A post]]\n" in text
    assert 'image_alt: "A post"' in text and g.alt == "A post"  # no describer: the title
    assert 'image_provider: "local"' in text and "image_date: " in text


def test_markdown_embed_is_relative_and_url_encoded(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"series one/2026-01-02-post.md": POST})
    report = run(repo, Scripted(), **{"embed-style": "markdown"})
    (g,) = report.generated
    text = (repo / g.post).read_text()
    assert "](../attachments/series-one-2026-01-02-post.jpg)" in text


def test_frontmatter_style_sets_field_and_leaves_body(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-post.md": POST})
    report = run(repo, Scripted(), **{"embed-style": "frontmatter"})
    (g,) = report.generated
    text = (repo / g.post).read_text()
    assert 'image: "attachments/s-2026-01-02-post.jpg"' in text
    assert text.endswith("# A post\n\nWords.\n")
    again = run(repo, Scripted(), **{"embed-style": "frontmatter"})
    assert again.generated == [] and again.skipped[0].reason == "has-image"


def test_name_taken_gets_suffix(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-post.md": POST, "attachments/s-2026-01-02-post.jpg": "not mine"})
    report = run(repo, Scripted())
    assert report.generated[0].image == "attachments/s-2026-01-02-post-2.jpg"
    assert (repo / "attachments/s-2026-01-02-post.jpg").read_text() == "not mine"


def test_post_write_failure_removes_new_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-post.md": POST})
    before = snapshot(repo)

    def fail(*a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer, "replace_if_unchanged", fail)
    report = run(repo, Scripted())
    assert report.generated == [] and "disk full" in report.failed[0].error
    assert snapshot(repo) == before
    assert not (repo / "attachments").exists() or list((repo / "attachments").iterdir()) == []


def test_post_edited_during_generation_is_not_clobbered(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-post.md": POST})
    post = repo / "s/2026-01-02-post.md"

    async def edit(n: int) -> None:
        post.write_text(POST + "\nA paragraph the author added meanwhile.\n")

    report = run(repo, Scripted(hook=edit))
    assert len(report.generated) == 1
    text = post.read_text()
    assert "A paragraph the author added meanwhile." in text and "![[attachments/" in text


def test_regenerate_keeps_image_another_post_uses(tmp_path: Path) -> None:
    shared = "![[attachments/shared.png]]"
    repo = blog(tmp_path, {
        "s/2026-01-02-a.md": f"---\ntitle: A\nregenerate_image: true\n---\n# A\n{shared}\n\nText.\n",
        "s/2026-01-03-b.md": f"---\ntitle: B\n---\n# B\n{shared}\n",
        "attachments/shared.png": "png",
    })
    report = run(repo, Scripted())
    (g,) = report.generated
    assert g.post == "s/2026-01-02-a.md" and g.removed_image is None
    assert (repo / "attachments/shared.png").exists()
    text = (repo / g.post).read_text()
    assert shared not in text and "regenerate_image: false" in text


def test_regenerate_deletes_unused_old_image_only_inside_attachments(tmp_path: Path) -> None:
    repo = blog(tmp_path, {
        "s/2026-01-02-a.md": "---\ntitle: A\nregenerate_image: yes\n---\n# A\n![[attachments/old.png]]\n",
        "s/2026-01-03-b.md": "---\ntitle: B\nregenerate_image: TRUE\n---\n# B\n![[s/outside.png]]\n",
        "attachments/old.png": "png",
        "s/outside.png": "png",
    })
    report = run(repo, Scripted())
    removed = {g.post: g.removed_image for g in report.generated}
    assert removed == {"s/2026-01-02-a.md": "attachments/old.png", "s/2026-01-03-b.md": None}
    assert not (repo / "attachments/old.png").exists()
    assert (repo / "s/outside.png").exists()


def test_all_providers_out_leaves_rest_pending(tmp_path: Path) -> None:
    repo = blog(tmp_path, {f"s/2026-01-{d:02d}-p.md": POST for d in range(1, 11)})
    report = run(repo, Scripted(script=["ok", "ok", QuotaExhausted("daily allocation used")]), concurrency="1")
    assert len(report.generated) == 2
    assert report.stopped_by_quota is True
    assert len(report.pending) == 8 and {p.reason for p in report.pending} == {"providers-out"}
    assert report.failed == []


def test_refused_post_fails_with_reason_and_run_goes_on(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST, "s/2026-01-01-b.md": POST})
    report = run(repo, Scripted(script=[ContentRefused("safety")]), concurrency="1")
    assert len(report.generated) == 1
    (f,) = report.failed
    assert f.post == "s/2026-01-02-a.md" and "safety" in f.error


def test_cancellation_mid_run_leaves_repo_consistent(tmp_path: Path) -> None:
    repo = blog(tmp_path, {f"s/2026-01-{d:02d}-p.md": POST for d in range(1, 21)})
    originals = snapshot(repo)
    settings = load({"providers": "local", "describer": "off", "concurrency": "3"}, {}, repo=repo)
    holder: dict[str, pipeline.Run] = {}

    async def maybe_cancel(n: int) -> None:
        if n == 6:
            holder["run"].cancel()
        await asyncio.sleep(0)

    provider = Scripted(hook=maybe_cancel)

    async def main():
        r = pipeline.Run(settings, providers=[(settings.providers[0], provider)], clock=VirtualClock())
        holder["run"] = r
        return await r.execute()

    report = asyncio.run(main())
    assert report.cancelled is True
    assert 0 < len(report.generated) < 20
    assert len(report.generated) + len(report.pending) == 20
    assert {p.reason for p in report.pending} == {"cancelled"}
    assert_consistent(repo, originals)
