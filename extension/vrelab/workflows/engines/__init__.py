"""The workflow engines vrelab runs as they are: ``cwltool`` (CWL), ``snakemake`` and ``yadage``.

:func:`prepare` completes and checks a spec of an engine type at submission (its main file read
from the spec's folder, the engine's own validator run on a scratch copy, the steps it will run
filled in), so a bad workflow is a 400 naming the engine's complaint before anything is created;
:func:`runner.run_engine` runs it (the local backend). Each engine lives in its own cached venv
(:mod:`.venv`).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from ...errors import BadRequest, NotFound, SpecError
from ...paths import resolve_inside
from ..spec import ENGINE_TYPES, Step, WorkflowSpec
from .base import Engine

__all__ = ["ENGINE_TYPES", "engine_for", "prepare"]

MAX_FILE_BYTES = 1024 * 1024
_ENGINES: dict[str, Engine] = {}


def engine_for(kind: str) -> Engine:
    if kind not in _ENGINES:
        if kind == "cwl":
            from .cwl import CwlEngine

            _ENGINES[kind] = CwlEngine()
        elif kind == "snakemake":
            from .snakemake import SnakemakeEngine

            _ENGINES[kind] = SnakemakeEngine()
        elif kind == "yadage":
            from .yadage import YadageEngine

            _ENGINES[kind] = YadageEngine()
        else:
            raise BadRequest(f"Unknown workflow engine {kind!r}; known: {', '.join(ENGINE_TYPES)}.")
    return _ENGINES[kind]


def _read_main(spec: WorkflowSpec, base: Path) -> str:
    assert spec.engine is not None
    path = resolve_inside(base, spec.engine.file)
    if not path.is_file():
        raise NotFound(
            f"The {spec.engine.type} workflow file {spec.engine.file!r} (workflow.file) was not found next to "
            "the spec.",
            details={"field": "workflow.file", "path": spec.engine.file},
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadRequest(f"{spec.engine.file!r} is larger than {MAX_FILE_BYTES} bytes.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{spec.engine.file!r} is not a text file.") from None


def prepare(spec: WorkflowSpec, base: Path) -> WorkflowSpec:
    """``spec`` with its main file's text and the engine's steps, after the engine validated it.

    The validator runs in a scratch folder holding the main file and links to the declared
    inputs (taken from ``base``), so it writes nothing into the user's folders."""
    if spec.engine is None:
        return spec
    engine = engine_for(spec.engine.type)
    text = spec.engine.text or _read_main(spec, base)
    main_spec = replace(spec.engine, text=text)
    spec = replace(spec, engine=main_spec)
    with tempfile.TemporaryDirectory(prefix="vrelab-validate-") as tmp:
        folder = Path(tmp)
        for rel in [*spec.input_files, *spec.input_directories]:
            src = resolve_inside(base, rel)
            dst = folder / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.exists() and not dst.exists():
                dst.symlink_to(src)
        main = folder / main_spec.file
        main.parent.mkdir(parents=True, exist_ok=True)
        if main.is_symlink():
            main.unlink()
        main.write_text(text)
        found = engine.validate(folder, spec)
    steps = tuple(Step(s.name, s.image, ()) for s in found)
    return replace(spec, steps=steps)
