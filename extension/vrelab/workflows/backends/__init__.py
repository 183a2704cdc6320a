"""The workflow backends available on this server, chosen by name.

Every module ``vrelab.workflows.backends.<name>`` for a name in :data:`KNOWN` is imported if it
can be; the :class:`~vrelab.workflows.backends.base.Backend` subclass it defines (the one whose
``name`` is the module's name) is built with :meth:`Backend.from_settings` and offered when that
returns an instance. ``c.VRELab.workflow_backends`` gives each backend its options
(``{"reana": {...}, "container": {...}}``); ``{"enabled": false}`` turns one off, and
``{"class": "package.module:Class"}`` adds a backend from another package.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import replace
from typing import Any

from ...errors import BadRequest
from .base import Backend, BackendCheck, BackendSettings, OutputFile, RunContext, RunProgress, RunStatus, StepRecord

__all__ = [
    "KNOWN",
    "Backend",
    "BackendCheck",
    "BackendRegistry",
    "BackendSettings",
    "OutputFile",
    "RunContext",
    "RunProgress",
    "RunStatus",
    "StepRecord",
]

log = logging.getLogger("vrelab.workflows")

# Modules looked for, in the order backends are listed; "local" is the default.
KNOWN = ("local", "container", "reana", "dask")


def _backend_class(module: Any, name: str) -> type[Backend] | None:
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(obj, Backend)
            and obj.__module__ == module.__name__
            and not inspect.isabstract(obj)
            and getattr(obj, "name", None) == name
        ):
            return obj
    return None


def _load_class(target: str) -> type[Backend]:
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (inspect.isclass(cls) and issubclass(cls, Backend)):
        raise TypeError(f"{target} is not a workflow Backend class")
    return cls


class BackendRegistry:
    """The backends built for one server (from its settings and ``workflow_backends`` options)."""

    def __init__(self, settings: BackendSettings, options: dict[str, dict[str, Any]] | None = None):
        self.settings = settings
        self.options = {k: dict(v or {}) for k, v in (options or {}).items()}
        self._backends: dict[str, Backend] = {}
        self.skipped: dict[str, str] = {}  # name -> why it is not offered (for operators, in the log)
        for name in [*KNOWN, *(n for n in self.options if n not in KNOWN)]:
            self._load(name)

    def _load(self, name: str) -> None:
        opts = dict(self.options.get(name, {}))
        if opts.pop("enabled", True) is False:
            self.skipped[name] = "disabled by VRELab.workflow_backends"
            return
        target = opts.pop("class", None)
        try:
            if target:
                cls: type[Backend] | None = _load_class(str(target))
            else:
                try:
                    module = importlib.import_module(f"{__name__}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name == f"{__name__}.{name}":
                        self.skipped[name] = "not installed"
                        return
                    raise
                cls = _backend_class(module, name)
                if cls is None:
                    self.skipped[name] = f"module {module.__name__} defines no Backend named {name!r}"
                    log.warning("workflow backend %s: %s", name, self.skipped[name])
                    return
            backend = cls.from_settings(replace(self.settings, options=opts)) if cls else None
        except ImportError as exc:
            self.skipped[name] = f"missing dependency: {exc}"
            log.info("workflow backend %s not offered: %s", name, self.skipped[name])
            return
        except Exception as exc:  # a broken backend must not take the server down
            self.skipped[name] = f"{type(exc).__name__}: {exc}"
            log.warning("workflow backend %s could not be set up: %s", name, self.skipped[name])
            return
        if backend is None:
            self.skipped[name] = "not configured"
            return
        self._backends[name] = backend

    def add(self, backend: Backend) -> None:
        """Offer an already built backend (tests, embedding applications)."""
        self._backends[backend.name] = backend

    def names(self) -> list[str]:
        return list(self._backends)

    def get(self, name: str) -> Backend:
        if not isinstance(name, str) or name not in self._backends:
            known = ", ".join(self._backends) or "none"
            hint = f" ({self.skipped[name]})" if isinstance(name, str) and name in self.skipped else ""
            raise BadRequest(
                f"Unknown workflow backend {name!r}{hint}. Backends on this server: {known}.",
                details={"backend": name if isinstance(name, str) else repr(name), "available": self.names()},
                code="unknown_backend",
            )
        return self._backends[name]

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": b.name, "description": b.description} for b in self._backends.values()]
