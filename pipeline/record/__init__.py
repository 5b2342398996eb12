"""The record in git: what each stage runs (``stages/<stack>``) and the shared promotion state
(``stageline/state``: ledger, releases, locks), pushed with compare-and-swap."""
