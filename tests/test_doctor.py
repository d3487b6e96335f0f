"""`imagegen doctor` against the loopback fake: no image is made, the table says what is wrong and
how to fix it, and the exit status says whether any image provider is usable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegen import cli, redact
from tests.fake_providers import NAMES, FakeProviders, fake_providers  # noqa: F401
from tests.helpers import init_repo


def doctor(fp: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
           env: dict[str, str] | None = None) -> tuple[int, str]:
    repo = init_repo(tmp_path / "blog")
    capsys.readouterr()
    try:
        code = cli.main(["doctor", str(repo), *args], env=fp.env() if env is None else env)
    finally:
        redact.clear()
    out = capsys.readouterr()
    return code, out.out + out.err


def line(out: str, subject: str, what: str) -> str:
    found = [ln for ln in out.splitlines() if ln.startswith(subject) and what in ln]
    assert found, (subject, what, out)
    return found[0]


def no_images(fp: FakeProviders) -> None:
    assert all(fp.count(n) == 0 for n in NAMES), {n: fp.count(n) for n in NAMES}


def test_everything_fine_is_all_ok_and_makes_no_image(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(fake_providers, tmp_path, capsys)
    assert code == 0
    assert "PROBLEM" not in out
    for name in NAMES:
        assert line(out, name, "model ").split()[-1] in ("ok",) or " ok" in line(out, name, "model ")
    assert "served by together" in line(out, "huggingface", "model black-forest-labs/FLUX.1-schnell")
    assert " ok" in line(out, "describer", "model gemini-3.1-flash-lite")
    assert "usable image providers: cloudflare, huggingface, together, pollinations, gemini" in out
    no_images(fake_providers)
    assert fake_providers.catalog_calls  # it did ask the cheap endpoints


def test_no_key_says_which_setting_adds_the_provider(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(fake_providers, tmp_path, capsys, env=fake_providers.env(names=["gemini"]))
    assert code == 0  # gemini is usable
    assert "CLOUDFLARE_API_TOKEN" in line(out, "cloudflare", "not configured")
    assert "HUGGINGFACE_API_TOKEN" in line(out, "huggingface", "not configured")
    code, out = doctor(fake_providers, tmp_path / "b", capsys, "--providers", "cloudflare", env={})
    assert code == 1 and "no image provider is configured yet" in out  # the table, not a refusal
    assert "https://dash.cloudflare.com/profile/api-tokens" in line(out, "cloudflare", "not configured")
    no_images(fake_providers)


def test_no_key_at_all_prints_the_table_with_where_to_get_each_key_and_what_is_free(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """A newcomer runs doctor before having any key: the answer is the table, not "error: no provider"."""
    from imagegen.providers import REGISTRY

    code, out = doctor(fake_providers, tmp_path, capsys, env={"AIHORDE_ENABLED": "false"})  # not even the keyless one
    assert code == 1 and "error" not in out
    for spec in REGISTRY:
        if spec.alias_of:
            assert not [ln for ln in out.splitlines() if ln.startswith(spec.name + " ")], "an alias is listed once"
            continue
        row = line(out, spec.name, "not configured")
        assert " off " in row and spec.free and f"free: {spec.free}" in row
        assert spec.signup in row if spec.signup else "--providers" in row
    assert "or use --providers card" in out
    no_images(fake_providers)


def test_a_half_configured_provider_is_named_with_the_missing_secret(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    env = {"CLOUDFLARE_API_TOKEN": "abcdefghijklmnop"}
    code, out = doctor(fake_providers, tmp_path, capsys, env=env)
    assert code == 1
    row = line(out, "cloudflare", "key")
    assert "PROBLEM" in row and "CLOUDFLARE_ACCOUNT_ID is missing (CLOUDFLARE_API_TOKEN is set)" in row
    assert "set CLOUDFLARE_ACCOUNT_ID too" in row
    # the run says the same instead of the generic list
    repo = init_repo(tmp_path / "run")
    assert cli.main(["run", str(repo)], env=env) == cli.EXIT_SETTINGS
    err = capsys.readouterr().err
    assert err.strip() == ("imagegen: error: no image provider is configured: cloudflare: CLOUDFLARE_ACCOUNT_ID is "
                           "missing (CLOUDFLARE_API_TOKEN is set)")
    # with another provider configured, the run goes on and says once that cloudflare is left out
    assert cli.main(["run", str(repo), "--providers", "cloudflare,card", "--dry-run"], env=env) == 0
    assert "warning: cloudflare: CLOUDFLARE_ACCOUNT_ID is missing (CLOUDFLARE_API_TOKEN is set), so it is left out" \
        in capsys.readouterr().err


def test_a_bad_key_is_a_problem_with_its_fix_and_nothing_usable_exits_1(fake_providers: FakeProviders,  # noqa: F811
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("cloudflare", "gemini", "huggingface"):
        fake_providers.set_behaviour(name, token="the-right-key")
    code, out = doctor(fake_providers, tmp_path, capsys, "--providers", "cloudflare,huggingface,gemini",
                       env=fake_providers.env(names=["cloudflare", "huggingface", "gemini"]))
    assert code == 1
    assert "PROBLEM" in line(out, "cloudflare", "token and account id") and "CLOUDFLARE_API_TOKEN" in out
    assert "PROBLEM" in line(out, "gemini", "API key") and "set GEMINI_API_KEY" in line(out, "gemini", "API key")
    assert "PROBLEM" in line(out, "huggingface", "token")
    assert "PROBLEM" in line(out, "describer", "API key")
    assert "no image provider is usable" in out
    no_images(fake_providers)


def test_a_retired_model_is_named_with_its_fix_and_the_next_model_keeps_it_usable(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    fake_providers.set_behaviour("cloudflare", retired_models=("@cf/old/model",))
    fake_providers.set_behaviour("gemini", retired_models=("gemini-3.1-flash-lite",))
    code, out = doctor(fake_providers, tmp_path, capsys, "--providers", "cloudflare,gemini",
                       "--cloudflare-image-model", "@cf/old/model,@cf/black-forest-labs/flux-1-schnell",
                       env=fake_providers.env(names=["cloudflare", "gemini"]))
    assert code == 0
    old = line(out, "cloudflare", "model @cf/old/model")
    assert "PROBLEM" in old and "CLOUDFLARE_IMAGE_MODEL" in old
    assert " ok" in line(out, "cloudflare", "model @cf/black-forest-labs/flux-1-schnell")
    assert "PROBLEM" in line(out, "describer", "model gemini-3.1-flash-lite ")
    assert "usable image providers: cloudflare, gemini" in out
    no_images(fake_providers)


def test_the_state_file_is_read_and_a_provider_out_of_quota_is_not_usable_now(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1,
                                 "providers": {"cloudflare": {"out_until": "2099-01-01T00:00:00Z", "reason": "quota"}},
                                 "retired_models": {"cloudflare": {"@cf/gone": "2099-01-01T00:00:00Z"}}}))
    code, out = doctor(fake_providers, tmp_path, capsys, "--providers", "cloudflare", "--state-file", str(state),
                       env=fake_providers.env(names=["cloudflare"]))
    assert code == 1
    assert "PROBLEM" in line(out, "cloudflare", "quota")
    assert "@cf/gone" in out and "1 provider(s) out of quota, 1 retired model(s)" in line(out, "state file", "")
    no_images(fake_providers)


def test_the_action_mode_doctor_prints_the_table_makes_no_image_and_fails_when_nothing_is_usable(
        fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    import io

    from imagegen import action

    repo = init_repo(tmp_path / "blog")
    (repo / "2026-01-01-a.md").write_text("# A\n\nText.\n")
    summary = tmp_path / "summary.md"
    base = {"GITHUB_WORKSPACE": str(repo), "INPUT_MODE": "doctor", "INPUT_PROVIDERS": "cloudflare",
            "INPUT_COMMIT": "none", "GITHUB_STEP_SUMMARY": str(summary), **fake_providers.env(names=["cloudflare"])}
    try:
        out = io.StringIO()
        assert action.main(base, out=out) == 0
        assert "token and account id" in out.getvalue() and "usable image providers: cloudflare" in out.getvalue()
        assert "imagegen doctor" in summary.read_text()
        fake_providers.set_behaviour("cloudflare", token="the-right-key")
        out = io.StringIO()
        assert action.main(base, out=out) == 1
        assert [ln for ln in out.getvalue().splitlines() if ln.startswith("::error::")]
        out = io.StringIO()
        assert action.main({**base, "INPUT_MODE": "sometimes"}, out=out) == 1
    finally:
        redact.clear()
    no_images(fake_providers)
    assert not (repo / "attachments").exists()
