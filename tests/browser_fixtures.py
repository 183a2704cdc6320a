"""Browser fixtures: one JupyterLab (with vrelab, pointed at the embedded lake) and one headless
Chromium per test session, driven by Playwright. On a failing test the page's screenshot and
console log are saved under ``artifacts/browser/``.

Chromium is Debian's (``/usr/bin/chromium``; ``ci/setup`` installs it); Playwright's own
browser download does not work here and is never used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import REPO, JupyterServerProcess

CHROMIUM = os.environ.get("VRELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
ARTIFACTS = REPO / "artifacts" / "browser"

TEST_JOB_KINDS = {"test.steps": "jobkinds:steps", "test.fail": "jobkinds:fail"}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash.setdefault("reports", {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def a_jupyterlab(tmp_path_factory, embedded_lake) -> Iterator[JupyterServerProcess]:
    """JupyterLab with vrelab, its data-lake instance the session's embedded lake."""
    lake_config = json.loads(embedded_lake.jupyter_config.read_text())["VRELab"]
    workdir = tmp_path_factory.mktemp("jupyterlab")
    settings = workdir / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    # no news fetching (it pops a notification up over the page)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    server = JupyterServerProcess(
        workdir,
        app="lab",
        vrelab_config={**lake_config, "extra_job_kinds": TEST_JOB_KINDS},
        extra_args=[
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
        ],
    )
    yield server.start(timeout=120)
    server.stop()


@pytest.fixture(scope="session")
def a_browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run ./ci/setup (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def lab_page(request, a_browser, a_jupyterlab):
    """A fresh page with JupyterLab loaded and restored; console messages collected in ``page.console``."""
    context = a_browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.console = console  # type: ignore[attr-defined]
    page.goto(f"{a_jupyterlab.url}lab?token={a_jupyterlab.token}")
    page.wait_for_function("window.jupyterapp !== undefined", timeout=90_000)
    page.wait_for_function(
        "window.jupyterapp.restored && window.jupyterapp.commands.hasCommand('vrelab:open-sidebar')",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.restored")
    yield page
    report = request.node.stash.get("reports", {}).get("call")
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"))
        (ARTIFACTS / f"FAILED-{name}.console.log").write_text("\n".join(console))
    context.close()


def save_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path

