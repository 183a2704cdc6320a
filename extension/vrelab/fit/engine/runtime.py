"""JAX set-up for the fit engine: 64-bit floats, CPU threads, the persistent compilation cache.

Called once per process before the engine builds an array. The compilation cache lives under
vrelab's cache folder (``VRELAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/vrelab``, else
``~/.cache/vrelab``) in ``jax-compilation``, so a second process (the next scan, the other
worker) loads the compiled fit instead of compiling it again.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

__all__ = ["available", "cache_dir", "setup"]

_DONE = False


def available() -> bool:
    """Whether jax (and a jaxlib) can be imported here."""
    return importlib.util.find_spec("jax") is not None and importlib.util.find_spec("jaxlib") is not None


def cache_dir() -> Path:
    base = os.environ.get("VRELAB_CACHE_DIR")
    if base:
        return Path(base) / "jax-compilation"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "vrelab" / "jax-compilation"


def setup(*, single_thread: bool = False) -> None:
    """Configure jax for the engine (idempotent). ``single_thread`` keeps XLA on one core."""
    global _DONE
    if _DONE:
        return
    if single_thread and "XLA_FLAGS" not in os.environ:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    import jax

    jax.config.update("jax_enable_x64", True)
    try:
        path = cache_dir()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except (OSError, AttributeError):  # a read-only home, or a jax without the option
        pass
    _DONE = True
