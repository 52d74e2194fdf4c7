"""Defences, measured: what a change to the model or its outputs would do to the leakage, and to utility."""
