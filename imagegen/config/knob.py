"""A `Knob`: the one declaration of one setting, and how a raw value of each kind is read.

Every setting imagegen has is one Knob: the core settings and the action's own inputs
(imagegen.config.knobs), and each provider's options (declared in the provider's own module with
`providers.base.Option`, which makes a Knob). The CLI's options, the action's inputs, `action.yml`,
the tables in docs/settings.md, the environment fallbacks and the settings file's keys are all derived from
them, so a name, a default or a bound can never differ between two of them.

Raw values are strings, as the runner, the environment and a command line deliver them (a list is
comma- or newline-separated); `read` turns one into its value or raises SettingsError with one
sentence naming the setting and the bound it broke.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping

from imagegen.errors import SettingsError
from imagegen.frontmatter import FALSE_WORDS, TRUE_WORDS

__all__ = ["Knob", "check_path", "parse_bool", "parse_int", "parse_number", "split_list"]

KINDS = ("text", "list", "flag", "int", "file", "pairs", "choice")
MAX_DIGITS = 30
"""A number written with more digits than this is refused before it is parsed (by its bound)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters (C0, DEL, C1) and the Unicode line and paragraph separators."""
_LONG_NUMBER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Knob:
    """One setting: its name everywhere, its default, its environment variable, its help."""

    name: str
    """kebab-case: the CLI flag without `--`, the action input, the settings file's key."""
    help: str
    default: str = ""
    """The raw default ('' = none: the setting is unset, or the blog engine decides)."""
    env: str = ""
    """The environment variable read when the value is not given ('' = IMAGEGEN_<NAME>)."""
    kind: str = "text"
    """text | list | flag | int | file | pairs (NAME=N per provider) | choice."""
    metavar: str = ""
    secret: bool = False
    """A key or token: never in a file, never echoed, masked in every message."""
    scope: str = "core"
    """core (a run setting) | provider (a provider's option) | action (an action input only)."""
    group: str = ""
    """The section docs/settings.md's table and `action.yml` list it in (see knobs.GROUPS)."""
    key: str = ""
    """A provider option's key in the provider's resolved options (`api_token`, `model` ...)."""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Accepted spellings of a choice (`jpg` for `jpeg`, `centre` for `center`)."""
    noun: str = ""
    """How a wrong choice is called ("unknown style 'x'"); '' says "expected a or b"."""
    path: bool = False
    """The value names files or folders (or a URL path) that end up in a post or on disk: control
    characters are refused (`check_path`). A `file` knob always is one."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    @property
    def env_name(self) -> str:
        return self.env or "IMAGEGEN_" + self.name.upper().replace("-", "_")

    @property
    def input_name(self) -> str:
        return self.name

    @property
    def multi(self) -> bool:
        """A list: comma- or newline-separated in one string; the CLI option may also repeat."""
        return self.kind in ("list", "pairs")

    @property
    def flag(self) -> bool:
        return self.kind == "flag"

    @property
    def names_path(self) -> bool:
        return self.path or self.kind == "file"

    def check(self, value: str) -> str:
        """`value` as given, after the rules every value of this kind of setting obeys (today: no
        control character in a path). Layers.get calls it for every value from every layer."""
        if self.names_path:
            for item in split_list(value) if self.multi else (value,):
                check_path(self.name, item)
        return value

    @property
    def file(self) -> bool:
        """A file path: relative to where the command runs, or (in the settings file) to the repository."""
        return self.kind == "file"

    def choice(self, value: str) -> str:
        """A choice setting's value, lower-cased and un-aliased; SettingsError names the choices."""
        v = value.strip().lower()
        v = self.aliases.get(v, v)
        if v not in self.choices:
            if self.noun:
                raise SettingsError(f"{self.name}: unknown {self.noun} {v!r} (choose one of: {', '.join(self.choices)})")
            raise SettingsError(f"{self.name}: expected {' or '.join(self.choices)}, got {v!r}")
        return v

    def number(self, value: str) -> int | None:
        """An int setting's value (None when empty), within its bounds."""
        text = value.strip()
        if not text:
            return None
        return parse_int(self.name, text, minimum=int(self.minimum or 0),
                         maximum=None if self.maximum is None else int(self.maximum))


def split_list(value: str) -> tuple[str, ...]:
    """Comma- and/or newline-separated list, blanks dropped (the way Actions users write lists)."""
    return tuple(p.strip() for p in re.split(r"[,\n]", value or "") if p.strip())


def check_path(name: str, value: str) -> None:
    """The one rule for every path setting: no control character. A line break in a folder name
    would split the embed written into a post over two lines; a NUL or an escape sequence has no
    business in a file name either. SettingsError names the setting and the character."""
    m = _CONTROL.search(value)
    if m is not None:
        raise SettingsError(f"{name}: control characters are not allowed in a path (found {m.group(0)!r} in "
                            f"{value[:60]!r})")


def _too_long(name: str, text: str, minimum: float | None, maximum: float | None, *, key: str = "") -> SettingsError:
    """The error for a number written with more than MAX_DIGITS digits: its bound when it has
    one (the same sentence a slightly too large number gets), never "expected a number"."""
    what = f"{name}: {key} " if key else f"{name}: "
    if _LONG_NUMBER.fullmatch(text.replace("_", "")) or re.fullmatch(r"[+-]?\d*\.?\d+(?:[eE][+-]?\d+)?", text):
        negative = text.startswith("-")
        if negative and minimum is not None:
            return SettingsError(f"{what}must be at least {minimum:.15g}, got a number with {len(text)} characters")
        if not negative and maximum is not None:
            return SettingsError(f"{what}must be at most {maximum:.15g}, got a number with {len(text)} characters")
    return SettingsError(f"{what}must be a number of at most {MAX_DIGITS} characters, got {len(text)}")


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}: expected true or false, got {value!r}")


def parse_int(name: str, value: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    text = value.strip()
    if len(text) > MAX_DIGITS:
        raise _too_long(name, text, minimum, maximum)
    try:
        n = int(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {value[:40]!r}") from None
    if n < minimum:
        raise SettingsError(f"{name}: must be at least {minimum}, got {n}")
    if maximum is not None and n > maximum:
        raise SettingsError(f"{name}: must be at most {maximum}, got {n}")
    return n


def parse_number(name: str, key: str, text: str, *, number: type = int, bound: float | None = None) -> float:
    """The N of a NAME=N pair: a finite, non-negative number, at most `bound`."""
    if len(text) > MAX_DIGITS:
        raise _too_long(name, text, 0, bound, key=key)
    try:
        n = number(text)
    except (ValueError, OverflowError):
        raise SettingsError(f"{name}: expected a number after '{key}=', got {text!r}") from None
    if isinstance(n, float) and not math.isfinite(n):
        raise SettingsError(f"{name}: {key} must be a finite number, got {text!r}")
    if n < 0:
        raise SettingsError(f"{name}: {key} must not be negative")
    if bound is not None and n > bound:
        raise SettingsError(f"{name}: {key} must be at most {bound:.15g}, got {text[:40]}")
    return n
