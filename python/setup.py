"""The optional compiled parts of chartbridge: ``chartbridge.fastline`` and ``chartbridge.indicators``
(the decorators' fast path; Cython's pure-Python mode: the .py files are the source, their .pxd
files give the C types, and the .py runs as it is where nothing was built) and
``chartbridge.nautilus._recorder`` (the Nautilus bar handler; ``chartbridge.nautilus.v2_recorder`` and
``chartbridge.nautilus.merge``, an account's equity of several instruments, are pure-Python mode too).

The recorder is built against the nautilus_trader installed where the build runs, so install with
``pip install --no-build-isolation`` into an environment that has nautilus_trader and Cython
(``scripts/setup.sh`` does). Without either, or without a C compiler, the package installs as
pure Python: ``chartbridge.fastline`` and ``chartbridge.indicators`` run interpreted and
``chartbridge.nautilus.recorder`` uses its Python twin. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


def extensions() -> list:
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        print(f"chartbridge: building pure Python ({exc})", file=sys.stderr)
        return []
    from setuptools import Extension

    # include_dirs: fastline's charted_function.h, beside it.
    built = [Extension(f"chartbridge.{name}", [f"src/chartbridge/{name.replace('.', '/')}.py"], include_dirs=["src/chartbridge"])
             for name in ("arrays", "charted_attribute", "fastline", "indicators", "nautilus.v2_recorder", "nautilus.merge")]
    nautilus = "none"
    try:
        import nautilus_trader
    except ImportError as exc:
        print(f"chartbridge: building without the compiled Nautilus recorder ({exc})", file=sys.stderr)
    else:
        import numpy  # nautilus_trader's .pxd files cimport it

        nautilus = nautilus_trader.__version__
        # The .pxd files declare their C structs with `cdef extern from "../includes/model.h"`.
        includes = os.path.join(os.path.dirname(nautilus_trader.__file__), "core", "rust")
        built.append(Extension("chartbridge.nautilus._recorder", ["src/chartbridge/nautilus/_recorder.pyx"],
                               include_dirs=[includes, numpy.get_include()],
                               define_macros=[("CB_NAUTILUS_VERSION", f'"{nautilus}"')]))
    # The generated C depends on the .pxd files of one nautilus_trader: one build directory each.
    return cythonize(built, build_dir=f"build/cython-{sys.implementation.cache_tag}-nautilus-{nautilus}", quiet=True,
                     # Types come from the .pxd files only: the annotations are for mypy.
                     compiler_directives={"language_level": 3, "annotation_typing": False})


class OptionalBuildExt(build_ext):
    """A failed compile leaves the pure-Python package, said once, rather than no package;
    with CHARTBRIDGE_REQUIRE_COMPILED=1 (scripts/setup.sh) it fails the install instead."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            self._failed("the compiled parts", exc)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._failed(ext.name, exc)

    def _failed(self, what: str, exc: Exception) -> None:
        if os.environ.get("CHARTBRIDGE_REQUIRE_COMPILED") == "1":
            raise exc
        print(f"chartbridge: {what} did not build ({exc}); their Python form is used", file=sys.stderr)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
