"""The services of one vrelab server, built once from its configuration.

Handlers reach them as ``self.services``; tests build them directly without tornado.
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path
from typing import Any

from ._version import __version__
from .config import VRELab
from .jobs import JobKind, JobManager, JobRegistry, JobStore, parse_kind_spec
from .metrics import Metrics
from .status import StatusService, module_available, rucio_ping_probe

log = logging.getLogger("vrelab")


def builtin_job_kinds(*capabilities: Any) -> list[JobKind]:
    """The job kinds of vrelab's own capabilities, each bound to the live service that runs it.

    Every capability service lists its kinds (``job_kinds()``): ``fit.*`` (FitService),
    ``workflow.*`` (WorkflowService), ``lake.*`` (LakeService).
    """
    return [kind for capability in capabilities for kind in capability.job_kinds()]


def _lake_service(config: VRELab, data_dir: Path, root_dir: Path, metrics: Metrics) -> Any:
    """The data lake: VRELab.lake_instances plus a rucio-jupyterlab ``RucioConfig`` section, if any."""
    from .lake import InstanceRegistry, LakeService

    rucio_config = config.config.get("RucioConfig") or {}
    registry = InstanceRegistry(
        config.lake_instances, config.default_lake_instance, rucio_config=dict(rucio_config), warn=log.warning
    )
    return LakeService(
        registry,
        data_dir,
        root_dir,
        timeout=config.lake_timeout_seconds,
        scan_limit=config.lake_scan_limit,
        metrics=metrics,
    )


class Services:
    def __init__(self, config: VRELab, *, root_dir: str):
        self.config = config
        # A Jupyter server belongs to one user (JupyterHub spawns one per user); whoever is
        # authenticated to it acts as that user. Token-authenticated requests carry no stable
        # user name in a plain Jupyter server, so the owner is taken from the environment.
        self.owner = os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
        self.root_dir = Path(config.root_dir or root_dir).expanduser().resolve()
        self.data_dir = Path(config.data_dir).expanduser()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        # this server's Prometheus metrics (GET metrics), a registry of its own
        self.metrics = Metrics()
        self.metrics.describe_server(__version__, config.job_workers)
        from .fit import FitService

        self.fit = FitService(
            self.data_dir / "fit",
            self.root_dir,
            workers=config.fit_workers,
            cache_bytes=config.fit_cache_bytes,
            dask_scheduler=config.dask_scheduler,
            worker_nice=config.fit_worker_nice,
            metrics=self.metrics,
        )
        from .workflows.service import WorkflowService

        self.workflows = WorkflowService(
            self.root_dir,
            workflow_dir=config.workflow_dir,
            concurrency=config.workflow_concurrency,
            dask_scheduler=config.dask_scheduler,
            backend_options=dict(config.workflow_backends),
            config=config,
            fit=self.fit,
            metrics=self.metrics,
        )
        self.lake = _lake_service(config, self.data_dir, self.root_dir, self.metrics)
        self.fit.did_reader = self.lake.read_bytes  # workspaces given by their DID in the lake
        self.registry = JobRegistry()
        for kind in builtin_job_kinds(self.fit, self.workflows, self.lake):
            self.registry.register(kind)
        for name, spec in config.extra_job_kinds.items():  # an operator's kind may replace a built-in one
            self.registry.register(parse_kind_spec(name, spec))
        self.store = JobStore(self.data_dir / "jobs.sqlite")
        self.jobs = JobManager(
            self.store,
            self.registry,
            workers=config.job_workers,
            max_active_per_user=config.max_active_jobs_per_user,
            log_dir=self.data_dir / "job-logs",
            metrics=self.metrics,
        )
        self.metrics.watch_jobs(self.store.count_active_by_kind, self.registry.names)
        self.interrupted_at_start = self.jobs.recover(config.job_retention_days)
        self.workflows.attach(self.jobs)
        self.status = StatusService(__version__, config.status_probe_seconds)
        self._register_capabilities()

    def _register_capabilities(self) -> None:
        self.status.add_capability(
            "jobs",
            lambda: {
                "reachable": True,
                "kinds": self.registry.names(),
                "active": self.jobs.active_count(),
                "workers": self.config.job_workers,
            },
        )
        instances = [
            {"name": i.name, "rucio_host": i.rucio_host, "ca_cert": i.ca_cert} for i in self.lake.instances.all()
        ]
        lake = {
            "enabled": module_available("rucio.client") or bool(instances),
            "instances": [i["name"] for i in instances],
        }
        self.status.add_capability("lake", lambda: lake, rucio_ping_probe(instances))
        fit = {"enabled": module_available("pyhf"), "dask_scheduler": bool(self.config.dask_scheduler)}
        self.status.add_capability("fit", lambda: fit)
        self.status.add_capability("workflows", self.workflows.capability)

    def openapi(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The contract as this server applies it: page-size limit, job kinds, data-lake instances."""
        spec["components"]["parameters"]["limit"]["schema"]["maximum"] = self.config.max_page_size
        names = [i.name for i in self.lake.instances.all()]
        for item in spec["paths"].values():
            for param in item.get("parameters", []):
                if param.get("name") == "instance" and param.get("in") == "path" and names:
                    param["schema"] = {"type": "string", "enum": names}
        kinds = self.registry.names()
        if kinds:
            body = spec["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            body["properties"]["kind"]["enum"] = kinds
        return spec

    def close(self) -> None:
        """Stop the jobs (running ones are recorded as interrupted), then close every service."""
        self.jobs.shutdown()
        for service in (self.workflows, self.fit, self.lake):
            close = getattr(service, "close", None)
            if close is not None:
                close()
        self.store.close()

    def describe(self) -> dict[str, Any]:
        return {"root_dir": str(self.root_dir), "data_dir": str(self.data_dir)}
