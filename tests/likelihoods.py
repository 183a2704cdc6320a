"""Where the shared published ATLAS likelihoods are, for the tests that fit them.

They are part of the test environment (``../shared/likelihoods`` beside the repository, or
``VRELAB_LIKELIHOODS``): a test that needs them fails, loudly, when they are missing, rather than
being skipped and leaving a green run that tested nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", REPO.parent / "shared" / "likelihoods"))

#: Mark a test (or a module with ``pytestmark``) as needing the shared likelihoods.
needs_likelihoods = pytest.mark.usefixtures("shared_likelihoods")


def require_likelihoods(name: str | None = None) -> Path:
    """The likelihoods folder (or one likelihood's); fails the calling test when it is missing."""
    path = LIKELIHOODS / name if name else LIKELIHOODS
    if not path.is_dir():
        pytest.fail(
            f"{path} is missing: this test fits the shared ATLAS likelihoods "
            "(../shared/likelihoods beside the repository, or set VRELAB_LIKELIHOODS).",
            pytrace=False,
        )
    return path
