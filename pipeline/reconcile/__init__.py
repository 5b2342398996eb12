"""``reconcile``: compare each stage with its record, and heal, propose or report the drift."""
