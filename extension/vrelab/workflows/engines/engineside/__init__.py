"""Scripts run by an engine's own venv (never importing vrelab)."""
