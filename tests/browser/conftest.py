"""Browser tests drive Playwright's sync API, which runs an event loop of its own in this thread:
pytest-jupyter's autouse loop and in-process-server clean-up must stay out of its way here
(these tests use a separate JupyterLab process, not an in-process server)."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    yield
