"""The sidebar's pure JavaScript helpers (SSE parsing, search patterns, formatting, job records,
fit summaries) under Node's own test runner: labextension/test/*.test.mjs."""

from __future__ import annotations

import json
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
    assert "# fail 0" in proc.stdout and "# pass 8" in proc.stdout


def test_the_sidebar_writes_sizes_as_the_cli_and_widgets_do():
    """labextension/src/format.js's formatBytes and vrelab.units.format_bytes agree (decimal units)."""
    from vrelab.units import format_bytes

    sizes = [0, 1, 999, 1000, 52_600, 999_499, 1_000_000, 5.4e6, 21.3e6, 123_456_789, 512e6, 5e9, 5.4e9, 7.2e12, 3e15]
    node = shutil.which("node")
    assert node, "Node.js is needed to build the labextension"
    script = (
        "import { formatBytes } from './labextension/src/format.js';"
        f"console.log(JSON.stringify({json.dumps(sizes)}.map(formatBytes)));"
    )
    proc = subprocess.run(
        [node, "--input-type=module", "-e", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(proc.stdout) == [format_bytes(n) for n in sizes]
