"""The packages each tier promises import in it, the environment is consistent and is what the lock says."""

from __future__ import annotations

import json

from containers.engine import Engine
from containers.locking import normalise, parse_lock
from containers.tiers import TIERS, promised_imports

_IMPORT_ALL = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every failure at once
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failed))
"""

_INSTALLED = """
import importlib.metadata as md, json
print(json.dumps({d.metadata["Name"]: d.version for d in md.distributions()}))
"""


def test_promised_modules_import(engine: Engine, image: str, tier: str) -> None:
    modules = promised_imports(tier)
    assert modules
    out = engine.run(image, "python", "-c", _IMPORT_ALL, *modules, options=["-e", "MPLBACKEND=Agg"])
    assert json.loads(out.strip().splitlines()[-1]) == {}


def test_pip_check(engine: Engine, image: str) -> None:
    assert "No broken requirements" in engine.run(image, "pip", "check")


def test_installed_packages_are_the_lock(engine: Engine, image: str, tier: str) -> None:
    installed = {normalise(k): v for k, v in json.loads(engine.run(image, "python", "-c", _INSTALLED)).items()}
    pins = parse_lock(TIERS[tier].lock)
    wrong = {name: (version, installed.get(name)) for name, version in pins.items() if installed.get(name) != version}
    assert wrong == {}
    assert installed["vrelab"]
