"""Review stages: a short-lived stage per pull request, outside every pipeline and record."""
