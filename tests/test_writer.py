"""The writer's promises: never clobber, never leave temp files, never follow links outside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagegen import writer


def test_write_new_creates_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    writer.write_new(target, b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(FileExistsError):
        writer.write_new(target, b"two")
    assert target.read_bytes() == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_write_new_fallback_without_o_tmpfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    target = tmp_path / "b.png"
    writer.write_new(target, b"data")
    assert target.read_bytes() == b"data"
    with pytest.raises(FileExistsError):
        writer.write_new(target, b"other")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.png"]


def test_write_image_picks_next_free_name(tmp_path: Path) -> None:
    (tmp_path / "blog-post.png").write_bytes(b"old")
    (tmp_path / "blog-post-2.png").write_bytes(b"old2")
    p = writer.write_image(tmp_path, "blog-post", "png", b"new")
    assert p.name == "blog-post-3.png"
    assert (tmp_path / "blog-post.png").read_bytes() == b"old"
    taken: set[str] = set()
    assert writer.free_name(tmp_path, "x", "jpg", taken) == "x.jpg"
    assert writer.free_name(tmp_path, "x", "jpg", taken) == "x-2.jpg"


def test_replace_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(b"old")
    os.chmod(post, 0o640)
    writer.replace(post, b"new")
    assert post.read_bytes() == b"new"
    assert (post.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["post.md"]


def test_replace_failure_removes_temp_and_keeps_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(b"original")

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        writer.replace(post, b"new")
    assert post.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["post.md"]


def test_safe_target_refuses_symlink_leading_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    link = repo / "2026-01-01-link.md"
    link.symlink_to(outside)
    with pytest.raises(writer.WriteError):
        writer.safe_target(link, repo)
    inner = repo / "real.md"
    inner.write_text("x")
    link2 = repo / "2026-01-02-link.md"
    link2.symlink_to(inner)
    assert writer.safe_target(link2, repo) == inner.resolve()


def test_ensure_dir_refuses_attachments_symlinked_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / "attachments").symlink_to(elsewhere)
    with pytest.raises(writer.WriteError):
        writer.ensure_dir(repo / "attachments", repo)
    made = writer.ensure_dir(repo / "covers" / "2026", repo)
    assert made.is_dir()


def test_clean_stale_temps(tmp_path: Path) -> None:
    (tmp_path / f"{writer.TMP_PREFIX}abc").write_bytes(b"x")
    (tmp_path / "keep.md").write_bytes(b"y")
    removed = writer.clean_stale_temps([tmp_path])
    assert [p.name for p in removed] == [f"{writer.TMP_PREFIX}abc"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.md"]


def test_scratch_dir_keeps_temps_out_of_the_work_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "blog").mkdir()
    scratch = writer.scratch_dir(repo)
    assert scratch == repo / ".git" / "imagegen-tmp"
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: object, dst: object) -> None:
        seen.append(str(src))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", spy)
    post = repo / "blog" / "p.md"
    post.write_bytes(b"a")
    writer.replace(post, b"b", tmp_dir=scratch)
    assert post.read_bytes() == b"b"
    assert seen and seen[0].startswith(str(scratch))
    assert list(scratch.iterdir()) == []
    assert writer.scratch_dir(tmp_path / "not-a-repo") is None
