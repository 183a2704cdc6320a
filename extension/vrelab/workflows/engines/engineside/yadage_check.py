"""Validate a Yadage workflow against yadage's schemas; print its stage names as JSON, or the problem.

Usage: python yadage_check.py WORKFLOW TOPLEVEL. Runs in the yadage venv; exit 0 with
``{"stages": [...]}`` on stdout, else exit 1 with one line naming the field and the problem.
"""

import json
import sys
from typing import Any


def _where(path: "list[object]") -> str:
    parts: list[str] = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "the document"


def _leaves(error: "Any") -> "list[Any]":
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def main() -> int:
    import jsonschema
    import yadageschemas

    workflow, toplevel = sys.argv[1], sys.argv[2]
    opts = {"schemadir": yadageschemas.schemadir, "schema_name": "yadage/workflow-schema"}
    specopts = {**opts, "toplevel": toplevel, "load_as_ref": False}
    try:
        data = yadageschemas.load(workflow, specopts, validate=True, validopts=opts, dialect="raw_with_defaults")
    except jsonschema.ValidationError as exc:
        deepest = max(_leaves(exc), key=lambda e: len(e.absolute_path))
        print(f"{_where(deepest.absolute_path)}: {deepest.message}")
        return 1
    except KeyError as exc:  # the schema's defaults step reads a field that is missing
        print(f"a stage lacks the required field {exc}")
        return 1
    except Exception as exc:  # unreadable file, bad $ref, YAML error, a field missing
        print(f"{type(exc).__name__}: {exc}".splitlines()[0])
        return 1
    stages = [s.get("name") for s in data.get("stages", []) if isinstance(s, dict)]
    print(json.dumps({"stages": stages}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
