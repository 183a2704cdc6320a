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
LOGIN_INSTANCE = "embedded-login"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


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
    # a second instance on the same lake without an identity: the sidebar's login form logs in there
    first = lake_config["lake_instances"][0]
    no_identity = {k: v for k, v in first.items() if k != "auth"}
    no_identity |= {"name": LOGIN_INSTANCE, "display_name": "Embedded lake (log in)"}
    lake_config = {**lake_config, "lake_instances": [*lake_config["lake_instances"], no_identity]}
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
    failed_requests: list[str] = []  # "STATUS METHOD URL" of every answer >= 400

    def on_console(m) -> None:
        where = (m.location or {}).get("url", "")
        console.append(f"{m.type}: {m.text}" + (f" [{where}]" if where else ""))

    def on_response(r) -> None:
        if r.status >= 400:
            failed_requests.append(f"{r.status} {r.request.method} {r.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.on("response", on_response)
    page.console = console  # type: ignore[attr-defined]
    page.failed_requests = failed_requests  # type: ignore[attr-defined]
    # ?reset: each test starts from the default layout, not what the previous one left open
    page.goto(f"{a_jupyterlab.url}lab?reset&token={a_jupyterlab.token}")
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
        (ARTIFACTS / f"FAILED-{name}.console.log").write_text("\n".join([*console, "", *failed_requests]))
    context.close()


def save_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def open_tab(page, tab: str) -> None:
    """Open the vrelab sidebar from its icon in the left bar, then one of its tabs by its button."""
    icon = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='vrelab-sidebar']")
    if not page.locator("#vrelab-sidebar").is_visible():
        icon.click()
    page.locator("#vrelab-sidebar").wait_for(state="visible", timeout=30_000)
    page.locator(f"#vrelab-{tab}-tab").click()
    page.locator(f"#vrelab-{tab}").wait_for(state="visible", timeout=30_000)


def set_theme(page, theme: str) -> None:
    light = "true" if theme == "light" else "false"
    page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{THEMES[theme]}'}})")
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'", timeout=30_000)
    page.wait_for_timeout(300)  # the theme's CSS variables settle


def screenshots_in_both_themes(page, name: str) -> list[Path]:
    """``<name>-light.png`` and ``<name>-dark.png``; the page is left in the light theme."""
    paths = [save_screenshot(page, f"{name}-light")]
    set_theme(page, "dark")
    paths.append(save_screenshot(page, f"{name}-dark"))
    set_theme(page, "light")
    return paths


def assert_no_console_errors(page, expected_failures: tuple[str, ...] = ()) -> None:
    """No uncaught error and no console error, except the browser's own note of an HTTP error the
    test caused on purpose (``expected_failures``: substrings of "STATUS METHOD URL")."""
    unexpected = [f for f in page.failed_requests if not any(e in f for e in expected_failures)]
    errors = [m for m in page.console if m.startswith(("error", "pageerror"))]
    if not unexpected:  # Chromium logs each failed request as "Failed to load resource"
        errors = [m for m in errors if "Failed to load resource" not in m]
    assert not errors, errors
    assert not unexpected, unexpected


def wait_for_text(page, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until the first element matching ``selector`` exists and its text contains ``text``."""
    page.wait_for_function(
        "([sel, text]) => { const e = document.querySelector(sel); return !!e && e.textContent.includes(text); }",
        arg=[selector, text],
        timeout=timeout,
    )


# ------------------------------------------------------------------ layout checks
SIDEBAR_WIDTHS = {"default": None, "narrow": 200}  # px; None: as JupyterLab opens it (250 px)

# a function of the root element (its leading comment dropped: Playwright calls what starts with "(root) =>")
_LAYOUT_PROBLEMS = "\n".join(
    line
    for line in (Path(__file__).parent / "browser" / "layout_problems.js").read_text().splitlines()
    if not line.startswith("//")
)


def layout_problems(page, selector: str) -> list[str]:
    """What is cramped in the element ``selector``, measured in the page: text or fields that are
    cut, boxes spilling out of it (or making it scroll sideways), text wrapped to 1-2 characters
    a line. Empty when the layout is fine."""
    return page.locator(selector).first.evaluate(_LAYOUT_PROBLEMS)


def layout_problems_in(locator) -> list[str]:
    """``layout_problems`` of one element found by a Playwright locator."""
    return locator.evaluate(_LAYOUT_PROBLEMS)


def set_sidebar_width(page, width: int | None) -> None:
    """Make the left area (the vrelab sidebar) ``width`` px wide; None leaves JupyterLab's default.

    JupyterLab keeps side panels at least ``--jp-sidebar-min-width`` (250 px) wide, the default
    too; a narrower panel is what a user with a smaller minimum (custom CSS, a theme) gets, so the
    minimum is lowered to ``width`` first, as such CSS would."""
    if width is None:
        return
    page.evaluate(
        """(w) => {
          const style = document.createElement('style');
          style.textContent = `:root { --jp-sidebar-min-width: ${w}px; }
            #jp-left-stack, #jp-left-stack > .lm-Widget { min-width: ${w}px !important; }`;
          document.head.append(style);
          const split = window.jupyterapp.shell._hsplitPanel;
          for (const child of split.widgets) {
            child.fit(); // Lumino re-reads the min-width it caches
          }
          split.fit();
          const total = split.node.getBoundingClientRect().width;
          const sizes = split.relativeSizes();
          const left = (w + 1) / total;
          split.setRelativeSizes([left, 1 - left - sizes[2], sizes[2]]);
          split.fit();
          for (const widget of window.jupyterapp.shell.widgets('left')) {
            if (widget.id === 'vrelab-sidebar' && widget.parent) {
              widget.parent.fit(); // the stack lays the sidebar out at its new width
              widget.parent.update();
            }
          }
          window.dispatchEvent(new Event('resize'));
        }""",
        width,
    )
    page.wait_for_function(
        "(w) => Math.abs(document.querySelector('#vrelab-sidebar').getBoundingClientRect().width - w) <= 3",
        arg=width,
        timeout=10_000,
    )
    page.wait_for_timeout(200)  # the tabs lay out at the new width
