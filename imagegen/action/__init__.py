"""The GitHub Docker action, split by concern:

- `inputs`: the inputs and outputs, action.yml (and the release's), the tables in docs/settings.md;
- `runner`: workflow commands, outputs and the job summary file (the runner's side);
- `event`: the event payload, the branch, the files a push changed;
- `summary`: the job summary, the outputs and the compact `report` output;
- `main`: the steps of one run, read_inputs -> scope -> prepare -> run -> publish -> finish
  (`main()` is what entrypoint.py calls).
"""

from imagegen.action.runner import EventLog, Runner, escape_data, escape_property, one_line
from imagegen.action.event import (ZERO_SHA, changed_files, commit_range, fork_pull_request, load_event,
                                   looks_like_post, target_branch)
from imagegen.action.inputs import (ACTION_INPUTS, OUTPUTS, Input, input_env_name, inputs, markdown_tables,
                                    render_action_yml, render_release_action_yml)
from imagegen.action.main import Action, ActionPlan, Stop, give_back_ownership, main
from imagegen.action.summary import (BENIGN_SKIPS, MAX_ROWS, OUTPUT_LIMIT, SUMMARY_BUDGET, SummaryContext,
                                     outputs, report_output, summary_markdown)

__all__ = ["ACTION_INPUTS", "BENIGN_SKIPS", "MAX_ROWS", "OUTPUTS", "OUTPUT_LIMIT", "SUMMARY_BUDGET", "ZERO_SHA",
           "Action", "ActionPlan", "EventLog", "Input", "Runner", "SummaryContext", "changed_files", "commit_range",
           "escape_data", "escape_property", "fork_pull_request", "give_back_ownership", "input_env_name",
           "inputs", "load_event", "looks_like_post", "main", "markdown_tables", "one_line", "outputs", "render_action_yml",
           "render_release_action_yml", "report_output", "Stop", "summary_markdown", "target_branch"]
