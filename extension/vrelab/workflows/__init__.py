"""Workflows: REANA-style specs run on local, container, REANA and Dask backends, and RECAST.

* :mod:`.spec` — ``reana.yaml`` (serial) and the DAG form, validated into one model;
* :mod:`.backends` — the one backend interface (REANA's vocabulary) and the registry;
* :mod:`.service` — :class:`WorkflowService`: runs as durable jobs (``workflow.run``), records,
  logs and outputs kept in each run's folder inside the server root;
* :mod:`.recast` — a new signal's yields patched into a published likelihood, then CLs.

Nothing here imports tornado.
"""

from __future__ import annotations

from .spec import SpecError, Step, WorkflowSpec, parse_spec, spec_from_text

__all__ = ["SpecError", "Step", "WorkflowSpec", "parse_spec", "spec_from_text"]
