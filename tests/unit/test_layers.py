"""The layer table of docs/architecture.md holds: every module's imports are read with ``ast`` (those
inside functions and under ``TYPE_CHECKING`` included) and checked against the layer the module
belongs to. The table below is the doc's, as data; a test checks that both name the same places."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "extension"
PACKAGE = SOURCES / "vrelab"
DOC = REPO / "docs" / "architecture.md"

SERVER_ONLY = ("tornado", "jupyter_server", "ipywidgets")


@dataclass(frozen=True)
class Layer:
    name: str
    where: tuple[str, ...]  # modules and packages, as in the doc's "where" column
    may: tuple[str, ...] = ()  # the other layers of vrelab it may import (its own always)
    never: tuple[str, ...] = ()  # third-party packages it must not import


LAYERS = (
    Layer("errors", ("vrelab/errors.py",)),
    Layer(
        "helpers",
        ("vrelab/paths.py", "vrelab/units.py", "vrelab/times.py", "vrelab/machine.py", "vrelab/_version.py"),
        may=("errors",),
    ),
    Layer(
        "services",
        ("vrelab/jobs/", "vrelab/status.py", "vrelab/metrics.py", "vrelab/lake/", "vrelab/fit/", "vrelab/workflows/"),
        may=("errors", "helpers"),
        never=SERVER_ONLY,
    ),
    Layer("kernel helpers", ("vrelab/lake/notebook.py",), may=("client", "errors", "helpers"), never=SERVER_ONLY),
    Layer("embedded lake", ("vrelab/lakeserver/",), may=("errors", "helpers"), never=SERVER_ONLY),
    Layer("lake server scripts", ("vrelab/lakeserver/serverside/",)),
    Layer(
        "handlers",
        ("vrelab/handlers/", "vrelab/openapi/"),
        may=("services", "errors", "helpers", "extension"),
    ),
    Layer(
        "extension",
        ("vrelab/__init__.py", "vrelab/extension.py", "vrelab/config.py", "vrelab/services.py"),
        may=("services", "handlers", "errors", "helpers"),
    ),
    Layer("client", ("vrelab/client/",), may=("errors", "helpers"), never=("tornado", "ipywidgets")),
    Layer("plots", ("vrelab/plots/",), may=("errors", "helpers"), never=SERVER_ONLY),
    Layer(
        "CLI",
        ("vrelab/cli/", "vrelab/__main__.py"),
        may=("client", "plots", "errors", "helpers", "embedded lake"),
        never=SERVER_ONLY,
    ),
    Layer(
        "widgets",
        ("vrelab/widgets/",),
        may=("client", "plots", "errors", "helpers"),
        never=("tornado", "jupyter_server"),
    ),
)

# imports across layers that the doc names, each with its reason
EXCEPTIONS = {
    # `from vrelab import lake; lake.open(did)`: the package re-exports its kernel helpers, loaded on first use
    ("vrelab.lake", "vrelab.lake.notebook"),
}


def _dotted(where: str) -> str:
    return where.removesuffix("/").removesuffix(".py").removesuffix("/__init__").replace("/", ".")


LAYER_OF_PREFIX = {_dotted(w): layer for layer in LAYERS for w in layer.where}
BY_NAME = {layer.name: layer for layer in LAYERS}


def layer_of(module: str) -> Layer | None:
    """The layer of a vrelab module: the most specific place of the table that holds it."""
    if module == "vrelab":
        return LAYER_OF_PREFIX["vrelab"]
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        layer = LAYER_OF_PREFIX.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return None


def module_name(path: Path, root: Path = SOURCES) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool, known: set[str]) -> set[str]:
    """Every module *source* imports, anywhere in it, relative imports made absolute.

    ``from pkg import name`` counts as ``pkg.name`` when that is a module of *known*, else as ``pkg``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return found


def violations(module: str, imports: Iterable[str]) -> list[str]:
    """What *module* imports against the table, one line each (empty: none)."""
    layer = layer_of(module)
    if layer is None:
        return [f"{module} is in no layer of docs/architecture.md's table"]
    out = []
    for imported in sorted(set(imports)):
        top = imported.split(".")[0]
        if top != "vrelab":
            if top in layer.never:
                out.append(f"{module} ({layer.name}) imports {imported}")
            continue
        if (module, imported) in EXCEPTIONS:
            continue
        target = layer_of(imported)
        if target is None:
            out.append(f"{module} imports {imported}, which is in no layer of the table")
        elif target is not layer and target.name not in layer.may:
            out.append(f"{module} ({layer.name}) imports {imported} ({target.name})")
    return out


def package_modules() -> dict[str, Path]:
    files = [p for p in PACKAGE.rglob("*.py") if "labextension" not in p.relative_to(PACKAGE).parts]
    return {module_name(p): p for p in files}


def test_every_module_keeps_to_its_layer():
    modules = package_modules()
    known = set(modules)
    found = []
    for module, path in sorted(modules.items()):
        imports = imported_modules(path.read_text(), module, is_package=path.name == "__init__.py", known=known)
        found += violations(module, imports)
    assert not found, "imports against the layer table of docs/architecture.md:\n" + "\n".join(found)


def test_the_table_covers_the_package():
    assert "vrelab.fit.service" in package_modules()  # the walk finds the package
    for module in package_modules():
        assert layer_of(module) is not None, module
    for layer in LAYERS:
        assert set(layer.may) <= set(BY_NAME) - {layer.name}, layer


def test_the_doc_table_names_the_same_places():
    text = DOC.read_text()
    section = text.split("## The layers and their rules", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    doc = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        doc[cells[0]] = tuple(re.findall(r"`([^`]+)`", cells[1]))
    assert doc == {layer.name: layer.where for layer in LAYERS}


# the checker itself must be able to fail


def _check(module: str, source: str, *, is_package: bool = False) -> list[str]:
    return violations(module, imported_modules(source, module, is_package=is_package, known=set(package_modules())))


def test_the_checker_flags_a_service_importing_tornado_inside_a_function():
    source = "def handler():\n    from tornado import web\n    return web\n"
    assert _check("vrelab.fit.synthetic", source) == ["vrelab.fit.synthetic (services) imports tornado"]


def test_the_checker_flags_front_ends_importing_services_through_relative_imports():
    assert _check("vrelab.widgets.synthetic", "from ..fit.service import FitService\n") == [
        "vrelab.widgets.synthetic (widgets) imports vrelab.fit.service (services)"
    ]
    assert _check("vrelab.cli.synthetic", "from .. import workflows\n") == [
        "vrelab.cli.synthetic (CLI) imports vrelab.workflows (services)"
    ]
    assert _check("vrelab.client", "import vrelab.handlers.base\n", is_package=True) == [
        "vrelab.client (client) imports vrelab.handlers.base (handlers)"
    ]
    assert _check("vrelab.widgets.synthetic", "from ..lakeserver import LakeServer\n") == [
        "vrelab.widgets.synthetic (widgets) imports vrelab.lakeserver (embedded lake)"
    ]


def test_the_checker_flags_lake_server_scripts_importing_vrelab():
    assert _check("vrelab.lakeserver.serverside.synthetic", "from vrelab.errors import BadRequest\n") == [
        "vrelab.lakeserver.serverside.synthetic (lake server scripts) imports vrelab.errors (errors)"
    ]


def test_the_checker_allows_what_the_table_allows():
    assert _check("vrelab.widgets.synthetic", "from ..client import Client\nfrom ..plots.fit import plots_for\n") == []
    assert _check("vrelab.cli.synthetic", "def up():\n    from ..lakeserver import LakeServer\n") == []
    assert _check("vrelab.fit.synthetic", "from ..jobs import JobKind\nfrom ..errors import NotFound\n") == []
    assert _check("vrelab.newthing", "import os\n") == [
        "vrelab.newthing is in no layer of docs/architecture.md's table"
    ]
