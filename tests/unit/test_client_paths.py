"""The client names files of a kernel's working folder as the server does: relative to its root."""

from __future__ import annotations

from vrelab.client.paths import server_path


def test_a_file_of_the_working_folder_becomes_root_relative(tmp_path, monkeypatch):
    root = tmp_path / "home"
    (root / "analysis").mkdir(parents=True)
    (root / "analysis" / "result.root").write_bytes(b"x")
    monkeypatch.setenv("VRELAB_SERVER_ROOT", str(root))
    monkeypatch.chdir(root / "analysis")
    assert server_path("result.root") == "analysis/result.root"
    assert server_path(root / "analysis" / "result.root") == "analysis/result.root"
    # not here: already a root-relative name, passed on as it is
    assert server_path("data/other.root") == "data/other.root"
    # outside the root: passed on, for the server to refuse with its own message
    outside = tmp_path / "elsewhere.root"
    outside.write_bytes(b"y")
    assert server_path(outside) == str(outside)


def test_without_a_known_root_paths_pass_unchanged(tmp_path, monkeypatch):
    monkeypatch.delenv("VRELAB_SERVER_ROOT", raising=False)
    monkeypatch.delenv("VRELAB_ROOT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text("{}")
    assert server_path("a.json") == "a.json"
