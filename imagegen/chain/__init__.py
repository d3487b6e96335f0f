"""The provider chain: `scheduler` (which provider takes which post, when: priority, probes,
retries, cooldowns, reserves, budgets), `fallback` (a backend's models through a run: probe once,
mark out, mark retired; shared with the describer) and `state` (what is remembered between runs).

Import from the submodules (`from imagegen.chain.scheduler import Chain`): this package's own
import stays empty, so that `imagegen.chain.state`, which the settings' preflight reads, brings no
scheduler with it.
"""
