"""Contract test: the REAL ``reana-client`` (from its own venv) against the REANA test double.

The double validates every request and response against REANA's OpenAPI document; this test makes
sure the double also behaves as the real client expects it to (payloads it parses, file names,
time formats), so that vrelab's own client is tested against something the real one accepts."""

from __future__ import annotations

import pytest

REANA_YAML = """\
version: 0.9.0
inputs:
  files: [data/events.csv]
  parameters: {cut: '2'}
workflow:
  type: serial
  specification:
    steps:
      - name: select
        environment: docker.io/library/python:3.11-slim
        commands:
          - mkdir -p results && awk -F, '$$2 > ${cut}' data/events.csv > results/selected.csv && echo "cut at ${cut}"
outputs:
  files: [results/selected.csv]
"""


@pytest.mark.slow
def test_the_real_reana_client_works_against_the_double(reana_server, reana_cli, tmp_path):
    (tmp_path / "reana.yaml").write_text(REANA_YAML)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "events.csv").write_text("1,5\n2,1\n3,3\n")
    first = reana_cli(
        [
            ["ping"],
            ["create", "-w", "contract", "-f", "reana.yaml"],
            ["upload", "-w", "contract.1"],
            ["start", "-w", "contract.1"],
        ],
        reana_server.url,
        reana_server.token,
        tmp_path,
    )
    for result in first:
        assert result["exit_code"] == 0, result
    ping, created, uploaded, started = (r["output"] for r in first)
    assert "Status: Connected" in ping and "physicist@example.org" in ping
    assert "contract.1" in created
    assert "data/events.csv was successfully uploaded" in uploaded
    assert "contract.1 has been queued" in started
    wf = next(w for w in reana_server.double.workflows.values() if w.name == "contract.1")
    if wf.task is not None:
        import time

        deadline = time.monotonic() + 30
        while not wf.task.done() and time.monotonic() < deadline:
            time.sleep(0.05)
    second = reana_cli(
        [
            ["status", "-w", "contract.1"],
            ["logs", "-w", "contract.1"],
            ["ls", "-w", "contract.1"],
            ["download", "-w", "contract.1", "results/selected.csv", "-o", "fetched"],
        ],
        reana_server.url,
        reana_server.token,
        tmp_path,
    )
    for result in second:
        assert result["exit_code"] == 0, result
    status, logs, listing, downloaded = (r["output"] for r in second)
    assert "finished" in status and "1/1" in status
    assert "Step: select" in logs and "cut at 2" in logs and "docker.io/library/python:3.11-slim" in logs
    assert "results/selected.csv" in listing and "data/events.csv" in listing
    assert "downloaded" in downloaded
    assert (tmp_path / "fetched" / "selected.csv").read_text() == "1,5\n3,3\n"
    assert set(reana_server.double.tokens_seen) == {reana_server.token}
    seen = set(reana_server.double.requests)
    for route in ("GET /api/you", "POST /api/workflows", "GET /api/workflows/contract.1/logs"):
        assert route in seen
