"""End to end: the `imagegen` command over a copy of the demo blog in a real git repo, run twice."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.helpers import assert_consistent, commit_all, demo_repo, git, run_cli, snapshot

EXPECTED_GENERATED = {
    "auto-blog-zero/2026-03-21-what-the-script-learned.md",
    "auto-blog-zero/2026-03-22-code-in-posts.md",
    "auto-blog-zero/2026-03-23-no-title-here.md",  # titled by its file name, as Obsidian shows it
    "chickie-loo/2026-02-14-winter-eggs.md",
    "chickie-loo/2026-03-02-predator-proofing.md",
    "chickie-loo/2026-03-15-first-chicks.md",
    "systems-for-public-good/2026-02-05-open-data-that-works.md",
    "systems-for-public-good/2026-03-12-boring-technology.md",
    "systems-for-public-good/2026-03-18-notes-written-on-windows.md",
}


def test_demo_blog_end_to_end_twice(tmp_path: Path) -> None:
    repo = demo_repo(tmp_path)
    before = snapshot(repo)
    report_path = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--providers", "local", "--report", str(report_path), "--width", "320", "--height", "168")
    assert r.returncode == 0, r.stderr
    report = json.loads(report_path.read_text())

    assert {g["post"] for g in report["generated"]} == EXPECTED_GENERATED
    skipped = {s["post"]: s["reason"] for s in report["skipped"]}
    assert skipped == {
        "auto-blog-zero/2026-03-20-the-first-automated-post.md": "has-image",
        "chickie-loo/2026-02-01-meet-the-flock.md": "has-image",
        "systems-for-public-good/2026-01-10-why-public-systems-fail.md": "has-image",
        "systems-for-public-good/2099-01-01-the-future-of-everything.md": "future",
    }
    assert report["failed"] == [] and report["pending"] == [] and report["stopped_by_quota"] is False
    assert report["providers"]["local"]["images"] == 9

    for g in report["generated"]:
        assert g["provider"] == "local" and g["model"] == "title-card-v1"
        img = repo / g["image"]
        assert img.is_file() and g["image"].startswith("attachments/")
        with Image.open(img) as im:
            assert im.size == (320, 168) and im.format == "JPEG" and g["image"].endswith(".jpg")
    # names: <parent>-<stem>; the regenerated post got a fresh image and the old one is gone
    names = {g["post"]: g["image"] for g in report["generated"]}
    assert names["chickie-loo/2026-03-02-predator-proofing.md"] == "attachments/chickie-loo-2026-03-02-predator-proofing.jpg"
    regen = next(g for g in report["generated"] if g["post"] == "chickie-loo/2026-02-14-winter-eggs.md")
    assert regen["removed_image"] == "attachments/chickie-loo-2026-02-14-winter-eggs.jpg"
    assert not (repo / regen["removed_image"]).exists()
    assert "regenerate_image: false" in (repo / regen["post"]).read_text()

    # byte-level promises on the trickiest posts
    crlf = (repo / "systems-for-public-good/2026-03-18-notes-written-on-windows.md").read_bytes()
    assert b"\n" not in crlf.replace(b"\r\n", b"") and not crlf.endswith(b"\n")
    assert crlf.startswith(b"---\r\ntitle: Notes written on Windows\r\ndate: 2026-03-18\r\n")
    assert b"# Notes written on Windows\r\n![[attachments/systems-for-public-good-2026-03-18-notes-written-on-windows.jpg|Notes written on Windows]]\r\n" in crlf
    nofm = (repo / "chickie-loo/2026-03-15-first-chicks.md").read_text()
    assert nofm.startswith("---\n") and "# First chicks of spring\n![[attachments/chickie-loo-2026-03-15-first-chicks.jpg|First chicks of spring]]\n" in nofm
    assert_consistent(repo, before)

    # untouched posts are byte-identical
    after = snapshot(repo)
    for rel, data in before.items():
        if rel.endswith(".md") and rel not in EXPECTED_GENERATED:
            assert after[rel] == data, rel

    # second run: nothing to do, nothing changes
    commit_all(repo, "covers")
    r2 = run_cli("run", str(repo), "--providers", "local", "--report", str(report_path))
    assert r2.returncode == 0, r2.stderr
    report2 = json.loads(report_path.read_text())
    assert report2["generated"] == []
    assert git(repo, "status", "--porcelain") == ""
    assert snapshot(repo) == after


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    repo = demo_repo(tmp_path)
    before = snapshot(repo)
    r = run_cli("run", str(repo), "--providers", "local", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would generate 9 cover(s)" in r.stdout
    assert snapshot(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_bad_settings_exit_non_zero_with_one_line(tmp_path: Path) -> None:
    repo = demo_repo(tmp_path)
    r = run_cli("run", str(repo), "--providers", "local", "--embed-style", "html")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "embed-style" in r.stderr
    r = run_cli("run", str(repo), env={"AIHORDE_ENABLED": "false"})  # no key, and no keyless AI Horde either
    assert r.returncode == 2 and "no image provider is configured" in r.stderr


def test_max_images_leaves_the_rest_pending(tmp_path: Path) -> None:
    repo = demo_repo(tmp_path)
    report_path = tmp_path / "r.json"
    r = run_cli("run", str(repo), "--providers", "local", "--max-images", "3", "--report", str(report_path),
                "--width", "64", "--height", "64")
    assert r.returncode == 0, r.stderr
    report = json.loads(report_path.read_text())
    assert len(report["generated"]) == 3
    assert len(report["pending"]) == 6 and {p["reason"] for p in report["pending"]} == {"max-images"}
    # newest first: the three most recent dates
    assert {g["post"] for g in report["generated"]} == {
        "auto-blog-zero/2026-03-23-no-title-here.md",
        "auto-blog-zero/2026-03-22-code-in-posts.md",
        "auto-blog-zero/2026-03-21-what-the-script-learned.md",
    }
