# cython: language_level=3
"""The compiled ``Line``, ``append`` and ``ChartedCall`` (the interface and their Python twins:
``fastline.py``).

The same steps as the Python ones, without a bytecode per step or a Python frame for the
wrapper: a decorated call inside a backtest pays for each one.
"""

from types import MethodType

from cpython cimport array
from cpython.float cimport PyFloat_AS_DOUBLE
from libc.math cimport isfinite

from . import clock, session
from .protocol import TIME_LIMIT

cdef long long _TIME_LIMIT = TIME_LIMIT


cdef class Line:
    cdef readonly object run
    cdef object buffer, acquire, release
    cdef array.array t, v

    def __init__(self, run, buffer):
        self.run, self.buffer = run, buffer
        self.acquire, self.release = buffer.lock.acquire, buffer.lock.release
        self.t, self.v = buffer.t, buffer.v


def append(Line line, result):
    if type(result) is not float or not isfinite(PyFloat_AS_DOUBLE(result)) or line.run is not session._session.run:
        return False
    t = clock._fixed
    if t is None:
        source = clock._source
        if source is None:
            return False
        t = source()
    if type(t) is not int:
        return False
    cdef long long ns
    try:
        ns = t
    except OverflowError:
        return False
    if not 0 <= ns < _TIME_LIMIT:
        return False
    cdef Py_ssize_t n
    cdef long long last_t
    buffer = line.buffer
    line.acquire()
    try:
        last_t = buffer.last_t
        if ns < last_t:
            return False
        buffer.last_t = t
        n = len(line.t)
        if n == 0:
            buffer.nudge()
        array.resize_smart(line.t, n + 1)
        line.t.data.as_longlongs[n] = ns
        n = len(line.v)
        array.resize_smart(line.v, n + 1)
        line.v.data.as_doubles[n] = PyFloat_AS_DOUBLE(result)
    finally:
        line.release()
    return True


cdef class ChartedCall:
    cdef object func, full
    cdef Line line
    cdef dict __dict__  # functools.update_wrapper's attributes

    def __init__(self, func, full):
        self.func, self.full = func, full

    def __get__(self, instance, owner):
        return self if instance is None else MethodType(self, instance)

    def __call__(self, *args, **kwargs):
        result = self.func(*args, **kwargs)
        if session.ENABLED:
            try:
                if self.line is not None and append(self.line, result):
                    return result
            except Exception:
                pass  # the full path meets it again, and logs it
            self.line = self.full(result, args, kwargs)
        return result
