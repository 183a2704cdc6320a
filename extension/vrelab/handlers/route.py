"""A route: an OpenAPI-style path template bound to a handler class.

Routes are written as the OpenAPI document writes them (``/jobs/{job_id}``), so the test that
compares the route table with ``openapi.json`` compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tornado.web import RequestHandler

API_PREFIX = "vrelab/api/v1"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    path: str
    handler: type[RequestHandler]
    # regular expression per path parameter; the default matches one path segment
    patterns: Mapping[str, str] = field(default_factory=dict)

    def regex(self) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"(?P<{name}>{self.patterns.get(name, '[^/]+')})"

        parts = _PARAM.split(self.path)
        out = []
        for i, part in enumerate(parts):
            out.append(sub(_PARAM.match("{" + part + "}")) if i % 2 else re.escape(part))  # type: ignore[arg-type]
        return "".join(out)

    def methods(self) -> set[str]:
        """The HTTP methods the handler class itself implements."""
        return {m for m in HTTP_METHODS if getattr(self.handler, m) is not getattr(RequestHandler, m)}
