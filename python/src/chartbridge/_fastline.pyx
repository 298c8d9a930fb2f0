# cython: language_level=3
"""The compiled ``Line`` and ``append`` (the interface and their Python twins: ``fastline.py``).

The same steps as the Python ones, without a bytecode per step: a decorated call inside a
backtest pays for each one.
"""

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
    if type(t) is not int or not 0 <= t < _TIME_LIMIT:
        return False
    cdef long long ns = t
    cdef Py_ssize_t n
    buffer = line.buffer
    line.acquire()
    try:
        if ns < buffer.last_t:
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
