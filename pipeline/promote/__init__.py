"""Promotion: one immutable release moved stage by stage, each step gated and recorded.

``release`` makes releases, ``orchestrator`` walks the pipeline through a ``Deployer``
(``automation`` for real, ``offline`` with the mock renderer), ``ledger`` keeps the
hash-chained record, ``rehearsal`` runs the whole walk offline for a pull request.
"""
