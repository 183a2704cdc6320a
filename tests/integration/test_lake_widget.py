"""DataLakeBrowser driven through its callbacks, in the test process, against a real vrelab server
process and the real embedded Rucio lake (no kernel: the widget's state is asserted directly)."""

from __future__ import annotations

import json
import os

import pytest

from lake_fixtures import EmbeddedLake
from servers import JupyterServerProcess
from vrelab.client import Client
from vrelab.widgets import DataLakeBrowser

pytestmark = pytest.mark.lake


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedded_lake: EmbeddedLake):
    lake = json.loads(embedded_lake.jupyter_config.read_text())["VRELab"]
    (instance,) = lake["lake_instances"]
    bare = {k: v for k, v in instance.items() if k != "auth"} | {"name": "other", "display_name": "Same lake"}
    proc = JupyterServerProcess(
        tmp_path_factory.mktemp("lake-widget"),
        vrelab_config={"lake_instances": [instance, bare], "default_lake_instance": "embedded"},
    )
    yield proc.start()
    proc.stop()


@pytest.fixture
def browser(server: JupyterServerProcess):
    with Client(server.url, server.token, timeout=60) as client:
        yield DataLakeBrowser(client, page_size=2)


def test_search_paging_details_and_errors(browser):
    assert browser.instance.value == "embedded" and "logged in as" in browser.identity.value
    assert browser.login_box.layout.display == "none" and "NAPOLI-DISK" in browser.rse.options
    browser.pattern.value, browser.did_type.value = "ATLAS_OD_EDU:*", "dataset"
    page = browser.search()
    assert page is not None and len(browser.results.options) == 2 and not browser.next_button.disabled
    assert browser.prev_button.disabled and browser.page_label.value.startswith("1–2")
    second = browser.next_page()
    assert second is not None and browser.offset == 2 and not browser.prev_button.disabled
    assert {o[1] for o in browser.results.options}.isdisjoint({r["did"] for r in page["items"]})
    browser.prev_page()
    assert browser.offset == 0
    # selecting a result fills the details pane
    browser.pattern.value = "ATLAS_OD_EDU:GamGam.*"
    browser.search()
    browser.results.value = "ATLAS_OD_EDU:GamGam.data"
    html = browser.details.value
    assert "Replicas per RSE" in html and "LAPP-DISK" in html and "data_A.GamGam.root" in html
    assert not browser.download_button.disabled and browser.error.message == ""
    # bad input and unknown DIDs: a banner, no exception
    browser.pattern.value = "no colon here"
    assert browser.search() is None and "scope:name" in browser.error.message
    assert browser.select("ATLAS_OD_EDU:does-not-exist") is None and "not found" in browser.error.message
    browser.pattern.value = "ATLAS_OD_EDU:GamGam*"
    browser.search()
    assert browser.error.message == "" and browser.error.layout.display == "none"


def test_download_make_available_and_upload_with_progress(browser, server, lake_sandbox):
    (path,) = [lake_sandbox.make_file(size=30_000)]
    lake_sandbox.upload(path)
    browser.select(lake_sandbox.did)
    browser.dest.value = "widget-dl"
    bar = browser.download()
    assert bar is not None and bar in browser.progress.children
    final = bar.wait(120)
    assert final is not None and final["state"] == "succeeded", final
    assert bar.bar.value == 1.0 and bar.bar.bar_style == "success"
    assert (server.root / "widget-dl" / path.name).read_bytes() == path.read_bytes()
    assert "1 file(s) downloaded" in browser.info.message
    # make available on NAPOLI-DISK, twice: the second is a clear conflict
    browser.rse.value, browser.lifetime_days.value = "NAPOLI-DISK", 1
    rule = browser.make_available()
    assert rule is not None and rule["rse_expression"] == "NAPOLI-DISK" and rule["expires_at"]
    assert "NAPOLI-DISK" in browser.details.value and rule["id"] in browser.details.value
    assert browser.make_available() is None and "already have this rule" in browser.error.message
    # upload two files of the home into a dataset with a lifetime
    (server.root / "w-up").mkdir(exist_ok=True)
    names = []
    for i in range(2):
        (server.root / "w-up" / f"w{i}_{lake_sandbox.scope}.root").write_bytes(os.urandom(1000 + i))
        names.append(f"w-up/w{i}_{lake_sandbox.scope}.root")
    browser.upload_files.value = ", ".join(names)
    browser.upload_scope.value = lake_sandbox.scope
    browser.upload_rse.value = "LAPP-SCRATCHDISK"
    browser.upload_dataset.value = "widget_ds"
    browser.upload_lifetime.value = 3600
    up = browser.upload()
    assert up is not None
    final = up.wait(120)
    assert final is not None and final["state"] == "succeeded", final
    assert [f["ok"] for f in final["result"]["files"]] == [True, True]
    # no files given: a banner, no job
    browser.upload_files.value = ""
    assert browser.upload() is None and "Give the files" in browser.error.message


def test_login_on_an_instance_without_identity(browser, embedded_lake):
    browser.instance.value = "other"
    assert "not logged in" in browser.identity.value and browser.login_box.layout.display is None
    browser.account.value, browser.password.value = embedded_lake.user, "wrong-password-1"
    assert browser.login() is None and "did not accept your credentials" in browser.error.message
    browser.password.value = embedded_lake.password(embedded_lake.user)
    assert browser.login() is not None and browser.password.value == ""
    assert "logged in as" in browser.identity.value and browser.login_box.layout.display == "none"
    browser.client.lake.logout(instance="other")
