"""Mercury's promises, checked on every tier: the user, the start scripts and hooks, the health check,
the labels."""

from __future__ import annotations

import json
from pathlib import Path

from containers.build import vrelab_version
from containers.engine import Engine
from containers.tiers import promised_commands


def test_runs_as_jovyan(engine: Engine, image: str) -> None:
    out = engine.run(image, "id")
    assert out.startswith("uid=1000(jovyan) gid=100(users)"), out
    assert engine.run(image, "sh", "-c", "echo $HOME; stat -c %U /opt/vrelab /home/jovyan").split() == [
        "/home/jovyan", "jovyan", "jovyan",
    ]  # fmt: skip


def test_promised_commands_are_on_path(engine: Engine, image: str, tier: str) -> None:
    commands = promised_commands(tier)
    script = "; ".join(f'command -v {c} >/dev/null || echo "missing {c}"' for c in commands)
    assert engine.run(image, "bash", "-c", script).strip() == ""


def test_start_runs_hooks_then_the_command_as_jovyan(engine: Engine, image: str, tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "50-greet.sh").write_text('export VRELAB_TEST_GREETING="hello from a hook"\n')
    out = engine.run(
        image, "start.sh", "bash", "-c", 'echo "$VRELAB_TEST_GREETING as $(id -un)"',
        options=["-v", f"{hooks}:/usr/local/bin/before-notebook.d:ro"],
    )  # fmt: skip
    assert out.strip().splitlines()[-1] == "hello from a hook as jovyan"


def test_started_as_root_start_switches_to_nb_uid(engine: Engine, image: str) -> None:
    out = engine.run(image, "start.sh", "id", options=["--user", "root", "-e", "NB_UID=1234"])
    assert out.strip().splitlines()[-1].startswith("uid=1234(jovyan) gid=100(users)"), out


def test_start_notebook_hands_over_to_singleuser_under_jupyterhub(engine: Engine, image: str) -> None:
    # with JUPYTERHUB_API_TOKEN set, the default command runs jupyterhub-singleuser (--version: and stops)
    out = engine.run(image, "start-notebook.sh", "--version", options=["-e", "JUPYTERHUB_API_TOKEN=x"])
    assert out.strip().splitlines()[-1] == json.loads(
        engine.run(image, "python", "-c", "import json, jupyterhub; print(json.dumps(jupyterhub.__version__))")
    )


def test_labels_name_tier_version_and_source(engine: Engine, image: str, tier: str) -> None:
    config = engine.inspect(image)
    labels = config.get("Labels") or config["Config"]["Labels"]
    assert labels["org.vrelab.tier"] == tier
    assert labels["org.opencontainers.image.version"] == vrelab_version()
    assert labels["org.opencontainers.image.title"] == f"vrelab-{tier}"
    assert labels["org.opencontainers.image.source"]
    assert labels["org.opencontainers.image.revision"]


def test_image_config(engine: Engine, image: str) -> None:
    inspected = engine.inspect(image)
    config = inspected["Config"]
    assert config["User"] in ("1000", "jovyan")
    assert config["WorkingDir"] == "/home/jovyan"
    assert config["Entrypoint"] == ["tini", "-g", "--"]
    assert config["Cmd"] == ["start-notebook.sh"]
    assert "8888/tcp" in config["ExposedPorts"]
    healthcheck = config.get("Healthcheck") or inspected.get("Healthcheck")  # docker: in Config; podman: beside
    assert healthcheck["Test"] == ["CMD", "/usr/local/bin/vrelab-healthcheck"]
