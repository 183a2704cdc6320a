"""The embedded lake's Rucio daemons, in one background loop (server venv only).

    RUCIO_CONFIG=<home>/etc/rucio.cfg python daemon_loop.py --lake-home HOME [--interval 2] [--once]

Every ``--interval`` seconds it runs one pass of each daemon a local lake needs so that rules,
lifetimes and quotas behave as on a real lake:

- judge-evaluator (rules on content attached after the rule), judge-repairer (stuck rules),
- the conveyor: submitter -> poller -> finisher. There is no FTS here: Rucio's built-in ``mock``
  transfertool is used (``[conveyor] transfertool = mock``) with its ``submit`` replaced by one that
  really copies the source file to the destination for ``file://`` RSEs; request, replica and
  lock states all go through Rucio's own code,
- judge-cleaner (expired rules -> tombstones), reaper (deletes tombstoned replicas from disk),
- undertaker (expired DIDs), abacus account/RSE (the usage counters quotas are checked against).

A failing daemon is logged and the loop goes on. SIGTERM/SIGINT end the loop after the current
step. The log goes to stdout (vrelab redirects it to ``<home>/log/daemons.log``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlparse

LOG = logging.getLogger("vrelab.lake.daemons")
_stop = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stop
    _stop = True


def _local_path(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("file", ""):
        raise ValueError(f"not a local file URL: {url}")
    return unquote(parsed.path)


def _copy_transfers(
    self: Any, transfers: Iterable[Any], job_params: dict[str, Any], timeout: Any = None
) -> str:
    """``MockTransfertool.submit`` that really copies file:// sources to file:// destinations.

    Raising makes the submitter mark the requests as failed to submit; Rucio retries them.
    """
    errors: list[str] = []
    for transfer in transfers:
        try:
            src = _local_path(transfer.source_url(transfer.src))
            dst = _local_path(transfer.dest_url)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            tmp = f"{dst}.vrelab-part"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
            LOG.info("copied %s -> %s", src, dst)
        except Exception as exc:  # keep going: report all failures at once
            errors.append(f"{exc}")
    if errors:
        raise OSError("; ".join(errors))
    return str(uuid.uuid1())


def _install_copying_transfertool() -> None:
    from rucio.transfertool.mock import MockTransfertool

    MockTransfertool.submit = _copy_transfers  # type: ignore[method-assign]


def _judge_evaluator() -> None:
    from rucio.daemons.judge import evaluator

    evaluator.run(once=True)


def _judge_repairer() -> None:
    from rucio.daemons.judge import repairer

    repairer.run(once=True)


def _transfers() -> None:
    from rucio.daemons.conveyor.finisher import finisher
    from rucio.daemons.conveyor.poller import poller
    from rucio.daemons.conveyor.submitter import submitter

    # partition_wait_time=0: skip the start-up wait each conveyor daemon does by default
    submitter(once=True, partition_wait_time=0, transfertools=["mock"], filter_transfertool=None)
    poller(once=True, older_than=0, partition_wait_time=0, transfertool="mock", filter_transfertool=None)
    finisher(once=True, partition_wait_time=0)


def _judge_cleaner() -> None:
    from rucio.daemons.judge import cleaner

    cleaner.run(once=True)


def _reaper() -> None:
    from rucio.daemons.reaper import reaper

    reaper.run(once=True)


def _undertaker() -> None:
    from rucio.daemons.undertaker import undertaker

    undertaker.run(once=True)


def _abacus() -> None:
    from rucio.daemons.abacus import account, rse

    account.run(once=True)
    rse.run(once=True)


STEPS: list[tuple[str, Callable[[], None]]] = [
    ("judge-evaluator", _judge_evaluator),
    ("transfers", _transfers),
    ("judge-repairer", _judge_repairer),
    ("judge-cleaner", _judge_cleaner),
    ("undertaker", _undertaker),
    ("reaper", _reaper),
    ("abacus", _abacus),
]


def run_pass(failures: dict[str, int]) -> None:
    for name, step in STEPS:
        if _stop:
            return
        try:
            step()
            if failures.get(name):
                LOG.info("%s works again", name)
            failures[name] = 0
        except Exception as exc:
            failures[name] = failures.get(name, 0) + 1
            # full traceback the first time, one line while it keeps failing
            if failures[name] == 1:
                LOG.error("%s failed:\n%s", name, traceback.format_exc())
            else:
                LOG.error("%s failed again (%d): %s", name, failures[name], exc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake-home", required=True, help="the lake's state dir (identifies the process)")
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--verbose", action="store_true", help="Rucio's own INFO logs too")
    args = parser.parse_args()

    import sqlite_tuning
    from rucio.common.logging import setup_logging

    sqlite_tuning.install()

    setup_logging(process_name="vrelab-lake-daemons")
    logging.getLogger().setLevel(logging.INFO if args.verbose else logging.WARNING)
    LOG.setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    _install_copying_transfertool()
    LOG.info("daemon loop started (pid %d, every %.1f s)", os.getpid(), args.interval)

    failures: dict[str, int] = {}
    while not _stop:
        started = time.monotonic()
        run_pass(failures)
        if args.once:
            break
        pause = args.interval - (time.monotonic() - started)
        while pause > 0 and not _stop:
            time.sleep(min(pause, 0.25))
            pause -= 0.25
    LOG.info("daemon loop stopped")


if __name__ == "__main__":
    main()
