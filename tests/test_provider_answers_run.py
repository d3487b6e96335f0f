"""The providers as they answered in December 2026, end to end (issue 16 points 1, 3 and 4; issue 19
item 10): each real answer served from the loopback fake to the real `imagegen run`, twice or more
with one state file. What is checked is what a user sees: the exit status, how many calls each
provider got, what the report and the state file say, what the next run does with that file, and
that `imagegen doctor` says the same thing as the run.

Runs use a ScaledClock (one simulated second = 1 ms), so waits and a week between runs cost no real
time; a describer deadline is the only real wait (0.2 s, below).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import pytest

from imagegen import cli, redact
from imagegen.providers import cloudflare, gemini, pollinations
from imagegen.testing import ScaledClock
from tests.fake_providers import FIXTURES, NAMES, FakeProviders, fake_providers, fixture_outcome  # noqa: F401
from tests.helpers import commit_all, init_repo

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
KEY = "sk_december_key_0001"
OTHER_KEY = "sk_december_key_0002"


class Blog:
    """A git repository of posts, one state file, and the runs made on it."""

    def __init__(self, root: Path, posts: int = 3) -> None:
        self.root = root
        self.repo = init_repo(root / "blog")
        self.state = root / "state.json"
        self.report = root / "report.json"
        self.n = 0
        self.add(posts)

    def add(self, posts: int) -> None:
        """New posts without covers (what a later run has to do)."""
        for _ in range(posts):
            day = datetime(2026, 10, 1) + timedelta(days=self.n)  # dated before every run's clock
            p = self.repo / "posts" / f"{day:%Y-%m-%d}-post-{self.n}.md"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"---\ntitle: Post {self.n}\n---\n# Post {self.n}\n\nFoxes and snow, part {self.n}.\n")
            self.n += 1
        commit_all(self.repo)

    def run(self, fp: FakeProviders, providers: Iterable[str], capsys: pytest.CaptureFixture[str], *,
            at: datetime = T0, env: dict[str, str] | None = None, args: Iterable[str] = (),
            describer: str = "off") -> tuple[int, dict[str, Any], str]:
        names = [p for p in providers]
        full_env = fp.env(names=[n for n in names if n in NAMES])
        full_env.update(env or {})
        self.report.unlink(missing_ok=True)
        capsys.readouterr()
        try:
            code = cli.main(["run", str(self.repo), "--providers", ",".join(names), "--describer", describer,
                             "--report", str(self.report), "--state-file", str(self.state), "--reserve", "",
                             "--concurrency", "4", *[f"--provider-min-interval={n}=0" for n in names if n in NAMES],
                             *args], env=full_env, clock=ScaledClock(0.001, start=at))
        finally:
            redact.clear()
        return code, json.loads(self.report.read_text()), capsys.readouterr().err

    def doctor(self, fp: FakeProviders, providers: Iterable[str], capsys: pytest.CaptureFixture[str], *,
               env: dict[str, str] | None = None) -> tuple[int, str]:
        names = list(providers)
        full_env = fp.env(names=[n for n in names if n in NAMES])
        full_env.update(env or {})
        capsys.readouterr()
        try:
            code = cli.main(["doctor", str(self.repo), "--providers", ",".join(names), "--state-file",
                             str(self.state)], env=full_env)
        finally:
            redact.clear()
        out = capsys.readouterr()
        return code, out.out + out.err

    def saved(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())


def line(out: str, subject: str, what: str) -> str:
    found = [ln for ln in out.splitlines() if ln.startswith(subject) and what in ln]
    assert found, (subject, what, out)
    return found[0]


def by(report: dict[str, Any]) -> set[str]:
    return {g["provider"] for g in report["generated"]}


def served(name: str) -> dict[str, Any]:
    """A fixture's scripted outcome (tests/fixtures/provider-responses/<name>.json)."""
    return fixture_outcome(FIXTURES / f"{name}.json")[1]


# --------------------------------------------------------------------------- Gemini


def test_gemini_unknown_field_is_one_call_per_run_never_one_per_post(fake_providers: FakeProviders,  # noqa: F811
                                                                     tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`gemini-400-unknown-field-responseModalities.json`: the API version does not know a field
    imagegen sends. Every call would get it: out for the run after one call (it was a per-post bad
    request, one call per post)."""
    fake_providers.script("gemini", [served("gemini-400-unknown-field-responseModalities")] * 20)
    blog = Blog(tmp_path, posts=4)
    code, report, err = blog.run(fake_providers, ["gemini", "local"], capsys)
    assert code == cli.EXIT_OK and by(report) == {"local"} and len(report["generated"]) == 4
    st = report["providers"]["gemini"]
    assert fake_providers.count("gemini") == 1 and st["status"] == "unavailable" and st["errors"]["unavailable"] == 1
    assert "does not accept the field 'responseModalities'" in err and "update imagegen" in err
    # Not remembered (the next imagegen may send what the API takes): the next run asks once again.
    blog.add(2)
    code, report, _ = blog.run(fake_providers, ["gemini", "local"], capsys, at=T0 + timedelta(days=1))
    assert code == cli.EXIT_OK and fake_providers.count("gemini") == 2 and "gemini" not in blog.saved()["providers"]
    # Alone, nothing could work: one line, exit 1.
    blog.add(1)
    code, _, err = blog.run(fake_providers, ["gemini"], capsys)
    assert code == cli.EXIT_ERROR and fake_providers.count("gemini") == 3
    assert [ln for ln in err.splitlines() if ln.startswith("imagegen: error:")][0].count("gemini") == 1


def test_doctor_and_the_run_agree_on_a_refused_request_field(fake_providers: FakeProviders,  # noqa: F811
                                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A check that passes in doctor must not fail in the run for the same reason: doctor asks the
    API version about the very fields the run sends (countTokens: nothing generated)."""
    fake_providers.set_behaviour("gemini", unknown_fields=("responseModalities",))
    blog = Blog(tmp_path)
    code, out = blog.doctor(fake_providers, ["gemini"], capsys)
    assert code == 1 and "no image provider is usable" in out
    assert "PROBLEM" in line(out, "gemini", "request fields (API v1beta)") and "responseModalities" in out
    assert "PROBLEM" not in line(out, "describer", "request fields (API v1beta)")  # its fields are known
    assert fake_providers.count("gemini") == 0  # doctor generated nothing
    code, report, _ = blog.run(fake_providers, ["gemini"], capsys, describer="auto")
    assert code == cli.EXIT_ERROR and report["providers"]["gemini"]["status"] == "unavailable"
    # The describer's request was fine (it wrote the prompt); the image call was refused.
    images = [r for r in fake_providers.requests("gemini") if "responseModalities" in json.dumps(r.json)]
    assert len(images) == 1

    # And the other way round: what doctor passes, the run does.
    fake_providers.reset()
    code, out = blog.doctor(fake_providers, ["gemini"], capsys)
    assert code == 0 and "PROBLEM" not in out
    code, report, _ = blog.run(fake_providers, ["gemini"], capsys, describer="auto")
    assert code == cli.EXIT_OK and by(report) == {"gemini"}


def test_a_describer_request_the_api_refuses_switches_the_describer_off_after_one_call(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """The same answer for the describer's own field (`systemInstruction`, also reported from
    `/v1`): no model could do better, so the describer is off for the run after one call (it was up
    to three calls per post, each post falling back to its text in silence). Doctor said so first."""
    fake_providers.set_behaviour("gemini", unknown_fields=("systemInstruction",))
    blog = Blog(tmp_path, posts=5)
    code, out = blog.doctor(fake_providers, ["local"], capsys, env={"GEMINI_API_KEY": "fake-gemini-0001",
                                                                   "IMAGEGEN_GEMINI_BASE_URL": fake_providers.base_url("gemini")})
    assert "PROBLEM" in line(out, "describer", "request fields (API v1beta)") and "systemInstruction" in out
    code, report, err = blog.run(fake_providers, ["local"], capsys, describer="auto",
                                 env={"GEMINI_API_KEY": "fake-gemini-0001",
                                      "IMAGEGEN_GEMINI_BASE_URL": fake_providers.base_url("gemini")})
    assert code == cli.EXIT_OK and len(report["generated"]) == 5
    assert {g["prompt_source"] for g in report["generated"]} == {"text"}
    assert fake_providers.count("gemini") == 1 and err.count("describer off for this run") == 1


def test_doctor_sends_the_fields_the_run_sends(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Doctor's countTokens body carries exactly the request fields of the run's image and
    describer calls (one place builds them; this keeps them from drifting apart)."""
    blog = Blog(tmp_path, posts=1)
    blog.run(fake_providers, ["gemini"], capsys, describer="auto")
    run_fields = sorted(_fields(r.json) for r in fake_providers.requests("gemini"))
    seen: list[dict[str, Any]] = []
    original = fake_providers._catalog

    def spy(name, path, query, headers, data=None):  # type: ignore[no-untyped-def]
        if path.endswith(":countTokens"):
            seen.append(data["generateContentRequest"])
        return original(name, path, query, headers, data)

    fake_providers._catalog = spy  # type: ignore[method-assign]
    try:
        blog.doctor(fake_providers, ["gemini"], capsys)
    finally:
        fake_providers._catalog = original  # type: ignore[method-assign]
    assert sorted(_fields(body) for body in seen) == run_fields and len(seen) == 2


def _fields(body: dict[str, Any]) -> str:
    """The request's field names besides the prompt, as one comparable string."""
    config = sorted(body.get("generationConfig", {}))
    return json.dumps({"generationConfig": config, "systemInstruction": "systemInstruction" in body})


def test_every_gemini_call_uses_the_chosen_api_version(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Images, the describer and doctor on `gemini.API_VERSION`, whatever the SDK's default (v1 in
    google-genai 3.x) or the machine's GOOGLE_GENAI_API_VERSION says."""
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "v1")
    blog = Blog(tmp_path, posts=2)
    code, report, _ = blog.run(fake_providers, ["gemini"], capsys, describer="auto")
    assert code == cli.EXIT_OK and by(report) == {"gemini"}
    blog.doctor(fake_providers, ["gemini"], capsys)
    paths = [r.path for r in fake_providers.requests("gemini")] + [p for n, p in fake_providers.catalog_calls]
    assert paths and all(p.startswith(f"/{gemini.API_VERSION}/models/") for p in paths), paths
    assert gemini.API_VERSION == "v1beta"


def test_a_retired_first_gemini_model_gives_way_to_the_second_default(fake_providers: FakeProviders,  # noqa: F811
                                                                      tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour("gemini", retired_models=(gemini.DEFAULT_MODELS[0],))
    blog = Blog(tmp_path)
    code, report, err = blog.run(fake_providers, ["gemini"], capsys)
    assert code == cli.EXIT_OK and {g["model"] for g in report["generated"]} == {"gemini-3.1-flash-lite-image"}
    assert "gemini-3.1-flash-image" in blog.saved()["retired_models"]["gemini"]
    blog.add(2)
    before = fake_providers.count("gemini")
    code, report, _ = blog.run(fake_providers, ["gemini"], capsys, at=T0 + timedelta(days=1))
    later = fake_providers.requests("gemini")[before:]
    assert code == cli.EXIT_OK and len(later) == 2 and all("flash-lite-image" in r.path for r in later)


def test_a_limit_that_never_lifts_is_not_retried_for_every_post(fake_providers: FakeProviders,  # noqa: F811
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A spending cap has no documented answer; a 429 with no details
    (`gemini-429-resource-exhausted-no-details.json`) is what it would most likely look like.
    Six in a row with no image between them and Gemini is out for the run (it was three calls per
    post, every post, for as long as the run lasted)."""
    fake_providers.script("gemini", [served("gemini-429-resource-exhausted-no-details")] * 100)
    blog = Blog(tmp_path, posts=10)
    code, report, err = blog.run(fake_providers, ["gemini", "local"], capsys)
    st = report["providers"]["gemini"]
    assert fake_providers.count("gemini") == 6 and st["status"] == "rate_limit" and st["errors"]["rate_limit"] == 6
    assert code == cli.EXIT_OK and len(report["generated"]) == 10 and by(report) == {"local"}
    assert "6 times in a row with no image" in err
    # Per run (the cap may lift at any time): the next run spends at most six calls again.
    blog.add(10)
    blog.run(fake_providers, ["gemini", "local"], capsys, at=T0 + timedelta(hours=1))
    assert fake_providers.count("gemini") == 12


def test_a_describer_that_times_out_is_out_for_the_run_after_the_first_time(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19 item 10: a describer that drips cost every post three full deadlines. Now each of
    its three models gets one deadline for the whole run; the posts get text prompts."""
    from imagegen.prompts import describer

    monkeypatch.setattr(describer, "DESCRIBER_TIMEOUT", 0.2)  # a real wait: keep it short
    fake_providers.set_behaviour("gemini", latency=1.0)  # every answer comes after the deadline
    blog = Blog(tmp_path, posts=6)
    code, report, err = blog.run(fake_providers, ["local"], capsys, describer="auto",
                                 env={"GEMINI_API_KEY": "fake-gemini-0001",
                                      "IMAGEGEN_GEMINI_BASE_URL": fake_providers.base_url("gemini")})
    assert code == cli.EXIT_OK and len(report["generated"]) == 6
    assert {g["prompt_source"] for g in report["generated"]} == {"text"}
    models = [r.path.split("/models/", 1)[1].split(":", 1)[0] for r in fake_providers.requests("gemini")]
    assert sorted(models) == sorted(["gemini-3.1-flash-lite", "gemini-3.5-flash-lite", "gemini-3.5-flash"]), models
    assert err.count("timed out") >= 3


# --------------------------------------------------------------------------- Pollinations


@pytest.mark.parametrize("answer", ["pollinations-402-payment-required-gen", "pollinations-402-insufficient-no-code-gen",
                                    "pollinations-402-key-budget-exhausted-gen"])
def test_no_pollen_is_out_until_the_key_changes_or_a_week_passes(answer: str, fake_providers: FakeProviders,  # noqa: F811
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """No pollen refills by itself since 2026-06-22: a keyed 402 (no balance, or the key's own
    budget) is out for a week for that key, with one line saying what to do. The state file keeps a
    fingerprint of the key, never the key; another key is tried at once."""
    fake_providers.script("pollinations", [served(answer)])
    blog = Blog(tmp_path)
    env = {"POLLINATIONS_API_KEY": KEY}
    code, report, err = blog.run(fake_providers, ["pollinations", "local"], capsys, env=env)
    assert code == cli.EXIT_OK and by(report) == {"local"} and fake_providers.count("pollinations") == 1
    assert report["providers"]["pollinations"]["status"] == "quota"
    out_line = line(err, "Pollinations is out", "quota used up until 2026-12-08")
    assert "add pollen at https://enter.pollinations.ai" in out_line and "set another POLLINATIONS_API_KEY" in out_line
    entry = blog.saved()["providers"]["pollinations"]
    assert entry["out_until"].startswith("2026-12-08T09:") and len(entry["key"]) == 16
    assert KEY not in blog.state.read_text() and KEY[3:] not in blog.state.read_text()
    code, out = blog.doctor(fake_providers, ["pollinations"], capsys, env=env)
    assert "add pollen" in line(out, "pollinations", "quota") and code == 1

    blog.add(2)  # the next day, the same key: no call at all
    code, report, err = blog.run(fake_providers, ["pollinations", "local"], capsys, env=env,
                                 at=T0 + timedelta(days=1))
    assert code == cli.EXIT_OK and fake_providers.count("pollinations") == 1 and by(report) == {"local"}
    assert "quota used up until 2026-12-08" in line(err, "Pollinations is out", "add pollen at https://enter.")

    blog.add(2)  # another key (with pollen): tried at once, and it makes the covers
    other = {"POLLINATIONS_API_KEY": OTHER_KEY}
    code, out = blog.doctor(fake_providers, ["pollinations"], capsys, env=other)
    assert code == 0 and not [ln for ln in out.splitlines() if ln.startswith("pollinations") and "quota" in ln]
    code, report, _ = blog.run(fake_providers, ["pollinations", "local"], capsys, env=other,
                               at=T0 + timedelta(days=1, hours=1))
    assert code == cli.EXIT_OK and by(report) == {"pollinations"} and fake_providers.count("pollinations") == 3

    blog.add(1)  # a week later the first key gets one call again
    code, report, _ = blog.run(fake_providers, ["pollinations", "local"], capsys, env=env, at=T0 + timedelta(days=8))
    assert fake_providers.count("pollinations") == 4 and by(report) == {"pollinations"}


def test_a_branded_anonymous_image_is_not_a_cover_unless_accepted(fake_providers: FakeProviders,  # noqa: F811
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Since 2026-08-03 the anonymous host stamps its logo on every image (X-Pollinations-Logo):
    one call, out for the run, the posts go to the next provider; doctor says so before a run."""
    blog = Blog(tmp_path)
    refuse = {"POLLINATIONS_ACCEPT_LOGO": "false"}
    code, out = blog.doctor(fake_providers, ["pollinations"], capsys, env=refuse)
    assert code == 1 and "PROBLEM" in line(out, "pollinations", "anonymous host") and "logo" in out
    code, report, err = blog.run(fake_providers, ["pollinations", "local"], capsys, env=refuse)
    assert code == cli.EXIT_OK and by(report) == {"local"} and fake_providers.count("pollinations") == 1
    assert report["providers"]["pollinations"]["status"] == "unavailable" and "POLLINATIONS_ACCEPT_LOGO=true" in err

    blog.add(2)
    code, out = blog.doctor(fake_providers, ["pollinations"], capsys)  # fp.env accepts the logo
    assert code == 0 and "will carry a Pollinations logo" in line(out, "pollinations", "anonymous host")
    code, report, _ = blog.run(fake_providers, ["pollinations"], capsys)
    assert code == cli.EXIT_OK and by(report) == {"pollinations"} and len(report["generated"]) == 2


def test_the_keyed_gateways_invalid_model_answer_retires_the_model(fake_providers: FakeProviders,  # noqa: F811
                                                                    tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`pollinations-400-invalid-model-gen.json`: the model is named only in
    error.details.fieldErrors.model. Retired (remembered 7 days), the next model takes over; it was
    a per-post bad request, one wasted call per post and never learned."""
    fake_providers.script("pollinations", [served("pollinations-400-invalid-model-gen")])
    blog = Blog(tmp_path)
    env = {"POLLINATIONS_API_KEY": KEY}
    code, report, err = blog.run(fake_providers, ["pollinations"], capsys, env=env)
    assert code == cli.EXIT_OK and {g["model"] for g in report["generated"]} == {"zimage"}
    assert report["providers"]["pollinations"]["errors"]["retired"] == 1
    assert "flux" in blog.saved()["retired_models"]["pollinations"] and "using zimage instead" in err
    blog.add(2)
    before = fake_providers.count("pollinations")
    blog.run(fake_providers, ["pollinations"], capsys, env=env, at=T0 + timedelta(days=1))
    assert [r.query["model"] for r in fake_providers.requests("pollinations")[before:]] == ["zimage", "zimage"]


@pytest.mark.parametrize("balance,usable,says", [(0.0, False, "0 pollen on this key"), (2.5, True, "2.5 pollen"),
                                                 (None, True, "not readable with this key")])
def test_doctor_reads_the_keys_pollen_balance(balance: float | None, usable: bool, says: str,
                                              fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour("pollinations", balance=balance)
    code, out = Blog(tmp_path, posts=0).doctor(fake_providers, ["pollinations"], capsys,
                                               env={"POLLINATIONS_API_KEY": KEY})
    row = line(out, "pollinations", "pollen balance")
    assert says in row and ("PROBLEM" in row) is (not usable) and code == (0 if usable else 1)
    if not usable:
        assert "add pollen at https://enter.pollinations.ai" in row
    assert fake_providers.count("pollinations") == 0  # no image was made


# --------------------------------------------------------------------------- Cloudflare


def test_cloudflare_draws_the_covers_shape_with_flux2_klein(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    blog = Blog(tmp_path, posts=2)
    code, report, _ = blog.run(fake_providers, ["cloudflare"], capsys)
    assert code == cli.EXIT_OK and {g["model"] for g in report["generated"]} == {cloudflare.KLEIN}
    forms = [r.form for r in fake_providers.requests("cloudflare")]
    assert len(forms) == 2 and all(f is not None and (f["width"], f["height"]) == ("1200", "640") for f in forms)


def test_a_retired_klein_gives_way_to_flux1_schnell_and_is_remembered(fake_providers: FakeProviders,  # noqa: F811
                                                                     tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour("cloudflare", retired_models=(cloudflare.KLEIN,))
    blog = Blog(tmp_path)
    code, report, _ = blog.run(fake_providers, ["cloudflare"], capsys)
    assert code == cli.EXIT_OK and {g["model"] for g in report["generated"]} == {cloudflare.SCHNELL}
    assert cloudflare.KLEIN in blog.saved()["retired_models"]["cloudflare"]
    blog.add(2)
    before = fake_providers.count("cloudflare")
    blog.run(fake_providers, ["cloudflare"], capsys, at=T0 + timedelta(days=1))
    assert all(r.path.endswith(cloudflare.SCHNELL) for r in fake_providers.requests("cloudflare")[before:])
    assert pollinations.DEFAULT_MODELS == ("flux", "zimage")  # `turbo` left Pollinations' registry
