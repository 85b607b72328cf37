"""Knocking neurons out: hooks, the random control, the experiments."""
