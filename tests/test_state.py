"""The state file: quotas remembered across runs, expiry at the reset, never fatal, atomic writes."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imagegen.testing import VirtualClock
from imagegen.providers.base import AuthFailed, QuotaExhausted
from imagegen.chain.state import State, format_time, parse_time
from tests.test_chain import Fake, drive, make_chain, settings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
RESET = datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_round_trip_in_the_documented_shape(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "imagegen-state.json"
    state = State.load(path, NOW)
    assert state.entries == {}
    state.mark_out("cloudflare", RESET, now=NOW)
    state.save()
    assert json.loads(path.read_text()) == {
        "version": 1, "providers": {"cloudflare": {"out_until": "2026-11-25T00:00:00Z", "reason": "quota"}}}
    again = State.load(path, NOW + timedelta(hours=1))
    entry = again.out_until("cloudflare")
    assert entry is not None and entry.out_until == RESET and entry.reason == "quota"


def test_expired_entries_are_ignored_on_load_and_dropped_on_save(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"version": 1, "providers": {
        "cloudflare": {"out_until": "2026-11-24T00:00:00Z", "reason": "quota"},
        "huggingface": {"out_until": "2026-12-01T00:00:00Z", "reason": "quota"}}})
    state = State.load(path, NOW)
    assert set(state.entries) == {"huggingface"}
    assert state.out_until("huggingface", datetime(2026, 12, 1, tzinfo=timezone.utc)) is None  # at the reset
    state.save(now=datetime(2026, 12, 1, 0, 0, 1, tzinfo=timezone.utc))
    assert json.loads(path.read_text())["providers"] == {}


@pytest.mark.parametrize("content, what", [
    ("{not json", "not valid JSON"),
    ("\xff\xfe garbage", "not valid JSON"),
    ('["a list"]', "unexpected shape"),
    ('{"version": 0, "providers": {}}', "version 0"),  # older or unknown: ignored, then repaired (a newer one: see test_nothing_lost_2)
    ('{"version": 1, "providers": []}', "unexpected shape"),
])
def test_a_corrupt_state_file_is_ignored_with_one_warning(tmp_path: Path, content: str, what: str) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content.encode("latin-1"))
    warnings: list[str] = []
    state = State.load(path, NOW, warn=warnings.append)
    assert state.entries == {}
    assert len(warnings) == 1 and what in warnings[0] and "ignoring" in warnings[0]
    state.mark_out("cloudflare", RESET, now=NOW)
    state.save()  # and the next save repairs it
    assert State.load(path, NOW).out_until("cloudflare") is not None


def test_malformed_entries_are_skipped_the_rest_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"version": 1, "providers": {
        "a": {"out_until": "tomorrow"}, "b": "x", "c": {"out_until": "2026-11-25T00:00:00"},
        "d": {"out_until": "2026-11-25T00:00:00+00:00"}}})
    warnings: list[str] = []
    state = State.load(path, NOW, warn=warnings.append)
    assert set(state.entries) == {"d"}
    assert len(warnings) == 1 and "a, b, c" in warnings[0]


def test_an_unreadable_file_is_a_warning_not_an_error(tmp_path: Path) -> None:
    warnings: list[str] = []
    state = State.load(tmp_path, NOW, warn=warnings.append)  # a directory
    assert state.entries == {} and len(warnings) == 1


def test_a_missing_file_is_silent(tmp_path: Path) -> None:
    warnings: list[str] = []
    assert State.load(tmp_path / "nope.json", NOW, warn=warnings.append).entries == {}
    assert warnings == []


def test_a_far_future_time_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"version": 1, "providers": {"a": {"out_until": "2099-01-01T00:00:00Z"}}})
    entry = State.load(path, NOW).out_until("a")
    assert entry is not None and entry.out_until == NOW + timedelta(days=32)


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    state = State(path, now=NOW)
    state.mark_out("a", RESET)
    state.save()
    before = path.read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    state.mark_out("b", RESET)
    with pytest.raises(OSError):
        state.save()
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no temp file left behind


def test_times_round_up_to_whole_seconds() -> None:
    assert format_time(datetime(2026, 11, 25, 0, 0, 0, 1, tzinfo=timezone.utc)) == "2026-11-25T00:00:01Z"
    assert parse_time("2026-11-25T01:00:00+01:00") == RESET


# --------------------------------------------------------------------------- with the chain


def _run(path: Path, clock: VirtualClock, a: Fake, b: Fake, n: int = 5) -> tuple[list[object], State, list[str]]:
    warnings: list[str] = []
    state = State.load(path, clock.now(), warn=warnings.append)
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=1), b)], state=state)
    got = asyncio.run(drive(chain, n, concurrency=1))
    state.save()
    return got, state, warnings


def test_a_quota_is_carried_to_the_next_run_and_expires_at_the_reset(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = VirtualClock(NOW)
    a = Fake("a", clock, ["ok", "ok", QuotaExhausted("a: quota", reset_at=RESET)])
    b = Fake("b", clock)
    got, _, _ = _run(path, clock, a, b)
    assert got == ["a", "a", "b", "b", "b"] and len(a.calls) == 3

    # Run 2, an hour later: zero calls to a.
    clock2 = VirtualClock(NOW + timedelta(hours=1))
    a2, b2 = Fake("a", clock2), Fake("b", clock2)
    got, _, warnings = _run(path, clock2, a2, b2)
    assert got == ["b"] * 5 and a2.calls == [] and warnings == []

    # Run 3, at the reset: a is back.
    clock3 = VirtualClock(RESET)
    a3, b3 = Fake("a", clock3), Fake("b", clock3)
    got, state, _ = _run(path, clock3, a3, b3)
    assert got == ["a"] * 5 and json.loads(path.read_text())["providers"] == {}


def test_the_remembered_provider_is_reported_out_without_a_call(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"version": 1, "providers": {"a": {"out_until": "2026-11-25T00:00:00Z"}}})
    clock = VirtualClock(NOW)
    events: list[object] = []
    a, b = Fake("a", clock), Fake("b", clock)
    state = State.load(path, clock.now())
    chain = make_chain(clock, [(settings("a"), a), (settings("b"), b)], events, state=state)  # type: ignore[arg-type]
    assert asyncio.run(drive(chain, 2)) == ["b", "b"]
    assert chain.stats["a"].status == "quota" and chain.stats["a"].calls == 0 and chain.stats["a"].wasted_calls == 0
    outs = [e for e in events if e.kind == "provider_out"]  # type: ignore[attr-defined]
    assert len(outs) == 1 and "state file" in outs[0].message  # type: ignore[attr-defined]


def test_a_provider_remembered_out_comes_back_when_its_reset_passes_during_the_run(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"version": 1, "providers": {"a": {"out_until": "2026-11-24T12:00:30Z"}}})
    clock = VirtualClock(NOW)
    a, b = Fake("a", clock, latency=10), Fake("b", clock, latency=10)
    state = State.load(path, clock.now())
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=1), b)], state=state)
    got = asyncio.run(drive(chain, 6, concurrency=1))
    assert got[:3] == ["b", "b", "b"] and got[3:] == ["a", "a", "a"]
    state.save(now=clock.now())
    assert json.loads(path.read_text())["providers"] == {}


def test_a_corrupt_state_file_does_not_stop_the_run(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", "{\"version\": 1, \"providers\": {\"a\": ")
    clock = VirtualClock(NOW)
    a, b = Fake("a", clock), Fake("b", clock)
    got, _, warnings = _run(path, clock, a, b, n=2)
    assert got == ["a", "a"] and len(warnings) == 1
    assert json.loads(path.read_text()) == {"version": 1, "providers": {}, "worked": {"a": "2026-11-24T12:00:02Z"}}


def test_only_quota_is_persisted(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    clock = VirtualClock(NOW)
    a = Fake("a", clock, default=AuthFailed("a: 401"))
    b = Fake("b", clock)
    _run(path, clock, a, b, n=2)
    assert json.loads(path.read_text())["providers"] == {}


def test_a_quota_is_remembered_for_the_credentials_it_was_learned_with(tmp_path: Path) -> None:
    """The entry keeps a one-way fingerprint of the key (never the key): the same key stays out,
    another key is tried at once, and an entry written without one (older files) holds for any."""
    from imagegen.providers import get

    spec = get("pollinations")
    old, new = spec.fingerprint({"api_key": "sk_old_key_0001"}), spec.fingerprint({"api_key": "sk_new_key_0002"})
    assert len(old) == 16 and old != new and spec.fingerprint({}) == "" and spec.fingerprint({"enabled": "true"}) == ""
    assert "sk_old_key_0001" not in old and old == spec.fingerprint({"api_key": "sk_old_key_0001"})
    path = tmp_path / "s.json"
    state = State.load(path, NOW)
    state.mark_out("pollinations", NOW + timedelta(days=7), now=NOW, key=old)
    state.mark_out("cloudflare", NOW + timedelta(days=3), now=NOW)
    state.save()
    text = path.read_text()
    assert "sk_old_key_0001" not in text and json.loads(text)["providers"]["pollinations"]["key"] == old
    later = State.load(path, NOW + timedelta(days=1))
    assert later.out_until("pollinations", key=old) is not None and later.out_until("pollinations", key=new) is None
    assert later.out_until("cloudflare", key="anything") is not None  # no fingerprint: any key
    later.mark_out("pollinations", NOW + timedelta(days=2), now=NOW, key=new)  # another key replaces it
    assert later.entries["pollinations"].key == new
    write(path, {"version": 1, "providers": {"pollinations": {"out_until": format_time(RESET), "key": ["x"]}}})
    warnings: list[str] = []
    assert State.load(path, NOW, warn=warnings.append).entries == {} and "pollinations" in warnings[0]
