"""Commit back what a run wrote: over the Git Data API (`api`), as a pull request (`pull-request`),
with the git CLI (`git`), or not at all (`none`).

Each way is one class behind the `Publisher` protocol (`base.py`), chosen once from the `commit`
input by `choose`; the action asks it the same things in the same order whatever it is (prepare,
preflight, publish, close). Only the files the run wrote are committed, grouped per post; a post
changed on the branch meanwhile is left for the next run, never overwritten; never a force push.

    base.py           Publisher, Change, Result, Target, NoPublisher (`commit: none`)
    api.py            GitHubApi (PyGithub client, WritePacer, the commit loop), ApiPublisher
    pull_request.py   the covers branch, the pull request's body and manifest, PullRequestPublisher
    git_cli.py        git commit / push / rebase, GitPublisher
    checkout.py       the local checkout after publishing (git as the bot, sync, restore)
    deadline.py       the overall deadline of an API publication (the only SIGALRM user)
"""

from __future__ import annotations

import time
from typing import Callable

from imagegen.errors import PublishError, SettingsError
from imagegen.publish.api import API_TIMEOUT, GitHubApi, WritePacer, ApiPublisher
from imagegen.publish.base import (BOT_EMAIL, BOT_NAME, DEFAULT_PR_BRANCH, Change, NoPublisher, Publisher, Result,
                                   Target, blob_sha, changes_from, default_message)
from imagegen.publish.checkout import restore_checkout, sync_checkout
from imagegen.publish.deadline import PUBLISH_DEADLINE, overall_deadline
from imagegen.publish.git_cli import GitPublisher, can_push
from imagegen.publish.pull_request import PullRequestPlan, PullRequestPublisher, parse_manifest, pull_request_body

__all__ = ["API_TIMEOUT", "BOT_EMAIL", "BOT_NAME", "DEFAULT_PR_BRANCH", "MODES", "PUBLISH_DEADLINE", "ApiPublisher",
           "Change", "GitHubApi", "GitPublisher", "NoPublisher", "PublishError", "Publisher", "PullRequestPlan",
           "PullRequestPublisher", "Result", "Target", "WritePacer", "blob_sha", "can_push", "changes_from", "choose",
           "default_message", "overall_deadline", "parse_manifest", "pull_request_body", "restore_checkout",
           "sync_checkout"]

MODES = ("api", "git", "pull-request", "none")
"""The values of the `commit` input."""


def choose(mode: str, target: Target, *, sleep: Callable[[float], None] = time.sleep,
           write_interval: float | None = None) -> Publisher:
    """The publisher for the `commit` input. SettingsError for a mode that cannot work as given
    (an unknown mode, an API mode without a token, a covers branch that is the branch itself)."""
    if mode == "none":
        return NoPublisher()
    if mode == "git":
        return GitPublisher(target.workspace, target.branch, sleep=sleep)
    if mode not in MODES:
        raise SettingsError(f"commit: expected one of {', '.join(MODES)}, got {mode!r}")
    if not target.token:
        raise SettingsError(f"commit: {mode} needs the github-token input")
    api = GitHubApi(token=target.token, api_url=target.api_url, repository=target.repository, branch=target.branch,
                    sleep=sleep, write_interval=write_interval)
    if mode == "pull-request":
        return PullRequestPublisher(api, target)
    return ApiPublisher(api, target)
