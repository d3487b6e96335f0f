"""The command's setting options, built from the setting declarations.

Every setting a run takes (the core settings in imagegen.config.knobs, then each provider's
options) is one click option, made by `setting_options()`. `declared()` is the one function that
reads the declarations, so the CLI, the action inputs and the environment fallbacks agree on
every name and default.

One value per option: a list setting's option repeats (`--paths a --paths b`) or takes a comma
list (`--paths a,b`), never two words, so `--paths Blog REPO` can never swallow the repository.
A boolean is `--x` / `--no-x`. `raw_values` hands the values back to `settings.load` in the
declarations' raw form: a string, a list comma-joined, a boolean "true"/"false", and None for an
option not given (so the environment and the settings file still apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import click

from imagegen.providers import REGISTRY
from imagegen.config.knobs import CORE

__all__ = ["CORE_SECTION", "Declared", "declared", "SettingOption", "raw_values", "setting_options"]

CORE_SECTION = "run settings (each also readable from the environment variable shown)"


@dataclass(frozen=True)
class Declared:
    """What the command line needs to know of one setting, whoever declares it."""

    name: str
    """kebab-case: the option without its dashes, and the key `settings.load` reads."""
    help: str
    section: str
    """The heading it is listed under in `--help`."""
    multi: bool = False
    flag: bool = False
    metavar: str = "VALUE"
    secret: bool = False
    """A key or token: its value is never echoed, not even in a mistake's message."""

    @property
    def key(self) -> str:
        """click's parameter name (an identifier)."""
        return self.name.replace("-", "_")


def declared() -> tuple[Declared, ...]:
    """Every setting the command line takes, read from the declarations: the core settings, then
    each provider's options under its own heading."""
    out: list[Declared] = []
    for d in CORE:  # the Knobs of imagegen.config.knobs
        help_text = f"{d.help} (env {d.env_name}; default: {d.default or 'none'})"
        if d.multi:
            help_text += "; comma-separated or repeated"
        out.append(Declared(d.name, help_text, CORE_SECTION, multi=d.multi, flag=d.flag, metavar=d.metavar or "VALUE"))
    for spec in REGISTRY:
        for o in spec.all_options():
            shown = "(secret)" if o.secret else (o.default or "none")
            out.append(Declared(o.input_name, f"{o.help} (env {o.env}; default: {shown})", f"provider {spec.name}",
                                secret=o.secret))
    return tuple(out)


class SettingOption(click.Option):
    """A click option made from a setting's declaration (`setting`), listed under its section;
    `secret` tells cli.mistakes never to quote its value."""

    def __init__(self, setting: Declared) -> None:
        decl = f"--{setting.name}/--no-{setting.name}" if setting.flag else f"--{setting.name}"
        super().__init__([decl, setting.key], default=None, multiple=setting.multi, help=setting.help,
                         metavar=None if setting.flag else setting.metavar)
        self.setting = setting
        self.section = setting.section
        self.secret = setting.secret


def setting_options() -> list[click.Option]:
    """One option per declared setting, in declaration order."""
    return [SettingOption(d) for d in declared()]


def raw_values(params: Mapping[str, Any]) -> dict[str, str | None]:
    """click's values of the setting options (`ctx.params`) as `settings.load` takes them, by
    setting name: strings, lists comma-joined, booleans "true"/"false"; None when not given."""
    raw: dict[str, str | None] = {}
    for d in declared():
        value = params.get(d.key)
        if d.flag:
            raw[d.name] = None if value is None else ("true" if value else "false")
        elif d.multi:
            raw[d.name] = ",".join(value) if value else None
        else:
            raw[d.name] = value
    return raw
