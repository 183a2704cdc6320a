"""Asymptotic CLs from the test statistic's two values (observed data and Asimov data).

With ``q`` the test statistic on the data and ``q_A`` on the background-only Asimov data set,
the formulae of Cowan, Cranmer, Gross and Vitells (Eur. Phys. J. C 71 (2011) 1554): for
``qtilde`` the statistic is ``sqrt(q) - sqrt(q_A)`` when ``q <= q_A`` and
``(q - q_A) / (2 sqrt(q_A))`` above; for ``q`` always ``sqrt(q) - sqrt(q_A)``. Then
CLs+b = Phi(-(t + sqrt(q_A))), CLb = Phi(-t), and the expected band takes t = n for
n = 2, 1, 0, -1, -2 (so CLs_exp runs from the -2 sigma to the +2 sigma value).
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["CLs", "cls_values"]

SIGMAS = (2.0, 1.0, 0.0, -1.0, -2.0)


class CLs(NamedTuple):
    cls_obs: float
    clsb: float
    clb: float
    cls_exp: list[float]


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def cls_values(q: float, q_asimov: float, test_stat: str = "qtilde") -> CLs:
    """CLs observed, CLs+b, CLb and the expected CLs band from q and q_A (both >= 0)."""
    q = max(float(q), 0.0)
    qa = max(float(q_asimov), 0.0)
    sq, sqa = math.sqrt(q), math.sqrt(qa)
    if test_stat == "qtilde" and sq > sqa:
        t = (q - qa) / (2.0 * sqa) if sqa > 0 else math.inf
    else:
        t = sq - sqa
    clsb = _phi(-(t + sqa))
    clb = _phi(-t)
    cls = clsb / clb if clb > 0 else math.nan
    expected = []
    for n in SIGMAS:
        b = _phi(-n)
        expected.append(_phi(-(n + sqa)) / b)
    return CLs(cls, clsb, clb, expected)
