"""RECAST's building blocks: yields read from JSON and ROOT, and the JSON patch of the likelihood."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vrelab.workflows.examples import example_path
from vrelab.workflows.recast import RecastError, build_patch, read_yields

BACKGROUND = json.loads((example_path("recast") / "background.json").read_text())


def test_a_missing_signal_sample_is_added_scaled_by_the_poi_with_its_stat_errors():
    ops = build_patch(BACKGROUND, {"SR_yy": ([0, 1, 5, 1, 0], [0, 0.5, 1, 0.5, 0])}, "signal")
    assert ops == [
        {
            "op": "add",
            "path": "/channels/0/samples/-",
            "value": {
                "name": "signal",
                "data": [0, 1, 5, 1, 0],
                "modifiers": [
                    {"name": "mu_sig", "type": "normfactor", "data": None},
                    {"name": "staterror_SR_yy", "type": "staterror", "data": [0, 0.5, 1, 0.5, 0]},
                ],
            },
        }
    ]


def test_an_existing_sample_has_its_yields_replaced():
    ops = build_patch(BACKGROUND, {"bkg": ([1.0] * 5, None)}, "yy_continuum", channels={"bkg": "SR_yy"})
    assert ops == [{"op": "replace", "path": "/channels/0/samples/0/data", "value": [1.0] * 5}]


@pytest.mark.parametrize(
    ("yields", "channels", "message"),
    [
        ({"SR_yy": ([1.0, 2.0], None)}, None, "Channel 'SR_yy' has 5 bins but the yields for it have 2"),
        ({"CR": ([1.0] * 5, None)}, None, "no channel 'CR'"),
        ({"SR_yy": ([1.0] * 5, None)}, {"other": "SR_yy"}, "no entry 'other'"),
    ],
)
def test_yields_that_do_not_fit_the_workspace_are_refused(yields, channels, message):
    with pytest.raises(RecastError, match=message):
        build_patch(BACKGROUND, yields, "signal", channels=channels)


def test_yields_are_read_from_json_in_both_shapes(tmp_path):
    path = tmp_path / "y.json"
    path.write_text(json.dumps({"A": [1, 2], "B": {"data": [3, 4], "errors": [0.1, 0.2]}}))
    assert read_yields(path) == {"A": ([1.0, 2.0], None), "B": ([3.0, 4.0], [0.1, 0.2])}
    path.write_text(json.dumps({"A": {"data": [1, 2], "errors": [1]}}))
    with pytest.raises(RecastError, match="as many non-negative numbers"):
        read_yields(path)
    path.write_text("{nope")
    with pytest.raises(RecastError, match="not valid JSON"):
        read_yields(path)


def test_yields_are_read_from_root_histograms(tmp_path):
    uproot = pytest.importorskip("uproot")
    path = tmp_path / "y.root"
    with uproot.recreate(path) as f:
        f["SR_yy"] = (np.array([0.0, 2.0, 24.5, 1.5, 0.0]), np.array([110.0, 117.5, 122.5, 127.5, 132.5, 140.0]))
    values, errors = read_yields(path)["SR_yy"]
    assert values == [0.0, 2.0, 24.5, 1.5, 0.0]
    assert errors is not None and len(errors) == 5
