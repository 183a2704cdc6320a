"""The sidebar's pure JavaScript helpers (SSE parsing, search patterns, formatting, job records,
fit summaries) under Node's own test runner: labextension/test/*.test.mjs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from servers import REPO

pytestmark = [pytest.mark.browser]


def test_js_helpers_pass_under_node():
    node = shutil.which("node")
    assert node, "Node.js is needed to build the labextension (./ci/setup installs what the build needs)"
    proc = subprocess.run(
        [node, "--test", "labextension/test/"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 6" in proc.stdout
