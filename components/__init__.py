"""The blueprint: what an environment is, on every substrate."""
