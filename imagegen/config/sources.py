"""Where a setting's raw value comes from: the explicit value (a CLI flag, an action input), the
environment, the repository's own settings file, the declared default, first to last.

The settings file is `.imagegen.toml`, or `[tool.imagegen]` in `pyproject.toml`. Its keys are the
settings' names as declared in `imagegen.config.knobs` (the CLI flag without `--`, the action input): `paths = ["posts"]`, `max-images = 5`, `cloudflare-image-model = "..."`. snake_case
spellings (`max_images`) are accepted too. What is written here sits between the environment and
the built-in defaults: a CLI flag or action input wins, then the environment variable, then this
file, then the default.

Refused, before any work, with one clear sentence:
- an unknown key (naming the closest valid one),
- a secret (API tokens and keys): a file in the repository is readable by everyone who can read
  the repository, and is kept in its history forever,
- a value of the wrong shape (a table, a list for a single-valued setting, a list item with a comma),
- settings in both places at once (which one would win is not obvious, so neither does).

Relative file settings (`report`, `state-file`) are taken relative to the repository root, where
the file is, not to wherever the command happens to run.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from imagegen.config.knob import Knob
from imagegen.config.knobs import all_knobs
from imagegen.errors import ConfigError

__all__ = ["CONFIG_NAME", "EMPTY", "Config", "ConfigError", "Layers", "load_config", "parse_table"]

CONFIG_NAME = ".imagegen.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Config:
    """The settings file's values as raw strings (the shape CLI args, inputs and env have)."""

    values: Mapping[str, str]
    source: str = ""
    """Where they came from, for messages: `.imagegen.toml` or `pyproject.toml [tool.imagegen]`."""

    def get(self, name: str) -> str | None:
        return self.values.get(name)


EMPTY = Config({}, "")


def _closest(name: str, valid: list[str]) -> str:
    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else " (`imagegen run --help` lists the settings)"


def _as_string(source: str, key: str, value: Any, *, multi: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if not multi:
            raise ConfigError(f"{source}: {key} takes one value, not a list")
        items: list[str] = []
        for item in value:
            if isinstance(item, (dict, list)):
                raise ConfigError(f"{source}: {key}: list items must be plain values")
            text = _as_string(source, key, item, multi=False)
            if "," in text or "\n" in text:
                raise ConfigError(f"{source}: {key}: the item {text!r} contains a comma or line break, "
                                  "which would split it in two")
            items.append(text)
        return ",".join(items)
    if isinstance(value, dict):
        raise ConfigError(f"{source}: {key} is a table; settings are plain `name = value` lines")
    raise ConfigError(f"{source}: {key}: unsupported value {value!r}")


def parse_table(table: Mapping[str, Any], source: str, repo: Path) -> Config:
    """Check and convert one TOML table of settings."""
    known = {k.name: k for k in all_knobs() if k.scope != "action"}
    valid = sorted(known)
    out: dict[str, str] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in known:
            raise ConfigError(f"{source}: unknown setting {raw_key!r}{_closest(key, valid)}")
        multi, secret, is_file = known[key].multi, known[key].secret, known[key].file
        if secret:
            raise ConfigError(f"{source}: {raw_key} is a secret and must not be written in a file in the "
                              "repository; set it as an environment variable or a repository secret instead")
        if key in out:
            raise ConfigError(f"{source}: {key} is set twice")
        text = _as_string(source, raw_key, value, multi=multi)
        if is_file and text.strip() and not Path(text.strip()).expanduser().is_absolute():
            text = str(repo / text.strip())
        out[key] = text
    return Config(out, source)


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source} could not be read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source} is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def load_config(repo: Path) -> Config:
    """The settings file at the repository root, or EMPTY when there is none."""
    own = repo / CONFIG_NAME
    pyproject = repo / PYPROJECT
    table: Mapping[str, Any] | None = None
    source = ""
    if own.is_file():
        table, source = _read_toml(own, CONFIG_NAME), CONFIG_NAME
    if pyproject.is_file():
        py_source = f"{PYPROJECT} [tool.imagegen]"
        try:
            text = pyproject.read_bytes().decode("utf-8", "replace")
        except OSError:
            text = ""
        if "imagegen" in text:  # a blog's unrelated, even broken, pyproject.toml is none of our business
            tool = _read_toml(pyproject, PYPROJECT).get("tool", {})
            section = tool.get("imagegen") if isinstance(tool, dict) else None
            if section is not None:
                if not isinstance(section, dict):
                    raise ConfigError(f"{py_source} must be a table")
                if table is not None:
                    raise ConfigError(f"settings in both {CONFIG_NAME} and {py_source}: keep one of them")
                table, source = section, py_source
    if table is None:
        return EMPTY
    return parse_table(table, source, repo)


@dataclass(frozen=True)
class Layers:
    """The layers a setting is read from, first to last: `raw` (flags or action inputs; None or
    blank = not given), `env`, the settings `file`, the knob's default."""

    raw: Mapping[str, str | None]
    env: Mapping[str, str]
    file: Config = EMPTY

    def given(self, k: Knob) -> str | None:
        """The value the user gave (flag, input, environment or settings file), or None; checked by
        the knob's own rules whichever layer it came from (Knob.check)."""
        v = self.raw.get(k.name)
        if v is not None and str(v).strip() != "":
            return k.check(str(v))
        ev = self.env.get(k.env_name)
        if ev is not None and ev.strip() != "":
            return k.check(ev)
        fv = self.file.get(k.name)
        return None if fv is None else k.check(fv)

    def get(self, k: Knob) -> str:
        """The raw value: what the user gave, else the declared default."""
        v = self.given(k)
        return k.default if v is None else v
