"""The ``container`` backend: each step in its own image on a Docker-API engine (podman or dockerd).

The engine is ``c.VRELab.workflow_backends["container"]["url"]``, else ``c.VRELab.container_engine_url``
(``VRELAB_CONTAINER_ENGINE_URL``), else the usual places (``DOCKER_HOST``, podman's rootful and
rootless sockets, docker's); see :mod:`vrelab.workflows.docker_api`. Steps run in parallel where
``needs`` allows (the shared DAG scheduler), each as ``sh -c SCRIPT`` with the run's workspace
mounted at ``/workspace``, the run's parameters as environment variables, ``resources.cpus`` and
``resources.memory`` as the container's limits. Output streams into the step's log as it comes.
A stop ends running containers (SIGTERM through the container's init, SIGKILL after 3 s); every
container carries the run's label and is removed when its step ends.

Options (``c.VRELab.workflow_backends = {"container": {...}}``): ``url``, ``network`` (else
``c.VRELab.container_network``), ``pull`` (pull missing images, default true).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...errors import Unavailable
from ..docker_api import ContainerEngine, ContainerStep, StepContainer, connect
from ..scheduler import StepResult, run_dag
from ..spec import Step
from .base import Backend, BackendCheck, BackendSettings, RunContext

__all__ = ["ContainerBackend"]


class _ContainerHandle:
    def __init__(self, running: StepContainer):
        self.running = running

    def poll(self) -> StepResult | None:
        outcome = self.running.poll()
        if outcome is None:
            return None
        if outcome.exit_code == 0:
            return StepResult(0)
        if outcome.exit_code is None:
            return StepResult(None, outcome.error or "the container ended without an exit code")
        return StepResult(outcome.exit_code, f"exited with code {outcome.exit_code}")

    def kill(self) -> None:
        self.running.stop()


class ContainerBackend(Backend):
    name: ClassVar[str] = "container"
    description: ClassVar[str] = "Steps in their container images on a Docker-API engine (podman or dockerd)."

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> ContainerBackend | None:
        import docker  # noqa: F401 - offered only where the Docker SDK is installed

        return cls(settings)

    # -- settings ----------------------------------------------------------------------------------

    def _option(self, key: str, trait: str | None = None) -> Any:
        value = self.settings.options.get(key)
        if value in (None, "") and trait and self.settings.config is not None:
            value = getattr(self.settings.config, trait, None)
        return value or None

    def engine(self) -> ContainerEngine:
        """A connection to the engine, or :class:`Unavailable` saying where it looked and what to do."""
        url = self._option("url", "container_engine_url")
        return connect(url, network=self._option("network", "container_network"))

    # -- the interface -----------------------------------------------------------------------------

    def check(self) -> BackendCheck:
        try:
            engine = self.engine()
        except Unavailable as exc:
            return BackendCheck(self.name, False, exc.message, dict(exc.details))
        try:
            about = engine.describe()
        finally:
            engine.close()
        return BackendCheck(self.name, True, f"{about['engine']} {about['version']} at {about['url']}", about)

    def _run_with_engine(self, ctx: RunContext) -> None:
        import shutil

        from ..engines import engine_for
        from ..engines.runner import run_engine

        assert ctx.spec.engine is not None
        engine = self.engine()
        try:
            url = engine.url
            ctx.log(f"container engine: {engine.engine_name} {engine.engine_version} at {url}")
        finally:
            engine.close()
        if "podman" not in engine.engine_name.lower() or shutil.which("podman") is None:
            raise Unavailable(
                f"A {ctx.spec.engine.type} workflow runs in containers through the podman command and a podman "
                f"service; the container engine here is {engine.engine_name} at {url}."
            )
        run_engine(ctx, engine_for(ctx.spec.engine.type), container_host=url)

    def run(self, ctx: RunContext) -> None:
        if ctx.spec.engine is not None:  # CWL: cwltool runs each step in its image through podman
            self._run_with_engine(ctx)
            return
        engine = self.engine()
        pull = self.settings.options.get("pull", True) is not False
        try:
            ctx.log(f"container engine: {engine.engine_name} {engine.engine_version} at {engine.url}")
            # every image is there before the first step starts: a typo fails the run at once
            for image in sorted({s.image for s in ctx.spec.steps}):
                engine.ensure_image(image, pull=pull)

            def launch(step: Step) -> _ContainerHandle:
                def output(text: str, name: str = step.name) -> None:
                    ctx.step_output(name, text)

                running = engine.start_step(
                    ContainerStep(
                        run_id=ctx.run_id,
                        name=step.name,
                        image=step.image,
                        command=step.script,
                        workspace=ctx.workspace,
                        env=ctx.step_env(step),
                        cpus=step.resources.cpus,
                        memory=step.resources.memory,
                    ),
                    on_output=output,
                )
                ctx.step_started(step.name, image=step.image, backend_id=f"container:{running.container_id[:12]}")
                return _ContainerHandle(running)

            run_dag(ctx, launch)
        finally:
            try:
                engine.remove_run(ctx.run_id)  # anything a failure left behind
            except Unavailable:
                pass
            engine.close()
