"""Talking to the runner: workflow commands on stdout (masks, annotations, log groups), the
GITHUB_OUTPUT file and the job summary file.

Why not actions-toolkit (PyPI): its correct parts (reading an input, the GITHUB_OUTPUT heredoc,
add-mask) are a few lines each; its annotation helper writes empty properties (`title=,line=,...`)
and it has no job summary; and it would be one more pinned dependency in the image.
"""

from __future__ import annotations

import uuid
from typing import Mapping, Sequence, TextIO

from imagegen.action.inputs import in_action_words
from imagegen.report import Event
from imagegen.redact import forms, redact


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def one_line(s: str) -> str:
    """Log text on one physical line, so nothing in it can start a workflow command."""
    return " ".join(redact(s).splitlines())


class Runner:
    """Talks to the Actions runner: commands on stdout, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY."""

    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out

    def print(self, text: str = "") -> None:
        self.out.write(one_line(text) + "\n")
        self.out.flush()

    def command(self, name: str, message: str = "", **props: str | int | None) -> None:
        shown = {k: v for k, v in props.items() if v is not None and str(v) != ""}
        head = "::" + name
        if shown:
            head += " " + ",".join(f"{k}={escape_property(redact(str(v)))}" for k, v in shown.items())
        self.out.write(f"{head}::{escape_data(redact(message))}\n")
        self.out.flush()

    def mask(self, value: str) -> None:
        """Mask a secret in the log (each line of a multi-line value too), in every encoding it can
        come back in (imagegen.redact.forms: base64, hex, URL-encoded): the runner masks only the
        exact strings it is given. Printed unredacted on purpose: the runner needs the value, and
        masks this very line."""
        for v in sorted({value, *value.splitlines()}):
            if v.strip():
                for form in [v, *sorted(forms(v) - {v})]:  # the secret as given first
                    self.out.write(f"::add-mask::{escape_data(form)}\n")
        self.out.flush()

    def error(self, message: str, **props: str | int | None) -> None:
        """An error annotation, naming the action's inputs (never a CLI flag or variable)."""
        self.command("error", in_action_words(message), **props)

    def warning(self, message: str, **props: str | int | None) -> None:
        self.command("warning", in_action_words(message), **props)

    def notice(self, message: str, **props: str | int | None) -> None:
        self.command("notice", in_action_words(message), **props)

    def group(self, title: str, lines: Sequence[str]) -> None:
        self.command("group", one_line(title))
        for line in lines:
            self.print(line)
        self.command("endgroup")

    def set_outputs(self, values: Mapping[str, str]) -> None:
        path = self.env.get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8", newline="\n") as f:
            for name, value in values.items():
                value = redact(value)
                delim = f"ghadelimiter_{uuid.uuid4()}"
                while delim in value:  # pragma: no cover - a UUID will not be in the value
                    delim = f"ghadelimiter_{uuid.uuid4()}"
                f.write(f"{name}<<{delim}\n{value}\n{delim}\n")

    def summary(self, markdown: str) -> None:
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8", newline="\n") as f:
            f.write(redact(markdown))


class EventLog:
    """Prints the pipeline's events. Posts are worked on concurrently, so each post's lines are
    held until its last event and then printed together as one log group."""

    TERMINAL = frozenset({"generated", "failed", "pending", "skip", "would_generate"})

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.held: dict[str, list[str]] = {}

    def __call__(self, ev: Event) -> None:
        line = ev.line()
        if not ev.post or ev.kind == "queued":  # a queue's progress is news now, not in the post's group later
            self.runner.print(line)
            return
        held = self.held.setdefault(ev.post, [])
        held.append(line)
        if ev.kind in self.TERMINAL:
            self._flush(ev.post, ev.kind)

    def _flush(self, post: str, kind: str) -> None:
        lines = self.held.pop(post, [])
        if len(lines) == 1 and kind not in ("generated", "failed"):
            self.runner.print(lines[0])
        elif lines:
            self.runner.group(f"{kind}: {post}", lines)

    def close(self) -> None:
        for post in list(self.held):
            self._flush(post, "unfinished")
