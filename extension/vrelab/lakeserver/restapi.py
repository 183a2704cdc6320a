"""Just enough of Rucio's REST API for ``up`` (is it answering, are the samples there) and
``status`` (accounts, RSEs, usage), spoken with httpx from vrelab's own environment."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import LakeServerError


def ping(url: str, timeout: float = 1.0, verify: str | bool = True) -> str | None:
    """The server's Rucio version, or None when nothing (or not Rucio) answers."""
    try:
        response = httpx.get(f"{url}/ping", timeout=timeout, verify=verify)
        if response.status_code == 200:
            return str(response.json().get("version", ""))
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return None


class RucioREST:
    """A userpass-authenticated session with one Rucio server."""

    def __init__(self, url: str, account: str, password: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self._client = httpx.Client(base_url=self.url, timeout=timeout)
        try:
            response = self._client.get(
                "/auth/userpass",
                headers={
                    "X-Rucio-Account": account,
                    "X-Rucio-Username": account,
                    "X-Rucio-Password": password,
                },
            )
        except httpx.HTTPError as exc:
            self._client.close()
            raise LakeServerError(f"the lake at {self.url} does not answer: {exc}") from None
        token = response.headers.get("X-Rucio-Auth-Token")
        if response.status_code != 200 or not token:
            self._client.close()
            raise LakeServerError(
                f"the lake at {self.url} refused the login of {account!r} (HTTP {response.status_code})"
            )
        self._client.headers["X-Rucio-Auth-Token"] = token

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RucioREST:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise LakeServerError(f"the lake at {self.url} does not answer: {exc}") from None
        if response.status_code == 404:
            return response
        if response.status_code >= 400:
            raise LakeServerError(f"the lake answered HTTP {response.status_code} to {path}")
        return response

    def lines(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """A Rucio list endpoint (one JSON document per line)."""
        response = self._get(path, params)
        if response.status_code == 404:
            return []
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def document(self, path: str) -> Any:
        response = self._get(path)
        return None if response.status_code == 404 else response.json()

    def accounts(self) -> list[dict[str, Any]]:
        return self.lines("/accounts/")

    def rses(self) -> list[str]:
        return sorted(r["rse"] for r in self.lines("/rses/"))

    def rse_usage(self, rse: str) -> list[dict[str, Any]]:
        return self.lines(f"/rses/{rse}/usage")

    def account_usage(self, account: str) -> list[dict[str, Any]]:
        return self.lines(f"/accounts/{account}/usage/local")

    def account_limits(self, account: str) -> dict[str, Any]:
        return self.document(f"/accounts/{account}/limits/local") or {}

    def collections(self, scope: str) -> list[str]:
        return sorted(self.lines(f"/dids/{scope}/dids/search", {"type": "collection", "name": "*"}))
