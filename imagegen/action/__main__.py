"""`python -m imagegen.action action-yml | release-action-yml IMAGE | tables [--write]`: the generated
files. `tables --write` puts the tables into docs/settings.md between its markers (run from the
repository's root), so a new setting needs no hand-pasting."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from imagegen.action.inputs import markdown_tables, render_action_yml, render_release_action_yml

SETTINGS_PAGE = Path("docs") / "settings.md"
"""The page that holds the generated tables (tests/test_action_yml.py reads the same markers)."""
TABLES_START, TABLES_END = "<!-- action-tables:start -->", "<!-- action-tables:end -->"


def write_tables(page: Path = SETTINGS_PAGE) -> None:
    """Replace what lies between the markers of `page` with the generated tables."""
    text = page.read_text(encoding="utf-8")
    if TABLES_START not in text or TABLES_END not in text:
        raise ValueError(f"{page} has no {TABLES_START} ... {TABLES_END} markers")
    head, rest = text.split(TABLES_START, 1)
    tail = rest.split(TABLES_END, 1)[1]
    page.write_text(f"{head}{TABLES_START}\n{markdown_tables().strip()}\n{TABLES_END}{tail}", encoding="utf-8")


def _cli(argv: Sequence[str]) -> int:
    if argv == ["action-yml"]:
        sys.stdout.write(render_action_yml())
        return 0
    if len(argv) == 2 and argv[0] == "release-action-yml":
        try:
            sys.stdout.write(render_release_action_yml(argv[1]))
        except ValueError as exc:
            print(f"release-action-yml: {exc}", file=sys.stderr)
            return 2
        return 0
    if argv == ["tables"]:
        sys.stdout.write(markdown_tables())
        return 0
    if argv == ["tables", "--write"]:
        try:
            write_tables()
        except (OSError, ValueError) as exc:
            print(f"tables --write: {exc}", file=sys.stderr)
            return 2
        return 0
    print("usage: python -m imagegen.action action-yml | release-action-yml IMAGE | tables [--write]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
