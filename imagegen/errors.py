"""One error tree for the whole program, with the exit code on the class.

Every error meant for the user derives from `ImagegenError`: `str()` is one line (no traceback, no
secret), and `exit_code` is what the command (and the action step) ends with. The CLI and the
action map an error to its exit code in one place (`exit_code_of`), never with their own
`isinstance` chains.

    ImagegenError                    exit 1   a one-line failure the user can act on
    ├── UsageError                   exit 2   a command-line mistake (unknown option, missing value)
    ├── SettingsError                exit 2   a setting is missing, wrong or dangerous (refused before any work)
    │   └── ConfigError              exit 2   the settings file (.imagegen.toml, [tool.imagegen]) is unusable
    ├── DiscoveryError               exit 2   the selection cannot be made (unknown git ref, a path that is not there)
    ├── InitError                    exit 2   `imagegen init` would overwrite something
    ├── GitError                     exit 1   git could not be run, failed, or
    │   └── GitTimeout               exit 1     did not finish in time
    ├── PostError                    per post a post that cannot be used (`reason`: a short kebab code)
    │   └── FrontmatterError                  invalid frontmatter, or
    │       └── UnsafeEdit                      an edit that cannot be made safely
    ├── WriteError                   per post a file could not be written safely; nothing changed
    ├── FinishError                  per post an image could not be cropped or encoded
    ├── PublishError                 exit 1   committing or pushing failed
    ├── BusyError                    exit 1   another imagegen process holds the repository or the state file
    └── ReportError                  exit 3   the run worked, but the report file could not be written

    ProviderError (imagegen.providers.base) derives from ImagegenError too: its own tree is drawn
    there; the chain turns provider errors into outcomes, so they never end a run by themselves.

A "per post" error is caught where the post is handled and becomes a `skipped` or `failed` entry
in the report; it only ends the command when it escapes (exit 1).
"""

from __future__ import annotations

from imagegen.redact import redact

__all__ = [
    "EXIT_CANCELLED", "EXIT_ERROR", "action_exit_code", "EXIT_OK", "EXIT_REPORT", "EXIT_SETTINGS",
    "BusyError", "ConfigError", "DiscoveryError", "FinishError", "FrontmatterError", "GitError", "GitTimeout",
    "ImagegenError", "InitError", "PostError", "PublishError", "ReportError", "SettingsError",
    "UnsafeEdit", "UsageError", "WriteError", "exit_code_of",
]

EXIT_OK = 0
EXIT_ERROR = 1
"""A failure: a bug, git or the network, or no cover could be made for setup reasons."""
EXIT_SETTINGS = 2
"""A mistake in the command line, the settings or the selection: nothing was done."""
EXIT_REPORT = 3
"""The run worked (covers written, summary printed), but the report file could not be written."""
EXIT_CANCELLED = 130
"""Ctrl-C or a cancelled workflow: in-flight writes finished, the rest is pending."""


class ImagegenError(Exception):
    """Base of every error meant for the user. `str()` is one line, with every registered secret
    masked (imagegen.redact), whatever the message quotes."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(redact(str(message)), *args)


class UsageError(ImagegenError):
    """A command-line mistake. `hint` is one more line saying how to fix it ('' when none)."""

    exit_code = EXIT_SETTINGS

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class SettingsError(ImagegenError, ValueError):
    """A setting is missing, wrong, or dangerous. Refused before any work is done."""

    exit_code = EXIT_SETTINGS


class ConfigError(SettingsError):
    """The repository's settings file is unusable."""


class DiscoveryError(ImagegenError):
    """The selection of posts cannot be made: an unknown git ref, a content path that is not there."""

    exit_code = EXIT_SETTINGS


class InitError(ImagegenError):
    """`imagegen init` would overwrite a file, or cannot write one."""

    exit_code = EXIT_SETTINGS


class GitError(ImagegenError):
    """git could not be run, or a command failed (the message quotes git's last lines, redacted)."""


class GitTimeout(GitError):
    """A git command did not finish within its timeout (a stalled fetch, a lock, a credential prompt)."""


class PostError(ImagegenError):
    """A post that cannot be used. `reason` is a short kebab code (the report's skip reason)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FrontmatterError(PostError, ValueError):
    """The frontmatter is not a valid YAML/TOML/JSON mapping, or an edit could not be made safely.
    `reason` is ``bad-frontmatter``."""

    reason = "bad-frontmatter"

    def __init__(self, message: str) -> None:
        super().__init__(type(self).reason, message)


class UnsafeEdit(FrontmatterError):
    """Valid frontmatter that this edit cannot be made to safely (a JSON key to rewrite, `cover`
    set to a text where `cover.image` is wanted). The post is left alone; reason ``cannot-edit``."""

    reason = "cannot-edit"


class WriteError(ImagegenError):
    """A file could not be written safely; nothing was changed for this post."""


class FinishError(ImagegenError):
    """The image could not be finished (cropped, converted, encoded)."""


class PublishError(ImagegenError):
    """Committing or pushing failed. One line; the covers stay in the work tree. `committed`: the
    commit the covers are in when only a later step failed (the pull request could not be opened),
    so nobody is told they were not committed."""

    def __init__(self, message: str, *, committed: str = "") -> None:
        super().__init__(" ".join(str(message).split()))
        self.committed = committed


class BusyError(ImagegenError):
    """Another imagegen process holds a lock we waited for in vain (imagegen.lock); the message
    names that process. Nothing was changed."""


class ReportError(ImagegenError):
    """The JSON report could not be written (the covers were)."""

    exit_code = EXIT_REPORT


def action_exit_code(code: int) -> int:
    """The action step's exit code for the command's `code`: a step fails with 1 for every error
    (GitHub tells only zero from non-zero, and 1 is what workflows expect), while 3 (the report
    file) and 130 (cancelled) keep their meaning."""
    return EXIT_ERROR if code == EXIT_SETTINGS else code


def exit_code_of(exc: BaseException) -> int:
    """The exit code an error ends the command with: its class's, else 1 (a bug), 130 for Ctrl-C."""
    if isinstance(exc, ImagegenError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_CANCELLED
    return EXIT_ERROR
