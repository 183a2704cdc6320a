"""Path confinement and configuration from the environment."""

from __future__ import annotations

import os

import pytest

from vrelab.config import VRELab
from vrelab.errors import BadRequest, Forbidden, NotFound
from vrelab.paths import relative_to_root, resolve_inside


def test_resolve_inside_accepts_paths_in_the_root(tmp_path):
    (tmp_path / "data").mkdir()
    assert resolve_inside(tmp_path, "data/x.root") == tmp_path / "data" / "x.root"
    assert resolve_inside(tmp_path, "") == tmp_path
    assert resolve_inside(tmp_path, "data/../data/y") == tmp_path / "data" / "y"
    assert relative_to_root(tmp_path, tmp_path / "data" / "y") == "data/y"


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside", "data/../../outside", "./../x"])
def test_resolve_inside_refuses_escapes(tmp_path, bad):
    with pytest.raises(Forbidden):
        resolve_inside(tmp_path / "root", bad)


def test_resolve_inside_refuses_symlinks_out(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", root / "link")
    with pytest.raises(Forbidden):
        resolve_inside(root, "link/file")


def test_resolve_inside_bad_input(tmp_path):
    with pytest.raises(BadRequest):
        resolve_inside(tmp_path, "a\x00b")
    with pytest.raises(BadRequest):
        resolve_inside(tmp_path, 3)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        resolve_inside(tmp_path, "missing", must_exist=True)


def test_config_defaults_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VRELAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VRELAB_JOB_WORKERS", "7")
    monkeypatch.setenv("VRELAB_LAKE_INSTANCES", '[{"name": "escape", "rucio_host": "https://x"}]')
    monkeypatch.setenv("VRELAB_EXTRA_JOB_KINDS", '{"k": "m:f@process"}')
    c = VRELab()
    assert c.data_dir == str(tmp_path)
    assert c.job_workers == 7
    assert c.lake_instances[0]["name"] == "escape"
    assert c.extra_job_kinds == {"k": "m:f@process"}
    # an explicit value wins over the environment
    assert VRELab(job_workers=3).job_workers == 3


def test_config_refuses_bad_values(monkeypatch):
    monkeypatch.setenv("VRELAB_LAKE_INSTANCES", "[not json")
    with pytest.raises(ValueError, match="VRELAB_LAKE_INSTANCES is not valid JSON"):
        VRELab().lake_instances  # noqa: B018
    monkeypatch.delenv("VRELAB_LAKE_INSTANCES")
    with pytest.raises(ValueError, match="at least 1"):
        VRELab(job_workers=0)


def test_every_option_has_help():
    for name, trait in VRELab.class_traits(config=True).items():
        assert trait.help and len(trait.help) > 20, name
