import pytest

from vrelab.units import format_bytes


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (21_300_000, "21.3 MB"),
        (5 * 1024**3, "5.4 GB"),
        (3.2e15, "3.2 PB"),
        (7e18, "7000.0 PB"),
        (None, "-"),
        ("n/a", "-"),
    ],
)
def test_sizes_are_decimal_and_unknown_sizes_are_marked(n, text):
    assert format_bytes(n) == text


def test_the_missing_mark_can_be_chosen():
    assert format_bytes(None, missing="unknown") == "unknown"
