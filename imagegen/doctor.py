"""`imagegen doctor`: will this setup work? Answered without spending quota or making an image.

For each configured provider: is the key accepted, is each configured model served (through the
providers' cheap endpoints: model list/get, the Hub's whoami and provider mapping; each spec's
`doctor`, with the spec's fixes); what the state file says (quota out until ..., retired models);
whether the describer's key and models work (through the registry's text backend, the describer's
own). No provider module is imported here: everything comes through the registry.
Prints one table (ok / what is wrong / how to fix it). Exit 0 when at least one image provider is
usable now, 1 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TextIO

from imagegen import aio
from imagegen.chain.state import State
from imagegen.clock import Clock, SystemClock
from imagegen.prompts import RESPONSE_SCHEMA, STATE_KEY, SYSTEM_INSTRUCTION, fallback_models
from imagegen.providers import DEFAULT_ORDER, SPECS, new_client, text_backend, text_credentials
from imagegen.providers.base import Check, ProviderContext, ProviderError, QuotaExhausted
from imagegen.redact import redact
from imagegen.config.settings import ProviderSettings, Settings


@dataclass(frozen=True)
class Row:
    subject: str
    check: Check


@dataclass
class Diagnosis:
    rows: list[Row]
    usable: list[str]
    """Image providers that can make a cover now."""
    configured: bool = True
    """At least one provider is in the chain (False: no key yet, nothing was checked)."""

    @property
    def ok(self) -> bool:
        return bool(self.usable)


def _state_checks(ps: ProviderSettings, state: State, now: datetime) -> tuple[list[Check], str]:
    """What the state file says about a provider: a quota out now (its line), retired models."""
    checks: list[Check] = []
    out_now = ""
    # As the run reads it: an entry learned with other credentials (a new key) does not count.
    entry = state.out_until(ps.name, now, key=ps.spec.fingerprint(ps.opts))
    if entry is not None:
        out_now = f"{entry.reason} used up until {entry.out_until:%Y-%m-%d %H:%M} UTC (state file)"
        own = ps.spec.doctor_fix(QuotaExhausted(out_now)) if ps.spec.doctor_fix is not None else ""
        checks.append(Check("quota", False, out_now, own or "nothing to do: it comes back by itself", usable=False))
    for model, until in sorted(state.retired.get(ps.name, {}).items()):
        if until > now:
            checks.append(Check(f"model {model}", False, f"remembered as retired until {until:%Y-%m-%d} (state file): "
                                "not called", f"remove it from {ps.spec.model_env}", usable=False))
    return checks, out_now


async def _spec_checks(ps: ProviderSettings, ctx: ProviderContext) -> list[Check]:
    """The provider's own cheap checks (key line first), with the spec's fix when it cannot be reached."""
    if ps.spec.doctor is None:
        return [Check("needs nothing", True)]
    try:
        return await ps.spec.doctor(ps.opts, replace(ctx, timeout=min(ps.limits.timeout, 30.0)), ps.models)
    except ProviderError as exc:
        return [Check("reachable", False, str(exc), ps.spec.fix_for(exc))]


async def _provider_rows(settings: Settings, state: State | None, clock: Clock) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    usable: list[str] = []
    async with new_client() as http:
        base = ProviderContext(http=http, clock=clock, memory=state)  # what the run would remember
        for ps in settings.providers:
            checks = await _spec_checks(ps, base)
            # Usable: every line about the provider as a whole is fine (the key first; a request
            # shape, a balance, a logo rule) and at least one model is served.
            key_ok = bool(checks) and all(c.ok for c in checks if not c.what.startswith("model "))
            served = [c for c in checks[1:] if c.what.startswith("model ") and c.ok] if ps.spec.doctor else checks
            out_now = ""
            if state is not None:
                remembered, out_now = _state_checks(ps, state, clock.now())
                checks.extend(remembered)
            rows.extend(Row(ps.name, c) for c in checks)
            if key_ok and served and not out_now:
                usable.append(ps.name)
    rows.extend(_absent_rows(settings))
    return rows, usable


def _absent_rows(settings: Settings) -> list[Row]:
    """A line for each provider outside the chain: a half-configured one is a PROBLEM naming what
    is missing; the others are `off`, with what to set, where to get a key and what it gives for
    free (no key yet is exactly when someone needs that). An alias (`local`) is not listed twice."""
    configured = {ps.name for ps in settings.providers}
    names = [n for n in DEFAULT_ORDER if n in SPECS] + [n for n in SPECS if n not in DEFAULT_ORDER]
    rows: list[Row] = []
    for name in names:
        spec = SPECS[name]
        if name in configured or spec.alias_of in configured or spec.alias_of:
            continue
        opts = settings.provider_opts.get(name, {})
        half = spec.half_configured(opts)
        if half:
            rows.append(Row(name, Check("key", False, half, f"set {' and '.join(spec.missing_secrets(opts))} too")))
        else:
            rows.append(Row(name, Check("not configured", True, "", spec.how_to_join(), usable=False)))
    return rows


DESCRIBER_MODELS_ENV = "PROMPT_DESCRIBER_MODEL / _FALLBACKS"


async def _describer_rows(settings: Settings, state: State | None, clock: Clock) -> list[Row]:
    if settings.describer == "off":
        return [Row("describer", Check("describer", True, "off: prompts come from the post text", usable=False))]
    key, base_url = text_credentials(settings.provider_opts)
    if not key:
        return [Row("describer", Check("no GEMINI_API_KEY", True, "prompts come from the post text",
                                       "set GEMINI_API_KEY for described prompts", usable=False))]
    models = (settings.describer_model, *fallback_models(settings.describer_model, settings.describer_fallbacks))
    async with new_client() as http:  # the describer's own text backend, on doctor's client
        backend = text_backend(key, base_url=base_url, timeout=30.0, clock=clock,
                               http=http)
        try:
            checks = await backend.check(models, what="API key", model_env=DESCRIBER_MODELS_ENV,
                                         system=SYSTEM_INSTRUCTION, schema=RESPONSE_SCHEMA)
        except ProviderError as exc:
            checks = [Check("reachable", False, str(exc), backend.fix_for(exc, model_env="PROMPT_DESCRIBER_MODEL"))]
        finally:
            await backend.aclose()
    if state is not None:
        for model, until in sorted(state.retired.get(STATE_KEY, {}).items()):
            if until > clock.now():
                checks.append(Check(f"model {model}", False, f"remembered as retired until {until:%Y-%m-%d}",
                                    f"remove it from {DESCRIBER_MODELS_ENV}", usable=False))
    return [Row("describer", c) for c in checks]


def _state_rows(settings: Settings, clock: Clock) -> tuple[list[Row], State | None]:
    if settings.state_file is None:
        return [Row("state file", Check("not set", True, "nothing is remembered between runs",
                                        "set --state-file (and cache it) to skip used-up quotas", usable=False))], None
    warnings: list[str] = []
    state = State.load(settings.state_file, clock.now(), warn=warnings.append)
    if warnings:
        return [Row("state file", Check(str(settings.state_file), False, "; ".join(warnings),
                                        "delete the file; the next run writes a fresh one"))], state
    out = len(state.entries)
    retired = sum(len(m) for m in state.retired.values())
    return [Row("state file", Check(str(settings.state_file), True,
                                    f"{out} provider(s) out of quota, {retired} retired model(s) remembered"))], state


async def diagnose(settings: Settings, *, clock: Clock | None = None) -> Diagnosis:
    clock = clock or SystemClock()
    state_rows, state = _state_rows(settings, clock)
    provider_rows, usable = await _provider_rows(settings, state, clock)
    describer_rows = await _describer_rows(settings, state, clock)
    return Diagnosis(provider_rows + describer_rows + state_rows, usable, configured=bool(settings.providers))


def render(d: Diagnosis) -> str:
    """The table: subject | check | ok / what is wrong | how to fix it."""
    lines = [f"{'':<13}{'check':<48}{'result':<8}what is wrong / how to fix it"]
    for row in d.rows:
        c = row.check
        result = ("ok" if c.usable else "off") if c.ok else "PROBLEM"
        detail = (c.problem or (f"({c.fix})" if c.fix else "")) if c.ok else \
            (f"{c.problem} -> {c.fix}" if c.fix else c.problem)
        lines.append(f"{row.subject:<13}{c.what[:47]:<48}{result:<8}{detail}".rstrip())
    lines.append("")
    if d.usable:
        lines.append(f"usable image providers: {', '.join(d.usable)}")
    elif d.configured:
        lines.append("no image provider is usable: fix a PROBLEM line above")
    else:
        lines.append("no image provider is configured yet: add a key (each line above says where), "
                     "or use --providers card for offline title cards")
    return redact("\n".join(lines))


def main(settings: Settings, out: TextIO, *, clock: Clock | None = None) -> int:
    d = aio.run(diagnose(settings, clock=clock))
    print(render(d), file=out)
    return 0 if d.ok else 1
