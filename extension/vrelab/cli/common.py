"""What every ``vrelab`` command shares: the client, JSON output, errors without tracebacks."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

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


def friendly_errors(fn: F) -> F:
    """Print a VRELabError's message and exit 1, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VRELabError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def emit(ctx: Ctx, data: Any, text: Callable[[Any], str] | str | None = None) -> None:
    if ctx.as_json or text is None:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(text(data) if callable(text) else text)


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)
