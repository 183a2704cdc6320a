"""Venus's DevOps tools work (on Venus and every tier above)."""

from __future__ import annotations

from containers.engine import Engine

_SCRIPT = r"""
set -e
cd "$(mktemp -d)"
git init -q -b main . && git config user.email t@example.org && git config user.name t
printf 'x = 1\n' > a.py && git add a.py && git commit -qm first && git log --oneline | wc -l
printf 'all:\n\t@echo made\n' > Makefile && make
ruff check --no-cache a.py >/dev/null && echo ruff-clean
echo '{"tier": "venus"}' | jq -r .tier
pre-commit --version >/dev/null && echo pre-commit
"""


def test_devops_tools_work(engine: Engine, image: str) -> None:
    assert engine.run(image, "bash", "-c", _SCRIPT).split() == ["1", "made", "ruff-clean", "venus", "pre-commit"]
