"""``python -m containers``: build, test, tag, push and lock vrelab's image tiers.

python -m containers bootstrap-base             the local Debian base (no registry needed)
python -m containers build TIER [--engine E]    TIER and the tiers below it (layers cached)
python -m containers test TIER                  the image tests of TIER (and its parents' tests)
python -m containers tag [TIER...]              tags from what is inside (python-, lab-, vrelab-, date, SHA)
python -m containers push --registry R [TIER...]
python -m containers lock [TIER...]             re-resolve the tiers' package locks
python -m containers sizes                      the measured build times and sizes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from . import base, locking, tagging
from .build import build
from .engine import ENGINES, Engine, EngineError, state_home
from .tiers import HERE, LOCAL_BASE, LOCAL_REGISTRY, ORDER, REPO, TIERS, UPSTREAM_BASE


def _tiers(names: list[str]) -> list[str]:
    for name in names:
        if name not in TIERS:
            raise SystemExit(f"no tier {name!r}: the tiers are {', '.join(ORDER)}")
    return names or list(ORDER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m containers", description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=ENGINES, default=os.environ.get("VRELAB_CONTAINER_ENGINE", "podman"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bootstrap-base", help="make the local Debian base image")
    p.add_argument("--force", action="store_true", help="re-import even if the image exists")

    p = sub.add_parser("build", help="build a tier and the tiers below it")
    p.add_argument("tier", choices=ORDER)
    p.add_argument("--only", action="store_true", help="only this tier (its parent must exist)")
    p.add_argument("--tag", default="latest")
    p.add_argument("--registry", default=LOCAL_REGISTRY)
    p.add_argument(
        "--base", default=None,
        help=f"the bottom tier's base: 'local' ({LOCAL_BASE}, bootstrapped if missing; the default), "
        f"'upstream' ({UPSTREAM_BASE}, must be present or pullable) or an image name",
    )  # fmt: skip

    p = sub.add_parser("test", help="run the image tests of a tier")
    p.add_argument("tier", choices=ORDER)
    p.add_argument("pytest_args", nargs="*")

    p = sub.add_parser("tag", help="tag images from what is inside them")
    p.add_argument("tiers", nargs="*")
    p.add_argument("--registry", default=LOCAL_REGISTRY)

    p = sub.add_parser("push", help="tag and push images to a registry")
    p.add_argument("tiers", nargs="*")
    p.add_argument("--registry", required=True, help="e.g. ghcr.io/ORG/vrelab")
    p.add_argument("--tls-verify", default="true", choices=("true", "false"))

    p = sub.add_parser("lock", help="re-resolve the tiers' package locks")
    p.add_argument("tiers", nargs="*")

    sub.add_parser("sizes", help="the last measured build time and size of each tier")

    args = parser.parse_args(argv)
    engine = Engine(args.engine)
    try:
        if args.command == "bootstrap-base":
            print(base.bootstrap(engine, LOCAL_BASE, force=args.force))
        elif args.command == "build":
            base_image = {"local": None, None: None, "upstream": UPSTREAM_BASE}.get(args.base, args.base)
            build(args.tier, engine, tag=args.tag, registry=args.registry, base_image=base_image, only=args.only)
        elif args.command == "test":
            env = {**os.environ, "VRELAB_IMAGE_TIERS": args.tier, "VRELAB_CONTAINER_ENGINE": args.engine}
            env.pop("VRELAB_SKIP_IMAGES", None)
            cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(HERE / "tests"), *args.pytest_args]
            return subprocess.run(cmd, cwd=REPO, env=env, check=False).returncode
        elif args.command == "tag":
            for name in _tiers(args.tiers):
                image = TIERS[name].image("latest", args.registry)
                for named in tagging.apply(engine, image, tagging.tags_for(engine, image)):
                    print(named)
        elif args.command == "push":
            for name in _tiers(args.tiers):
                local = TIERS[name].image("latest", LOCAL_REGISTRY)
                remote = TIERS[name].image("latest", args.registry)
                engine.tag(local, remote)
                for named in [remote, *tagging.apply(engine, remote, tagging.tags_for(engine, local))]:
                    extra = [f"--tls-verify={args.tls_verify}"] if engine.runner == "podman" else []
                    engine.push(named, extra)
                    print(f"pushed {named}")
        elif args.command == "lock":
            return locking.main(_tiers(args.tiers))
        elif args.command == "sizes":
            path = state_home() / "builds.json"
            print(path.read_text() if path.exists() else json.dumps({}))
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
