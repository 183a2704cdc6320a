"""vrelab's own job kinds reach their service directly: a callable bound to the live service."""

from __future__ import annotations

import functools

from vrelab.config import VRELab
from vrelab.services import Services, builtin_job_kinds


def _bound_to(run) -> object:
    if isinstance(run, functools.partial):
        return run.args[0]
    return run.__self__


def test_every_builtin_kind_is_bound_to_its_live_service(tmp_path, monkeypatch):
    monkeypatch.setenv("VRELAB_DATA_DIR", str(tmp_path / "data"))
    root = tmp_path / "root"
    root.mkdir()
    services = Services(VRELab(), root_dir=str(root))
    try:
        kinds = builtin_job_kinds(services.fit, services.workflows, services.lake)
        names = {k.name for k in kinds}
        assert {"fit.mle", "fit.hypotest", "fit.limit", "fit.scan", "workflow.run", "workflow.recast"} <= names
        assert {"lake.download", "lake.upload", "lake.multiply"} <= names
        owners = {"fit": services.fit, "workflow": services.workflows, "lake": services.lake}
        for kind in kinds:
            assert not kind.process and kind.run is not None and not kind.target, kind.name
            assert _bound_to(kind.run) is owners[kind.name.split(".")[0]], kind.name
            assert services.registry.get(kind.name).run is not None
        # nothing about where the service lives is smuggled into a job's parameters
        ws = {
            "channels": [
                {
                    "name": "sr",
                    "samples": [
                        {
                            "name": "sig",
                            "data": [5.0],
                            "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                        },
                        {
                            "name": "bkg",
                            "data": [50.0],
                            "modifiers": [{"name": "u", "type": "shapesys", "data": [5.0]}],
                        },
                    ],
                }
            ],
            "observations": [{"name": "sr", "data": [52.0]}],
            "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
            "version": "1.0.0",
        }
        wid = services.fit.add_workspace({"workspace": ws})["id"]
        params = services.registry.get("fit.hypotest").validate({"workspace_id": wid})
        assert not [k for k in params if k.startswith("_")], params
    finally:
        services.close()
