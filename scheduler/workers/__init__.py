"""Crawling on many machines: the brain (the daemon) dispatches, RQ workers on Redis fetch and extract.

Modules: `settings` (the `workers:` section of config.yaml), `affinity` (site → worker), `ledger`
(the brain's batch table with leases), `engine` (Redis and RQ: queues, heartbeats, the results
stream), `job` (what a worker runs for one batch), `brain` (dispatch, collect, re-dispatch),
`worker` (the `newswatch worker` process), `status` (what `newswatch status` shows).
Import the modules themselves: this package imports nothing, so `scheduler.config` can use
`settings` without a cycle. See docs/workers.md.
"""

__all__: list[str] = []
