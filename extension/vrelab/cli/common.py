"""What every ``vrelab`` command shares: the client, JSON output, and errors without tracebacks.

:class:`VRELabGroup` is the class of the top-level ``vrelab`` group. Every command runs inside its
``invoke``, so one place turns any exception a command lets out into one line on stderr and exit
code 1 (``Interrupted.`` and exit code 130 for Ctrl-C); commands never catch errors one by one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from ..errors import VRELabError

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    def __init__(self, url: str | None, token: str | None, as_json: bool):
        self.url = url
        self.token = token
        self.as_json = as_json
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..client import Client

            self._client = Client(self.url, self.token)
        return self._client


pass_ctx = click.make_pass_decorator(Ctx, ensure=True)


def one_line(text: str) -> str:
    """A message on one line: its lines joined, blank ones dropped."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def error_message(exc: BaseException) -> str:
    """What the user reads for an exception a command let out: its message, never a traceback."""
    if isinstance(exc, VRELabError):
        return one_line(exc.message)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return one_line(f"{exc.strerror}{where}")
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__} (an unexpected error)"


def fail(exc: BaseException) -> NoReturn:
    """Print ``Error: <message>`` on stderr and exit 1."""
    click.secho(f"Error: {error_message(exc)}", fg="red", err=True)
    sys.exit(1)


class VRELabGroup(click.Group):
    """The ``vrelab`` group: runs every subcommand, and turns what escapes it into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise  # click's own usage errors and exits, and commands that chose their exit code
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:
            fail(exc)


def json_option(fn: F) -> F:
    """``--json`` on a subcommand, same as the global one."""

    def set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Ctx).as_json = True

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=set_json,
        help="Print JSON instead of text.",
    )(fn)


def emit(ctx: Ctx, data: Any, text: Callable[[Any], str] | str | None = None) -> None:
    if ctx.as_json or text is None:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(text(data) if callable(text) else text)


def table(rows: list[list[str]], headers: list[str], *, drop_empty: bool = False) -> str:
    """Rows under headers, columns padded; ``drop_empty`` leaves out columns no row has a value in."""
    if drop_empty and rows:
        keep = [i for i in range(len(headers)) if any(str(r[i]).strip() not in ("", "-") for r in rows)]
        headers = [headers[i] for i in keep]
        rows = [[r[i] for i in keep] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)
