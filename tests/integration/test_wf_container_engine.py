"""The container engine layer (vrelab.workflows.docker_api) on a real podman API service."""

from __future__ import annotations

import threading
import time

import pytest

from vrelab.errors import BadRequest, Unavailable
from vrelab.times import parse_iso
from vrelab.workflows.docker_api import LABEL_RUN, ContainerStep, connect, engine_candidates


def test_step_runs_in_image_with_workspace_and_env(container_engine, container_test_image, tmp_path):
    (tmp_path / "in.txt").write_text("from the host\n")
    seen: list[str] = []
    step = ContainerStep(
        run_id="eng1",
        name="copy",
        image=container_test_image,
        # the parameter arrives as an environment variable: its text is never parsed by the shell
        command='set -e\ncat in.txt > out.txt\necho "value=${PARAM}" | tee -a out.txt\necho oops >&2\nexit 3',
        workspace=tmp_path,
        env={"PARAM": "a; touch /workspace/pwned"},
    )
    outcome = container_engine.run_step(step, on_output=seen.append)
    assert outcome.exit_code == 3 and not outcome.succeeded and not outcome.stopped
    assert (tmp_path / "out.txt").read_text() == "from the host\nvalue=a; touch /workspace/pwned\n"
    assert not (tmp_path / "pwned").exists()
    assert "value=a; touch /workspace/pwned\n" in outcome.logs and "oops\n" in outcome.logs
    assert "".join(seen) == outcome.logs  # streamed as it came, nothing lost
    start, end = parse_iso(outcome.started_at), parse_iso(outcome.finished_at)
    assert start is not None and end is not None and start <= end
    assert container_engine.run_containers("eng1") == []  # removed afterwards


def test_stop_mid_step(container_engine, container_test_image, tmp_path):
    flag = threading.Event()
    step = ContainerStep("eng2", "long", container_test_image, "echo started; sleep 60; echo never", tmp_path)
    began = time.monotonic()
    timer = threading.Timer(1.0, flag.set)
    timer.start()
    outcome = container_engine.run_step(step, cancelled=flag.is_set)
    assert outcome.stopped and outcome.exit_code is None
    assert outcome.logs == "started\n"
    assert time.monotonic() - began < 30
    assert container_engine.run_containers("eng2") == []


def test_stop_run_finds_containers_by_label(container_engine, container_test_image, tmp_path):
    running = container_engine.start_step(ContainerStep("eng3", "bg", container_test_image, "sleep 60", tmp_path))
    try:
        labels = [c.labels.get(LABEL_RUN) for c in container_engine.run_containers("eng3")]
        assert labels == ["eng3"]
        assert container_engine.stop_run("eng3") == 1
        outcome = running.poll()
        assert outcome is not None and outcome.exit_code != 0
    finally:
        container_engine.remove_run("eng3")
    assert container_engine.run_containers("eng3") == []


def test_missing_image_is_a_clear_error(container_engine, tmp_path):
    with pytest.raises(BadRequest, match="'localhost/no-such-image:0' is not on the container engine"):
        container_engine.run_step(ContainerStep("eng4", "x", "localhost/no-such-image:0", "true", tmp_path))
    assert container_engine.run_containers("eng4") == []


def test_unreachable_engine_says_how_to_start_one(tmp_path):
    with pytest.raises(Unavailable) as err:
        connect(f"unix://{tmp_path}/nothing.sock")
    assert "No container engine reachable at unix://" in err.value.message
    assert "podman system service" in err.value.message and "VRELAB_CONTAINER_ENGINE_URL" in err.value.message
    with pytest.raises(Unavailable, match="connection refused|no answer"):
        connect("tcp://127.0.0.1:9", timeout=3)


def test_engine_discovery_order(monkeypatch):
    env = {"XDG_RUNTIME_DIR": "/run/user/1234"}
    assert [c.url for c in engine_candidates(None, env)] == [
        "unix:///run/podman/podman.sock",
        "unix:///run/user/1234/podman/podman.sock",
        "unix:///var/run/docker.sock",
    ]
    assert [c.source for c in engine_candidates(None, {**env, "DOCKER_HOST": "tcp://h:2375"})] == ["DOCKER_HOST"]
    assert [c.url for c in engine_candidates("/x/podman.sock", {"DOCKER_HOST": "tcp://h:2375"})] == [
        "unix:///x/podman.sock"
    ]
