"""Apply switch snapshots to Kamailio nodes: two generations, reload, verify, flip.

docs/design/switch-data.md (table layout) and docs/design/routing.md ("Apply without a
window of mixed data") describe what this package does.

- ``tablefile``: a node's SQLite table file; ``write_generation`` / ``read_generation``.
- ``nodes``: ``SwitchNode``, ``local_node``; reload, preflight, verify, flip over RPC.
- ``apply``: ``apply_snapshot``, ``rollback``, ``status`` (per node reports);
  ``apply_local`` / ``rollback_local`` also record in the ``store``.
- ``store``: applied snapshots kept for rollback, and the apply history.
"""
