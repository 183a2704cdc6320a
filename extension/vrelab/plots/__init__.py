"""Plots of vrelab results (matplotlib + mplhep), drawn from a job's JSON result alone.

A presentation layer: it imports neither services nor the client, so widgets, the CLI, notebooks
and services may all use it. ``vrelab.plots.fit`` draws fit, CLs, limit and scan results.
"""
