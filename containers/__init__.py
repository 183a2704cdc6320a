"""vrelab's container collection: the image tiers (Mercury → Venus → Earth → Mars → Jupyter), the tool
that builds, tests, tags, pushes and locks them (``python -m containers``), and JupyterHub configs."""
