"""Defences, measured: what a change to the model or its outputs would do to the leakage, and to utility."""

# --defences: which defences an audit measures (options.py declares the option).
DEFENCE_SETS = ("output", "training", "all", "none")
