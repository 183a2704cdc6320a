"""vrelab's configuration: one traitlets ``Configurable`` read from Jupyter's config files.

Every option can be set as ``c.VRELab.<name> = ...`` in ``jupyter_server_config.py`` (or the
``.json`` form), on the command line as ``--VRELab.<name>=...``, and, for container images,
through the environment variable named in its help (the environment gives the default; an
explicit config value wins).
"""

from __future__ import annotations

import json
import os
from typing import Any

from traitlets import Bool, Dict, Float, Integer, List, Unicode, default, validate
from traitlets.config import Configurable

from .machine import usable_cpus

ENV_PREFIX = "VRELAB_"


def _env(name: str) -> str | None:
    value = os.environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else None


def _env_bool(name: str, fallback: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return fallback
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {ENV_PREFIX + name} must be true or false, got {raw!r}")


def _env_json(name: str, fallback: Any) -> Any:
    raw = _env(name)
    if raw is None:
        return fallback
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"environment variable {ENV_PREFIX + name} is not valid JSON: {exc}") from exc


class VRELab(Configurable):
    """Settings of the vrelab server extension."""

    data_dir = Unicode(
        help=(
            "Folder where vrelab keeps its state: the jobs database, stored credentials (mode 0600) "
            "and job logs. Default: <Jupyter data dir>/vrelab. Environment: VRELAB_DATA_DIR."
        )
    ).tag(config=True)

    root_dir = Unicode(
        help=(
            "The only folder vrelab writes user files into (downloads, fit workspaces, workflow runs); "
            "paths given by users are resolved inside it. Default: the Jupyter server's root_dir. "
            "Environment: VRELAB_ROOT_DIR."
        )
    ).tag(config=True)

    job_workers = Integer(
        help=(
            "How many jobs run at the same time on this server (thread jobs and process jobs each get "
            "this many slots); further jobs wait as 'queued'. Default: the number of CPU cores, at "
            "least 2. Environment: VRELAB_JOB_WORKERS."
        )
    ).tag(config=True)

    max_active_jobs_per_user = Integer(
        help=(
            "How many queued or running jobs one user may have at once; a further submission is "
            "refused with HTTP 429. Environment: VRELAB_MAX_ACTIVE_JOBS_PER_USER."
        )
    ).tag(config=True)

    max_body_bytes = Integer(
        help=(
            "Largest JSON request body accepted, in bytes; larger ones are refused with HTTP 413 "
            "(uploads of workspaces count). Environment: VRELAB_MAX_BODY_BYTES."
        )
    ).tag(config=True)

    max_page_size = Integer(
        help=(
            "Largest 'limit' a listing accepts (jobs, DIDs, ...); a larger one is refused with "
            "HTTP 400 naming this limit. Environment: VRELAB_MAX_PAGE_SIZE."
        )
    ).tag(config=True)

    job_retention_days = Float(
        help=(
            "Finished jobs older than this many days are removed from the jobs database at start-up. "
            "0 keeps them forever. Environment: VRELAB_JOB_RETENTION_DAYS."
        )
    ).tag(config=True)

    extra_job_kinds = Dict(
        value_trait=Unicode(),
        help=(
            "Additional job kinds, as {kind: 'module:function' or 'module:function@process'}. The "
            "function is called as function(params, ctx) and returns a JSON-able result. "
            "'@process' runs it in a separate process (for CPU-heavy work). "
            "Environment: VRELAB_EXTRA_JOB_KINDS (JSON)."
        ),
    ).tag(config=True)

    lake_instances = List(
        Dict(),
        help=(
            "Rucio instances users can browse, each a dict with: name, display_name, rucio_host, "
            "auth_host, vo (default 'def'), ca_cert (optional path), rucio_webui_url (optional), and "
            "optionally auth (auth_type userpass|x509|x509_proxy|oidc and its fields) to log every user "
            "in with the same identity. The rucio-jupyterlab format (RucioConfig.instances) is "
            "accepted too. Environment: VRELAB_LAKE_INSTANCES (JSON list)."
        ),
    ).tag(config=True)

    default_lake_instance = Unicode(
        help=(
            "Name of the Rucio instance selected when a user has not chosen one. Default: the first "
            "configured. Environment: VRELAB_DEFAULT_LAKE_INSTANCE."
        )
    ).tag(config=True)

    lake_timeout_seconds = Float(
        help=(
            "How long vrelab waits for one answer of a Rucio server before it reports the data lake as "
            "unavailable (HTTP 503), in seconds. Environment: VRELAB_LAKE_TIMEOUT_SECONDS."
        )
    ).tag(config=True)

    lake_scan_limit = Integer(
        help=(
            "How many DIDs (or files of a DID) vrelab reads at most to sort a search or summarise "
            "replicas; beyond it the answer says 'truncated'. Environment: VRELAB_LAKE_SCAN_LIMIT."
        )
    ).tag(config=True)

    dask_scheduler = Unicode(
        help=(
            "Address of a Dask scheduler (e.g. tcp://10.0.0.5:8786) that fits and workflows may scale "
            "out to. Empty: local processes only. Environment: VRELAB_DASK_SCHEDULER."
        )
    ).tag(config=True)

    fit_workers = Integer(
        help=(
            "How many worker processes one fit scan uses on this machine (one BLAS thread each, at "
            "lower priority). Default: the number of CPU cores. Environment: VRELAB_FIT_WORKERS."
        )
    ).tag(config=True)

    fit_cache_bytes = Integer(
        help=(
            "Size of the fit result cache (<data_dir>/fit/cache) in bytes; the least recently used "
            "results go first. Environment: VRELAB_FIT_CACHE_BYTES."
        )
    ).tag(config=True)

    fit_worker_nice = Integer(
        help=(
            "Nice level of fit worker processes (0-19): higher yields the CPU to the server and to "
            "other work. Environment: VRELAB_FIT_WORKER_NICE."
        )
    ).tag(config=True)

    container_engine_url = Unicode(
        help=(
            "Docker-API container engine that the 'container' workflow backend runs steps on, e.g. "
            "unix:///run/podman/podman.sock (podman system service) or unix:///var/run/docker.sock. "
            "Empty: DOCKER_HOST, then podman's rootful and rootless sockets, then docker's. "
            "Environment: VRELAB_CONTAINER_ENGINE_URL."
        )
    ).tag(config=True)

    container_network = Unicode(
        help=(
            "Network of workflow step containers: 'none' (no network), 'host', 'bridge' or a network "
            "name. Empty: the engine's default. Environment: VRELAB_CONTAINER_NETWORK."
        )
    ).tag(config=True)

    workflow_dir = Unicode(
        help=(
            "Folder, relative to the root, where workflow runs keep their record, logs and workspace "
            "(one sub-folder per run). Environment: VRELAB_WORKFLOW_DIR."
        )
    ).tag(config=True)

    workflow_concurrency = Integer(
        help=(
            "How many workflow steps (CPU slots) one run executes at the same time on the local and "
            "Dask backends. Default: the number of CPU cores. Environment: VRELAB_WORKFLOW_CONCURRENCY."
        )
    ).tag(config=True)

    workflow_backends = Dict(
        help=(
            "Options of each workflow backend, as {backend: {option: value}} (e.g. {'reana': {...}, "
            "'dask': {'scheduler': 'tcp://...'}}); {'enabled': false} turns a backend off and "
            "{'class': 'module:Class'} adds one. Environment: VRELAB_WORKFLOW_BACKENDS (JSON)."
        ),
    ).tag(config=True)

    status_probe_seconds = Float(
        help=(
            "How long the reachability of upstream services (Rucio, container engine, Dask) shown by "
            "GET status is cached, in seconds. Environment: VRELAB_STATUS_PROBE_SECONDS."
        )
    ).tag(config=True)

    metrics_allow_unauthenticated = Bool(
        help=(
            "Let GET {base_url}vrelab/api/v1/metrics (Prometheus' text format) answer requests without "
            "Jupyter credentials, for a scraper that cannot send a token. Off: the metrics need the same "
            "authentication as every other vrelab route (a JupyterHub API token, or the server's token). "
            "The metrics hold no user data, only counts and durations. "
            "Environment: VRELAB_METRICS_ALLOW_UNAUTHENTICATED (true/false)."
        )
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        env = _env("DATA_DIR")
        if env:
            return env
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "vrelab")

    @default("root_dir")
    def _default_root_dir(self) -> str:
        return _env("ROOT_DIR") or ""

    @default("job_workers")
    def _default_job_workers(self) -> int:
        return int(_env("JOB_WORKERS") or max(2, usable_cpus()))

    @default("max_active_jobs_per_user")
    def _default_max_active(self) -> int:
        return int(_env("MAX_ACTIVE_JOBS_PER_USER") or 50)

    @default("max_body_bytes")
    def _default_max_body(self) -> int:
        return int(_env("MAX_BODY_BYTES") or 64 * 1024 * 1024)

    @default("max_page_size")
    def _default_max_page(self) -> int:
        return int(_env("MAX_PAGE_SIZE") or 1000)

    @default("job_retention_days")
    def _default_retention(self) -> float:
        return float(_env("JOB_RETENTION_DAYS") or 30)

    @default("extra_job_kinds")
    def _default_extra_kinds(self) -> dict[str, str]:
        return dict(_env_json("EXTRA_JOB_KINDS", {}))

    @default("lake_instances")
    def _default_lake_instances(self) -> list[dict[str, Any]]:
        return list(_env_json("LAKE_INSTANCES", []))

    @default("default_lake_instance")
    def _default_default_lake(self) -> str:
        return _env("DEFAULT_LAKE_INSTANCE") or ""

    @default("lake_timeout_seconds")
    def _default_lake_timeout(self) -> float:
        return float(_env("LAKE_TIMEOUT_SECONDS") or 30)

    @default("lake_scan_limit")
    def _default_lake_scan_limit(self) -> int:
        return int(_env("LAKE_SCAN_LIMIT") or 10_000)

    @default("dask_scheduler")
    def _default_dask(self) -> str:
        return _env("DASK_SCHEDULER") or ""

    @default("fit_workers")
    def _default_fit_workers(self) -> int:
        return int(_env("FIT_WORKERS") or usable_cpus())

    @default("fit_cache_bytes")
    def _default_fit_cache(self) -> int:
        return int(_env("FIT_CACHE_BYTES") or 2 * 1024**3)

    @default("fit_worker_nice")
    def _default_fit_nice(self) -> int:
        return int(_env("FIT_WORKER_NICE") or 10)

    @default("container_engine_url")
    def _default_container_engine(self) -> str:
        return _env("CONTAINER_ENGINE_URL") or ""

    @default("container_network")
    def _default_container_network(self) -> str:
        return _env("CONTAINER_NETWORK") or ""

    @default("workflow_dir")
    def _default_workflow_dir(self) -> str:
        return _env("WORKFLOW_DIR") or "workflows"

    @default("workflow_concurrency")
    def _default_workflow_concurrency(self) -> int:
        return int(_env("WORKFLOW_CONCURRENCY") or usable_cpus())

    @default("workflow_backends")
    def _default_workflow_backends(self) -> dict[str, Any]:
        return dict(_env_json("WORKFLOW_BACKENDS", {}))

    @default("metrics_allow_unauthenticated")
    def _default_metrics_public(self) -> bool:
        return _env_bool("METRICS_ALLOW_UNAUTHENTICATED", False)

    @default("status_probe_seconds")
    def _default_probe(self) -> float:
        return float(_env("STATUS_PROBE_SECONDS") or 10)

    @validate("job_workers", "max_active_jobs_per_user", "max_body_bytes", "max_page_size", "lake_scan_limit")
    def _positive(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError(f"VRELab.{proposal['trait'].name} must be at least 1, got {value}")
        return value

    @validate("lake_timeout_seconds")
    def _positive_seconds(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value <= 0:
            raise ValueError(f"VRELab.{proposal['trait'].name} must be above 0, got {value}")
        return value
