"""The plots' ATLAS-like mplhep style, applied when a figure is made *and* when it is drawn.

matplotlib reads most style settings when an artist is made, but the mathtext fonts
(``mathtext.rm``, ``.it``, ``.cal``...) when the text is drawn. A figure made inside
``rc_context(mplhep.style.ATLAS)`` and shown later (a notebook's ``display``, a widget's PNG,
``savefig`` after the context) was therefore drawn with matplotlib's defaults: its math in
DejaVu Sans instead of TeX Gyre Heros, and ``mathtext.cal = cursive`` looked up among fonts
that no machine here has, which logged ``findfont: Font family ['cursive'] not found`` above
every plot. :class:`StyledFigure` draws inside the same style it was made in, so neither happens.

For figures vrelab does not make (an ``ax`` of the caller's own figure), a filter on
``matplotlib.font_manager`` drops exactly that one warning — the lookup of the generic
``cursive`` family, which no vrelab plot uses — and nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

__all__ = ["StyledFigure", "quiet_cursive_lookup", "style"]

_STYLE_LOCK = threading.RLock()


@contextmanager
def style() -> Iterator[None]:
    """The ATLAS-like mplhep style (TeX Gyre Heros, inward ticks on all sides) for what is drawn inside.

    matplotlib's rcParams are global: the lock keeps two plots drawn in different threads (a
    widget draws in its job-following thread) from restoring each other's settings.
    """
    import mplhep

    with _STYLE_LOCK, rc_context(mplhep.style.ATLAS):
        yield


class StyledFigure(Figure):
    """A Figure that draws (and measures its text) in :func:`style`, wherever it is drawn."""

    def draw(self, renderer: Any) -> None:
        with style():
            super().draw(renderer)

    def get_tightbbox(self, *args: Any, **kwargs: Any) -> Any:
        with style():
            return super().get_tightbbox(*args, **kwargs)


class _CursiveLookup(logging.Filter):
    """Drops font_manager's two warnings about the generic 'cursive' family (mathtext's \\mathcal)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("findfont:") and "'cursive'" in message)


_FILTER = _CursiveLookup()


def quiet_cursive_lookup() -> None:
    """Install the filter on matplotlib's font-manager logger (idempotent)."""
    logger = logging.getLogger("matplotlib.font_manager")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


quiet_cursive_lookup()
