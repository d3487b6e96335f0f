"""`python -m imagegen.action action-yml | release-action-yml IMAGE | tables`: the generated files."""

from __future__ import annotations

import sys
from typing import Sequence

from imagegen.action.inputs import markdown_tables, render_action_yml, render_release_action_yml


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
    print("usage: python -m imagegen.action action-yml | release-action-yml IMAGE | tables", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
