"""GitHub-flavoured Markdown for the pages GitHub renders from what imagegen writes: the job summary
(`imagegen.action.summary`) and the covers pull request's body (`imagegen.publish.pull_request`).

Both put text that comes from posts and providers (titles, prompts, error messages) into table
cells, where a `|` would end the cell, a newline the row, and `<...>` would be taken as HTML."""

from __future__ import annotations

__all__ = ["table_cell"]


def table_cell(value: object) -> str:
    """`value` as the text of one table cell: on one line, `|` and `\\` escaped, `<` and `>` as entities."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
