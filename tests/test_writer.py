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


def test_o_tmpfile_image_gets_its_name_with_linkat_no_named_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9 item 15: `os.link` on /proc/self/fd/N never works (it does not follow the link);
    linkat(AT_SYMLINK_FOLLOW) does, so no named temp file is ever needed for an image."""
    if not getattr(os, "O_TMPFILE", 0) or not Path("/proc/self/fd").is_dir():
        pytest.skip("needs Linux O_TMPFILE")

    def no_named_temp(*a: object, **k: object) -> None:
        raise AssertionError("fell back to a named temp file")

    monkeypatch.setattr(writer, "_via_temp", no_named_temp)
    monkeypatch.setattr(writer, "_tmpfile_works", None)
    writer.write_new(tmp_path / "x.png", b"data")
    assert (tmp_path / "x.png").read_bytes() == b"data" and writer._tmpfile_works is True
    with pytest.raises(FileExistsError):
        writer.write_new(tmp_path / "x.png", b"other")


def test_replace_if_unchanged_replaces_only_the_version_it_was_based_on(tmp_path: Path) -> None:
    post = tmp_path / "p.md"
    post.write_bytes(b"base")
    post.chmod(0o640)
    assert writer.replace_if_unchanged(post, b"new", b"base") == writer.REPLACED
    assert post.read_bytes() == b"new" and post.stat().st_mode & 0o777 == 0o640
    assert writer.replace_if_unchanged(post, b"newer", b"base") == writer.CHANGED
    assert post.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.md"]


def test_replace_if_unchanged_waits_for_a_program_writing_in_place(tmp_path: Path) -> None:
    """An editor with the post open for writing may still write into it: nothing is swapped in."""
    post = tmp_path / "p.md"
    post.write_bytes(b"base")
    with open(post, "ab") as editor:
        result = writer.replace_if_unchanged(post, b"new", b"base")
        editor.write(b" + their save")
    if result == writer.REPLACED:  # leases unavailable on this filesystem: the byte check ran
        pytest.skip("no file leases here")
    assert result == writer.BUSY and post.read_bytes() == b"base + their save"


def test_put_back_returns_a_save_that_arrived_during_the_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor renames its save over the post between the check and the exchange: the save
    comes out of the exchange and is put back; our version is dropped."""
    post = tmp_path / "p.md"
    post.write_bytes(b"base")
    real_exchange = writer.exchange
    calls = []

    def racing_exchange(a: Path, b: Path) -> None:
        if not calls:
            save = tmp_path / "editor.tmp"
            save.write_bytes(b"base + their save")
            os.replace(save, post)
        calls.append(1)
        real_exchange(a, b)

    monkeypatch.setattr(writer, "exchange", racing_exchange)
    assert writer.replace_if_unchanged(post, b"new", b"base") == writer.CHANGED
    assert post.read_bytes() == b"base + their save" and len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.md"]


def test_scratch_dir_in_a_worktree_and_in_a_plain_folder(tmp_path: Path) -> None:
    """Issue 9 item 15: a worktree's `.git` is a file: the scratch folder is found with
    `git rev-parse --git-dir`; a plain folder gets one hidden folder at its root."""
    from tests.helpers import commit_all, git, init_repo

    main = init_repo(tmp_path / "main")
    (main / "p.md").write_text("x")
    commit_all(main)
    git(main, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "other")
    scratch = writer.scratch_dir(tmp_path / "wt")
    assert scratch is not None and (tmp_path / "wt") not in scratch.parents
    assert scratch.parent == Path(git(tmp_path / "wt", "rev-parse", "--absolute-git-dir").strip())
    plain = tmp_path / "plain"
    plain.mkdir()
    assert writer.scratch_dir(plain) == plain / writer.HIDDEN_SCRATCH
    writer.drop_scratch(plain, plain / writer.HIDDEN_SCRATCH)
    assert list(plain.iterdir()) == []
