"""Substrates used only by the tests."""
