"""Workflow specifications: REANA's ``reana.yaml`` (serial) and vrelab's DAG form, as one model.

REANA form::

    version: 0.9.0
    inputs:
      files: [code/fit.py]
      parameters: {nevents: 1000}
    workflow:
      type: serial
      specification:
        steps:
          - name: gen                       # optional (step1, step2, ... by default)
            environment: python:3.11-slim   # the image
            commands: ['python code/gen.py --n "${nevents}"']
    outputs:
      files: [results/hist.json]

DAG form (steps run in parallel where ``needs`` allows)::

    name: toy
    inputs: {files: [...], parameters: {...}}
    steps:
      - name: a
        image: python:3.11-slim
        command: python a.py          # or commands: [...]
        needs: []                     # names of steps that must finish first
        inputs: [data.root]           # declared files it reads / writes (relative paths)
        outputs: [a.json]
        resources: {cpus: 1, memory: 2Gi, timeout: 600}
    outputs: {files: [...], directories: [...]}

Parameters reach commands as environment variables: write ``"${name}"`` in a command. A value is
never pasted into the command text, so a value such as ``x; rm -rf ~`` stays a plain string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from ..errors import BadRequest, SpecError

__all__ = ["Resources", "Step", "WorkflowSpec", "parse_spec", "spec_from_text"]

STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Names a parameter may not take: they would change how the step's shell or programs behave.
RESERVED_PARAMS = frozenset(
    {"PATH", "HOME", "IFS", "PS4", "ENV", "BASH_ENV", "SHELL", "PWD", "OLDPWD", "USER", "LOGNAME",
     "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "TMPDIR", "CDPATH",
     "SHELLOPTS", "BASHOPTS", "GLOBIGNORE", "PROMPT_COMMAND"}
)  # fmt: skip
RESERVED_PREFIXES = ("VRELAB_", "BASH_FUNC_", "DYLD_")
MAX_STEPS = 500
SUPPORTED_REANA_TYPES = ("serial", "cwl", "snakemake", "yadage")
# Workflow types run by their own engine (cwltool, snakemake, yadage), not by vrelab's scheduler.
ENGINE_TYPES = ("cwl", "snakemake", "yadage")
ENGINE_DEFAULT_FILES = {"cwl": "workflow.cwl", "snakemake": "Snakefile", "yadage": "workflow.yml"}
_SNAKEFILE = re.compile(r"^(rule|checkpoint)\s+\w+\s*:|^configfile\s*:|^rule\s*:", re.MULTILINE)


class _LineDict(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line it started on."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = _LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def _at(node: Any) -> str:
    line = getattr(node, "line", None)
    return f" (line {line})" if line else ""


@dataclass(frozen=True)
class Resources:
    """What a step asks for: CPU slots (counted against the concurrency limit), memory (passed to
    engines that enforce it, e.g. ``2Gi``), and a wall-time limit in seconds after which it is stopped."""

    cpus: int = 1
    memory: str | None = None
    timeout: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "memory": self.memory, "timeout": self.timeout}


@dataclass(frozen=True)
class Step:
    name: str
    image: str
    commands: tuple[str, ...]
    needs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    resources: Resources = field(default_factory=Resources)

    @property
    def command(self) -> str:
        """The commands as shown to users (one per line)."""
        return "\n".join(self.commands)

    @property
    def script(self) -> str:
        """The shell script that runs the commands in order and stops at the first failure."""
        return "set -e\n" + "\n".join(self.commands) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": self.image,
            "commands": list(self.commands),
            "needs": list(self.needs),
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "resources": self.resources.to_dict(),
        }


@dataclass(frozen=True)
class EngineSpec:
    """A workflow run by its own engine: the type, its main file (relative to the workspace) and that
    file's text; ``input`` is the file of engine inputs REANA names ``inputs.parameters.input`` (a CWL
    job file, a Snakemake config file), or empty."""

    type: str
    file: str
    text: str = ""
    input: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "file": self.file, "text": self.text, "input": self.input}


@dataclass(frozen=True)
class WorkflowSpec:
    """A validated workflow: steps in a topological order, inputs, parameters and outputs."""

    name: str
    form: str  # "serial" (REANA) or "dag"
    steps: tuple[Step, ...]
    parameters: dict[str, str] = field(default_factory=dict)
    input_files: tuple[str, ...] = ()
    input_directories: tuple[str, ...] = ()
    output_files: tuple[str, ...] = ()
    output_directories: tuple[str, ...] = ()
    version: str = ""
    engine: EngineSpec | None = None

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def declared_outputs(self) -> set[str]:
        found = set(self.output_files) | {d.rstrip("/") + "/" for d in self.output_directories}
        for s in self.steps:
            found.update(s.outputs)
        return found

    def with_parameters(self, values: Mapping[str, Any] | None) -> WorkflowSpec:
        """A copy with some parameters given new values; unknown names are refused."""
        if not values:
            return self
        if not isinstance(values, Mapping):
            raise BadRequest("'parameters' must be an object {name: value}.")
        unknown = sorted(set(values) - set(self.parameters))
        if unknown and self.engine is not None and not self.parameters:
            unknown = []  # a CWL file, Snakefile or Yadage spec as it is: its engine knows its inputs
        if unknown:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise SpecError(
                f"The workflow has no parameter(s) {', '.join(map(repr, unknown))}; its parameters: {known}.",
                details={"unknown": unknown},
            )
        merged = dict(self.parameters)
        for k, v in values.items():
            if k not in self.parameters:
                _parameters({k: v})  # the name must be usable as a variable
            merged[k] = _param_value(v, k)
        return replace(self, parameters=merged)

    def to_dict(self) -> dict[str, Any]:
        data = self._to_dict()
        if self.engine is not None:
            data["engine"] = self.engine.to_dict()
        return data

    def _to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "form": self.form,
            "version": self.version,
            "inputs": {
                "files": list(self.input_files),
                "directories": list(self.input_directories),
                "parameters": dict(self.parameters),
            },
            "steps": [s.to_dict() for s in self.steps],
            "outputs": {"files": list(self.output_files), "directories": list(self.output_directories)},
        }

    def to_reana(self) -> dict[str, Any]:
        """This workflow as a ``reana.yaml`` document (serial: steps in topological order; an engine's
        workflow keeps its type, file and parsed specification)."""
        if self.engine is not None:
            return self._engine_reana(self.engine)
        return {
            "version": self.version or "0.9.0",
            "inputs": {
                "files": list(self.input_files),
                "directories": list(self.input_directories),
                "parameters": dict(self.parameters),
            },
            "workflow": {
                "type": "serial",
                "specification": {
                    "steps": [
                        {"name": s.name, "environment": s.image, "commands": list(s.commands)} for s in self.steps
                    ]
                },
            },
            "outputs": {"files": list(self.output_files), "directories": list(self.output_directories)},
        }

    def _engine_reana(self, engine: EngineSpec) -> dict[str, Any]:
        parameters: dict[str, Any] = dict(self.parameters)
        if engine.input:
            parameters["input"] = engine.input
        workflow: dict[str, Any] = {"type": engine.type, "file": engine.file}
        if engine.type != "snakemake":
            try:
                document = yaml.safe_load(engine.text) if engine.text else None
            except yaml.YAMLError:
                document = None
            if document is not None:
                workflow["specification"] = document
        return {
            "version": self.version or "0.9.0",
            "inputs": {
                "files": sorted({*self.input_files, engine.file}),
                "directories": list(self.input_directories),
                "parameters": parameters,
            },
            "workflow": workflow,
            "outputs": {"files": list(self.output_files), "directories": list(self.output_directories)},
        }


# ---------------------------------------------------------------------------------------- parsing
def looks_like_snakefile(text: str, filename: str = "") -> bool:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base in ("Snakefile", "snakefile") or base.endswith(".smk") or bool(_SNAKEFILE.search(text))


def spec_from_text(text: str, source: str = "The workflow", filename: str = "") -> WorkflowSpec:
    """Parse YAML (or JSON) text — or a Snakefile; syntax errors say the line and column.

    ``filename`` (the file's path relative to its folder) names the main file of a plain CWL,
    Snakemake or Yadage workflow submitted directly."""
    if not isinstance(text, str):
        raise SpecError("The workflow specification must be YAML text.")
    if not text.strip():
        raise SpecError(f"{source} is empty.")
    if looks_like_snakefile(text, filename):
        return _plain_engine_spec("snakemake", text, filename)
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise SpecError(
            f"{source} is not valid YAML{where}: {problem}.",
            details={"line": mark.line + 1 if mark else None, "column": mark.column + 1 if mark else None},
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is not valid YAML: {exc}.") from None
    except RecursionError:  # the YAML reader loops on some control characters (e.g. U+0085)
        raise SpecError(f"{source} is not valid YAML: it holds characters YAML cannot read.") from None
    if isinstance(data, Mapping) and "cwlVersion" in data:
        return _plain_engine_spec("cwl", text, filename)
    if isinstance(data, Mapping) and "stages" in data and "steps" not in data and "workflow" not in data:
        return _plain_engine_spec("yadage", text, filename)
    return parse_spec(data, source)


def _plain_engine_spec(kind: str, text: str, filename: str) -> WorkflowSpec:
    """A CWL file, a Snakefile or a Yadage spec submitted as it is (its steps come from its engine)."""
    file = _paths([filename], "path")[0] if filename else ENGINE_DEFAULT_FILES[kind]
    stem = file.rsplit("/", 1)[-1].split(".")[0] or kind
    return WorkflowSpec(name=stem, form=kind, steps=(), engine=EngineSpec(kind, file, text))


def _engine_spec(data: Mapping[str, Any], workflow: Mapping[str, Any], kind: str) -> WorkflowSpec:
    """A ``reana.yaml`` of type cwl, snakemake or yadage: ``workflow.file`` (read by the service from
    the spec's folder) or, for CWL and Yadage, an inline ``workflow.specification``."""
    file = workflow.get("file")
    inline = workflow.get("specification")
    text = ""
    if file is None and inline is None:
        raise SpecError(
            f"A {kind} workflow needs 'workflow.file' (its {ENGINE_DEFAULT_FILES[kind]}){_at(workflow)}.",
            details={"field": "workflow.file"},
        )
    if file is not None and (not isinstance(file, str) or not file.strip()):
        raise SpecError(f"'workflow.file'{_at(workflow)} must be a relative path.", details={"field": "workflow.file"})
    if inline is not None and file is None:
        if kind == "snakemake" or not isinstance(inline, Mapping):
            raise SpecError(
                f"'workflow.specification'{_at(workflow)} of a {kind} workflow must be its document as a mapping "
                "(or give 'workflow.file').",
                details={"field": "workflow.specification"},
            )
        text = yaml.safe_dump(_plain(inline), sort_keys=False)
    main = _paths([file or ENGINE_DEFAULT_FILES[kind]], "workflow.file")[0]
    inputs = _mapping(data.get("inputs"), "inputs")
    outputs = _mapping(data.get("outputs"), "outputs")
    raw_params = dict(_mapping(inputs.get("parameters"), "inputs.parameters"))
    engine_input = ""
    if kind in ("cwl", "snakemake") and isinstance(raw_params.get("input"), str):
        engine_input = _paths([raw_params.pop("input")], "inputs.parameters.input")[0]
    files = _paths(inputs.get("files"), "inputs.files")
    if engine_input and engine_input not in files:
        files = (*files, engine_input)
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise SpecError("'name' must be a text of at most 200 characters.")
    version = data.get("version", "")
    return WorkflowSpec(
        name=name or "workflow",
        form=kind,
        steps=(),
        parameters=_parameters(raw_params),
        input_files=files,
        input_directories=_paths(inputs.get("directories"), "inputs.directories"),
        output_files=_paths(outputs.get("files"), "outputs.files"),
        output_directories=_paths(outputs.get("directories"), "outputs.directories"),
        version=str(version) if version is not None else "",
        engine=EngineSpec(kind, main, text, engine_input),
    )


def _plain(value: Any) -> Any:
    """Plain dicts and lists (YAML dumps the line-remembering mappings as plain mappings)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _stored_engine_spec(data: Mapping[str, Any]) -> WorkflowSpec:
    """A spec of an engine type from its normalised form (``to_dict``); its steps are the engine's."""
    raw = data["engine"]
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind not in ENGINE_TYPES or not isinstance(raw.get("file"), str) or not isinstance(raw.get("text", ""), str):
        raise SpecError("'engine' must be {type: cwl|snakemake|yadage, file, text}.", details={"field": "engine"})
    inputs = _mapping(data.get("inputs"), "inputs")
    outputs = _mapping(data.get("outputs"), "outputs")
    steps = []
    for raw_step in data.get("steps") or []:
        if isinstance(raw_step, Mapping) and isinstance(raw_step.get("name"), str):
            steps.append(Step(raw_step["name"], str(raw_step.get("image") or ""), ()))
    return WorkflowSpec(
        name=str(data.get("name") or "workflow"),
        form=kind,
        steps=tuple(steps),
        parameters=_parameters(inputs.get("parameters")),
        input_files=_paths(inputs.get("files"), "inputs.files"),
        input_directories=_paths(inputs.get("directories"), "inputs.directories"),
        output_files=_paths(outputs.get("files"), "outputs.files"),
        output_directories=_paths(outputs.get("directories"), "outputs.directories"),
        version=str(data.get("version") or ""),
        engine=EngineSpec(
            kind, _paths([raw["file"]], "engine.file")[0], str(raw.get("text") or ""), str(raw.get("input") or "")
        ),
    )


def parse_spec(data: Any, source: str = "The workflow") -> WorkflowSpec:
    """Validate a parsed document (REANA serial or DAG form) into a :class:`WorkflowSpec`."""
    if isinstance(data, str):
        return spec_from_text(data, source)
    if not isinstance(data, Mapping):
        raise SpecError(f"{source} must be a mapping with 'workflow' (REANA form) or 'steps' (DAG form).")
    workflow = data.get("workflow")
    if data.get("engine") is not None:
        return _stored_engine_spec(data)
    if "cwlVersion" in data:
        return _plain_engine_spec("cwl", yaml.safe_dump(_plain(dict(data)), sort_keys=False), "")
    if "stages" in data and "steps" not in data and workflow is None:
        return _plain_engine_spec("yadage", yaml.safe_dump(_plain(dict(data)), sort_keys=False), "")
    if "steps" in data and workflow is None:
        form, raw_steps = "dag", data.get("steps")
    elif isinstance(workflow, Mapping):
        kind = workflow.get("type")
        spec = workflow.get("specification")
        if kind in ENGINE_TYPES:
            return _engine_spec(data, workflow, str(kind))
        if kind not in ("serial", "dag"):
            raise SpecError(
                f"Workflow type {kind!r}{_at(workflow)} is not supported: use 'serial', 'cwl', 'snakemake' or "
                "'yadage' (REANA), or the DAG form (a top-level 'steps' list).",
                details={"type": kind},
            )
        if not isinstance(spec, Mapping) or "steps" not in spec:
            raise SpecError(f"'workflow.specification' must hold a 'steps' list{_at(workflow)}.")
        form, raw_steps = str(kind), spec.get("steps")
    else:
        raise SpecError(
            f"{source} has neither 'workflow' (REANA form: workflow.type serial) nor 'steps' (DAG form){_at(data)}."
        )
    inputs = _mapping(data.get("inputs"), "inputs")
    outputs = _mapping(data.get("outputs"), "outputs")
    parameters = _parameters(inputs.get("parameters"))
    steps = _steps(raw_steps, form)
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise SpecError("'name' must be a text of at most 200 characters.")
    version = data.get("version", "")
    spec = WorkflowSpec(
        name=name or "workflow",
        form="serial" if form == "serial" else "dag",
        steps=steps,
        parameters=parameters,
        input_files=_paths(inputs.get("files"), "inputs.files"),
        input_directories=_paths(inputs.get("directories"), "inputs.directories"),
        output_files=_paths(outputs.get("files"), "outputs.files"),
        output_directories=_paths(outputs.get("directories"), "outputs.directories"),
        version=str(version) if version is not None else "",
    )
    _check_io(spec)
    return spec


def _mapping(value: Any, field_name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"'{field_name}' must be a mapping.", details={"field": field_name})
    return value


def _param_value(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        if "\x00" in text:
            raise SpecError(f"Parameter {name!r} may not contain NUL characters.")
        return text
    raise SpecError(
        f"Parameter {name!r} must be a text, a number or true/false, not {type(value).__name__}.",
        details={"parameter": name},
    )


def _parameters(value: Any) -> dict[str, str]:
    raw = _mapping(value, "inputs.parameters")
    out: dict[str, str] = {}
    for name, v in raw.items():
        if not isinstance(name, str) or not PARAM_NAME.match(name):
            raise SpecError(
                f"Parameter name {name!r}{_at(raw)} is not valid: use letters, digits and '_', not starting "
                "with a digit (it becomes an environment variable).",
                details={"parameter": str(name)},
            )
        if name in RESERVED_PARAMS or name.startswith(RESERVED_PREFIXES):
            raise SpecError(
                f"Parameter name {name!r}{_at(raw)} is reserved (it would change how steps run); rename it.",
                details={"parameter": name},
            )
        out[name] = _param_value(v, name)
    return out


def _paths(value: Any, field_name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SpecError(f"'{field_name}' must be a list of relative paths.", details={"field": field_name})
    out = []
    for v in value:
        p = v.strip()
        parts = p.replace("\\", "/").split("/")
        if p.startswith(("/", "~")) or ".." in parts or "\x00" in p:
            raise SpecError(
                f"'{field_name}': {v!r} must be a path relative to the run's workspace, without '..'.",
                details={"field": field_name, "path": v},
            )
        out.append(p.removeprefix("./"))
    return tuple(out)


def _commands(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    if "commands" in raw and "command" in raw:
        raise SpecError(f"{where} has both 'command' and 'commands'; give one.")
    value = raw.get("commands", raw.get("command"))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) and c.strip() for c in value):
        raise SpecError(f"{where} needs 'commands': a non-empty list of shell commands (or one 'command').")
    if any("\x00" in c for c in value):
        raise SpecError(f"{where}: commands may not contain NUL characters.")
    return tuple(c.strip() for c in value)


def _resources(value: Any, where: str) -> Resources:
    raw = _mapping(value, "resources")
    unknown = sorted(set(raw) - {"cpus", "memory", "timeout"})
    if unknown:
        raise SpecError(f"{where}: unknown resource(s) {', '.join(unknown)}; known: cpus, memory, timeout.")
    cpus = raw.get("cpus", 1)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or not 1 <= cpus <= 256:
        raise SpecError(f"{where}: 'resources.cpus' must be an integer from 1 to 256.")
    memory = raw.get("memory")
    if memory is not None and not (isinstance(memory, str | int) and not isinstance(memory, bool)):
        raise SpecError(f"{where}: 'resources.memory' must be a size such as 2Gi or 512Mi.")
    timeout = raw.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise SpecError(f"{where}: 'resources.timeout' must be a positive number of seconds.")
    return Resources(cpus, str(memory) if memory is not None else None, float(timeout) if timeout else None)


def _names(value: Any, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: '{what}' must be a list of step names.")
    return tuple(value)


def _steps(raw_steps: Any, form: str) -> tuple[Step, ...]:
    if not isinstance(raw_steps, list) or not raw_steps:
        raise SpecError("The workflow needs a non-empty list of 'steps'.")
    if len(raw_steps) > MAX_STEPS:
        raise SpecError(f"The workflow has {len(raw_steps)} steps; at most {MAX_STEPS} are allowed.")
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_steps, start=1):
        if not isinstance(raw, Mapping):
            raise SpecError(f"Step {i}{_at(raw_steps)} must be a mapping (name, image, commands, ...).")
        name = raw.get("name", f"step{i}" if form == "serial" else None)
        if name is None:
            raise SpecError(f"Step {i}{_at(raw)} needs a 'name' (the DAG form refers to steps by name).")
        if not isinstance(name, str) or not STEP_NAME.match(name):
            raise SpecError(
                f"Step {i}{_at(raw)}: name {name!r} is not valid: up to 64 letters, digits, '_', '-' or '.'.",
                details={"step": str(name)},
            )
        where = f"Step {name!r}{_at(raw)}"
        if name in seen:
            raise SpecError(f"{where}: another step has the same name.", details={"step": name})
        seen.add(name)
        image = raw.get("environment" if form == "serial" else "image", raw.get("image", raw.get("environment")))
        if not isinstance(image, str) or not image.strip():
            key = "environment" if form == "serial" else "image"
            raise SpecError(
                f"{where} has no container image: give '{key}' (e.g. python:3.11-slim).",
                details={"step": name, "field": key},
            )
        needs = _names(raw.get("needs"), where, "needs")
        if form == "serial":
            if needs:
                raise SpecError(f"{where}: 'needs' belongs to the DAG form; serial steps run in their order.")
            needs = (steps[-1].name,) if steps else ()
        steps.append(
            Step(
                name=name,
                image=image.strip(),
                commands=_commands(raw, where),
                needs=needs,
                inputs=_paths(raw.get("inputs"), f"steps.{name}.inputs"),
                outputs=_paths(raw.get("outputs"), f"steps.{name}.outputs"),
                resources=_resources(raw.get("resources"), where),
            )
        )
    by_name = {s.name: s for s in steps}
    for s in steps:
        for n in s.needs:
            if n not in by_name:
                raise SpecError(
                    f"Step {s.name!r} needs {n!r}, but there is no step of that name. Steps: {', '.join(by_name)}.",
                    details={"step": s.name, "unknown": n},
                )
            if n == s.name:
                raise SpecError(
                    f"The steps' 'needs' form a cycle: {n} -> {n} (step {n!r} needs itself).",
                    details={"step": s.name, "cycle": [n, n]},
                )
    return tuple(_topological(steps))


def _topological(steps: list[Step]) -> list[Step]:
    """Steps ordered so that each comes after what it needs (stable); a cycle is reported as a path."""
    by_name = {s.name: s for s in steps}
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    order: list[Step] = []

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name) :] + [name]
            raise SpecError(f"The steps' 'needs' form a cycle: {' -> '.join(cycle)}.", details={"cycle": cycle})
        state[name] = 1
        for n in by_name[name].needs:
            visit(n, [*path, name])
        state[name] = 2
        order.append(by_name[name])

    for s in steps:
        visit(s.name, [])
    return order


def ancestors(spec: WorkflowSpec, name: str) -> set[str]:
    """Every step that must finish before ``name`` starts."""
    found: set[str] = set()
    todo = list(spec.step(name).needs)
    while todo:
        n = todo.pop()
        if n not in found:
            found.add(n)
            todo.extend(spec.step(n).needs)
    return found


def _check_io(spec: WorkflowSpec) -> None:
    """A step that reads a file another step writes must need that step (else they race)."""
    writers: dict[str, str] = {}
    for s in spec.steps:
        for out in s.outputs:
            if out in writers:
                raise SpecError(
                    f"Steps {writers[out]!r} and {s.name!r} both declare the output {out!r}.",
                    details={"output": out},
                )
            writers[out] = s.name
    for s in spec.steps:
        before = ancestors(spec, s.name)
        for path in s.inputs:
            writer = writers.get(path)
            if writer is not None and writer != s.name and writer not in before:
                raise SpecError(
                    f"Step {s.name!r} reads {path!r}, which step {writer!r} writes, but does not need it: "
                    f"add {writer!r} to its 'needs'.",
                    details={"step": s.name, "input": path, "writer": writer},
                )
