"""``vrelab lake up|down|status|reset|seed|token``: the embedded data lake on this machine.

These commands run the lake's processes here (:class:`vrelab.lakeserver.LakeServer`); they do not
need a vrelab server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ...units import format_bytes
from ..common import Ctx, emit, json_option, pass_ctx, table


def _home_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--home",
        envvar="VRELAB_LAKE_HOME",
        type=click.Path(file_okay=False),
        help="State folder of the embedded lake [default: ~/.local/share/vrelab/lake].",
    )(fn)


def _venv_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--venv",
        envvar="VRELAB_LAKE_VENV",
        type=click.Path(file_okay=False),
        help="The Rucio server's own venv [default: ~/.cache/vrelab/rucio-server-41.5.1-pyX.Y].",
    )(fn)


def course_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--course-material DIR and --no-course (the course files the school notebooks read)."""
    fn = click.option(
        "--no-course", is_flag=True, help="Leave out the course material (the notebooks' likelihood archive)."
    )(fn)
    return click.option(
        "--course-material",
        envvar="VRELAB_COURSE_MATERIAL",
        type=click.Path(file_okay=False),
        help="Folder with the course files [default: ../shared/likelihoods/archives beside a source checkout].",
    )(fn)


def _say(message: str) -> None:
    click.echo(f"[lake] {message}", err=True)


def _server(home: str | None, venv: str | None = None, **kwargs: Any) -> Any:
    from ...lakeserver import LakeServer

    return LakeServer(home=home, venv=venv, **kwargs)


@click.command()
@_home_option
@_venv_option
@click.option("--port", type=int, envvar="VRELAB_LAKE_PORT", help="Port of the Rucio server [18280].")
@click.option("--db", "db", metavar="URL", help="postgresql://USER:PW@HOST:PORT/DB instead of SQLite.")
@click.option("--auth-extras", is_flag=True, default=None, help="Also HTTPS + client certificates, OIDC.")
@click.option("--no-seed", is_flag=True, help="Do not add the sample data on the first start.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Size factor of the sample data.")
@course_options
@json_option
@pass_ctx
def up(
    ctx: Ctx,
    home: str | None,
    venv: str | None,
    port: int | None,
    db: str | None,
    auth_extras: bool | None,
    no_seed: bool,
    scale: float,
    course_material: str | None,
    no_course: bool,
) -> None:
    """Start the embedded data lake: a real Rucio server with three local RSEs.

    The first start installs the server into its own venv (cached), creates the database, the
    RSEs, accounts and scopes, and adds the sample data; later starts take a few seconds.
    """
    server = _server(
        home, venv, port=port, db=db, auth_extras=auth_extras, sample_scale=scale,
        course_material=course_material, with_course=not no_course,
    )  # fmt: skip
    info = server.up(progress=_say, seed=not no_seed)

    def text(d: dict[str, Any]) -> str:
        lines = [
            f"Rucio data lake at {d['url']} (home {d['home']})",
            f"  as {d['user']}:  RUCIO_CONFIG={d['user_config']} rucio whoami",
            f"  as root:     RUCIO_CONFIG={d['root_config']} rucio whoami",
            f"  JupyterLab:  JUPYTER_CONFIG_PATH={d['home']} jupyter lab   (instance 'embedded')",
        ]
        if d.get("tls_url"):
            lines.append(f"  x509:        {d['tls_url']}   OIDC issuer: {d['issuer_url']}")
        lines.append(f"  password of {d['user']}: in {d['user_password_file']}")
        return "\n".join(lines)

    emit(ctx, info.to_dict(), text)


@click.command()
@_home_option
def down(home: str | None) -> None:
    """Stop the embedded lake's processes (only those it started)."""
    _server(home).down(progress=_say)


def _status_text(d: dict[str, Any]) -> str:
    if d.get("state") == "not created":
        return f"No embedded lake in {d['home']} yet: `vrelab lake up` creates it."
    lines = [
        f"state:     {d['state']}",
        f"url:       {d['url']}",
        f"home:      {d['home']}",
        f"database:  {d['database']}",
        "processes: " + ", ".join(f"{k} {v if v else '-'}" for k, v in d.get("processes", {}).items()),
        f"user:      {d['user']} (config {d['user_config']})",
        f"root:      config {d['root_config']}",
    ]
    if d.get("tls_url"):
        lines.append(f"x509:      {d['tls_url']}   OIDC issuer: {d['issuer_url']}")
    if not d.get("initialised"):
        lines.append("NOT initialised: run `vrelab lake reset` then `vrelab lake up`")
    if "live_error" in d:
        lines.append(f"could not query the lake: {d['live_error']}")
    if "accounts" in d:
        lines.append(f"accounts:  {', '.join(d['accounts'])}")
        lines.append(f"samples:   {', '.join(d['samples']) or '(none)'}")
        lines.append("")
        roots = d["rse_roots"]
        rows = [[r["rse"], format_bytes(r["used_bytes"]), str(r["files"]), roots.get(r["rse"], "")] for r in d["rses"]]
        lines.append(table(rows, ["RSE", "used", "files", "storage"]))
        lines.append("")
        rows = [
            [account, rse, format_bytes(u["used_bytes"]), format_bytes(u["limit_bytes"])]
            for account, per_rse in d["usage"].items()
            for rse, u in per_rse.items()
        ]
        lines.append(table(rows, ["account", "RSE", "used", "quota"]))
    return "\n".join(lines)


@click.command()
@_home_option
@json_option
@pass_ctx
def status(ctx: Ctx, home: str | None) -> None:
    """Show the embedded lake: URL, processes, accounts, RSEs, usage and quotas."""
    emit(ctx, _server(home).status(), _status_text)


@click.command()
@_home_option
@_venv_option
@click.option("--db", "db", metavar="URL", help="PostgreSQL DB to wipe if the settings are gone.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(home: str | None, venv: str | None, db: str | None, yes: bool) -> None:
    """Stop the lake and wipe its state: database, storage, configs, passwords, logs."""
    server = _server(home, venv)
    if not yes:
        click.confirm(f"Wipe the embedded lake in {server.paths.home} (all its data)?", abort=True, err=True)
    server.reset(progress=_say, db=db)


@click.command()
@_home_option
@click.option("--scale", type=float, default=1.0, show_default=True, help="Size factor of the sample data.")
@course_options
@json_option
@pass_ctx
def seed(ctx: Ctx, home: str | None, scale: float, course_material: str | None, no_course: bool) -> None:
    """(Re)generate the sample ROOT files and register them under ATLAS_OD_EDU, and upload the
    course material to school:likelihoods (lake must be up)."""
    server = _server(home, course_material=course_material, with_course=not no_course)
    result = server.seed(progress=_say, scale=scale)

    def text(d: dict[str, Any]) -> str:
        course = f"; course material: {', '.join(d['course'])}" if d.get("course") else ""
        return f"{d['files']} files in {', '.join(d['containers'])}{course}"

    emit(ctx, result, text)


@click.command()
@_home_option
@click.option("--lifetime", type=int, default=3600, show_default=True, help="Seconds the token is valid.")
def token(home: str | None, lifetime: int) -> None:
    """Print an OIDC access token (JWT) for the lake's user (lakes started with --auth-extras).

    Use it as `BEARER_TOKEN=$(vrelab lake token) RUCIO_CONFIG=<home>/etc/rucio-<user>-oidc.cfg rucio whoami`.
    """
    click.echo(_server(home).oidc_token(lifetime=lifetime))


COMMANDS = [up, down, status, reset, seed, token]
