"""One set of fit defaults for every front end: the service fills in what a request leaves out,
and the FitPanel shows those same defaults and sends nothing more for a limit than the CLI does."""

from __future__ import annotations

import json
from typing import Any

import pytest

pyhf = pytest.importorskip("pyhf")

from vrelab.fit import FitService  # noqa: E402
from vrelab.fit.inference import FitOptions  # noqa: E402
from vrelab.fit.service import DEFAULT_LEVEL  # noqa: E402
from vrelab.widgets import FitPanel  # noqa: E402


class _NoWorkspaces:
    """The least of a client a FitPanel needs to start: a server with no stored workspace."""

    class fit:  # stands for Client().fit
        @staticmethod
        def workspaces(**_: Any) -> dict[str, Any]:
            return {"workspaces": [], "total": 0}


def _service(tmp_path) -> tuple[FitService, str]:
    root = tmp_path / "root"
    root.mkdir()
    service = FitService(tmp_path / "fit", root, workers=1)
    model = pyhf.simplemodels.uncorrelated_background(signal=[5.0], bkg=[50.0], bkg_uncertainty=[5.0])
    spec = json.loads(json.dumps(pyhf.Workspace.build(model, [52.0])))
    return service, service.add_workspace({"workspace": spec})["id"]


def test_the_service_fills_in_what_a_request_leaves_out(tmp_path):
    service, wid = _service(tmp_path)
    bare = service.validate_job("fit.limit", {"workspace_id": wid})
    spelled_out = service.validate_job(
        "fit.limit",
        {
            "workspace_id": wid,
            "level": DEFAULT_LEVEL,
            "backend": "numpy",
            "test_stat": "qtilde",
            "calctype": "asymptotics",
            "poi_range": None,
        },
    )
    assert bare == spelled_out
    assert bare["level"] == DEFAULT_LEVEL and bare["scan"] is None and bare["poi_range"] is None


def test_the_fit_panel_shows_the_services_defaults_and_sends_no_range_of_its_own(tmp_path):
    panel = FitPanel(_NoWorkspaces())
    assert panel.banner.message == ""
    defaults = FitOptions()
    shown = {
        "poi_value": panel.poi_value.value,
        "test_stat": panel.test_stat.value,
        "calctype": panel.calctype.value,
        "ntoys": panel.ntoys.value,
        "backend": panel.backend.value,
    }
    assert shown == {k: getattr(defaults, k) for k in shown}
    assert panel.level.value == DEFAULT_LEVEL
    panel.set_action("fit.limit")
    sent = panel.params()
    assert "poi_range" not in sent and "scan" not in sent
    service, wid = _service(tmp_path)
    assert service.validate_job("fit.limit", {"workspace_id": wid, **sent}) == service.validate_job(
        "fit.limit", {"workspace_id": wid}
    )
    panel.limit_start.value, panel.limit_stop.value = "0", "3"
    assert panel.params()["poi_range"] == [0.0, 3.0]
    panel.limit_steps.value = 7
    assert panel.params()["scan"] == {"start": 0.0, "stop": 3.0, "steps": 7}
