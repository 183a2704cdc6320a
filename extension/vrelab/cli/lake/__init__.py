"""``vrelab lake``: the embedded data lake on this machine, and browsing and acting on a data lake.

* :mod:`.server`: ``up``, ``down``, ``status``, ``reset``, ``seed``, ``token`` (the embedded lake);
* :mod:`.browse`: ``instances``, ``login``, ``logout``, ``whoami``, ``search``, ``show``, ``rses``,
  ``rules`` (through the vrelab server's REST API);
* :mod:`.transfers`: ``download``, ``upload``, ``multiply`` (jobs of the vrelab server).

Each module lists its commands in ``COMMANDS``; the group below adds them, so importing a module
never changes the group.
"""

from __future__ import annotations

import click

from . import browse, server, transfers

__all__ = ["lake"]


@click.group()
def lake() -> None:
    """The data lake: run the embedded Rucio lake, browse and act on a lake."""


for _command in (*server.COMMANDS, *browse.COMMANDS, *transfers.COMMANDS):
    lake.add_command(_command)
