"""``vrelab demo``: the embedded data lake with sample data, and a JupyterLab pointed at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import click

from .lake.server import course_options


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--home",
    envvar="VRELAB_LAKE_HOME",
    type=click.Path(file_okay=False),
    help="State folder of the embedded lake.",
)
@click.option("--lab-port", default=8888, show_default=True, help="Port of JupyterLab.")
@click.option("--notebook-dir", default=".", show_default=True, help="JupyterLab's root folder.")
@click.option("--no-lake", is_flag=True, help="Start JupyterLab with vrelab only, without the embedded lake.")
@course_options
@click.argument("lab_args", nargs=-1, type=click.UNPROCESSED)
def demo(
    home: str | None,
    lab_port: int,
    notebook_dir: str,
    no_lake: bool,
    course_material: str | None,
    no_course: bool,
    lab_args: tuple[str, ...],
) -> None:
    """Start the embedded data lake (first run: install, seed samples) and JupyterLab with vrelab.

    Extra arguments go to `jupyter lab` (e.g. --no-browser). Stop with Ctrl-C; the lake keeps
    running until `vrelab lake down`.
    """
    env = dict(os.environ)
    if not no_lake:
        from ..lakeserver import LakeServer

        server = LakeServer(home=home, course_material=course_material, with_course=not no_course)
        info = server.up(progress=lambda msg: click.echo(f"[lake] {msg}"))
        config_dir = str(info.jupyter_config_dir)
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (config_dir, env.get("JUPYTER_CONFIG_PATH")) if p)
        click.echo(f"[lake] Rucio at {info.url}; JupyterLab will use it as instance 'embedded'.")
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or "jupyter"
    cmd = [
        jupyter,
        "lab",
        f"--port={lab_port}",
        "--ServerApp.port_retries=0",
        f"--notebook-dir={notebook_dir}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    cmd += list(lab_args)
    click.echo("$ " + " ".join(cmd))
    try:
        raise SystemExit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        raise SystemExit(0) from None
