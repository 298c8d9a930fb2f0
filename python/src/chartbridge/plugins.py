"""JS plugins from Python: enable/parametrise them for a run, or write their source files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from . import session
from .protocol import check_plugin_name
from .runs import current_run

PLUGIN_FOLDER = Path(".chartbridge") / "plugins"


def plugin(name: str, enabled: bool = True, **params: Any) -> None:
    """Enable the JS plugin ``name`` for the current run with ``params`` (JSON values), or
    disable it with ``enabled=False``. Calling it again during the run changes the parameters
    of the open chart.

    >>> cb.plugin("bollinger", period=20)
    >>> cb.plugin("bollinger", enabled=False)
    """
    if not session.ENABLED:
        return
    current_run().set_plugin(check_plugin_name(name), enabled, params)


def plugin_folder() -> Path:
    """``.chartbridge/plugins`` under the workspace (env ``CHARTBRIDGE_WORKSPACE``, else the cwd)."""
    return Path(os.environ.get("CHARTBRIDGE_WORKSPACE") or os.getcwd()) / PLUGIN_FOLDER


def write_plugin(name: str, js_source: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Write ``js_source`` as plugin ``name`` (``<folder>/<name>.js``) and return its path.

    The file is replaced atomically, so the server's watcher never bundles half a file; it then
    hot-reloads the plugin in open charts.
    """
    check_plugin_name(name)
    target_dir = Path(folder) if folder is not None else plugin_folder()
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{name}.js"
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(js_source)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
