# The C types of v2_recorder.py when Cython compiles it (pure-Python mode: the .py stays the one source).
cimport cython
from cpython cimport array as carray

from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.math cimport rint

cdef double _EXACT

cpdef double exact(object raw, object scale, long long cscale) except? -1.0


@cython.cdivision(True)
cdef inline double c_exact(object raw, object scale, long long d) except? -1.0:
    """exact() in C (see there); a raw beyond a long long takes Python's division."""
    cdef int overflow = 0
    cdef long long n = PyLong_AsLongLongAndOverflow(raw, &overflow)
    cdef long long limit = (<long long>1) << 53  # integers up to this are exact doubles
    if overflow == 0:
        while (n > limit or n < -limit) and d >= 100000000 and n % 100000000 == 0:
            n //= 100000000
            d //= 100000000
        while (n > limit or n < -limit) and d >= 10 and n % 10 == 0:
            n //= 10
            d //= 10
        if -limit <= n <= limit:
            return <double>n / <double>d
    return raw / scale


@cython.final
cdef class BarRecorder:
    cdef public carray.array t, v, close_t
    cdef public list fills, reads, closes
    cdef public object on_fills, on_batch, on_error, scale, last_close
    cdef public Py_ssize_t batch, pending
    cdef public bint keep_closes
    cdef long long cscale

    cpdef void candle(self, object bar) except *
    cpdef void candles(self, list bars) except *
    @cython.locals(count=Py_ssize_t, raw=object)
    cpdef Py_ssize_t pnl(self, list positions, carray.array t, carray.array out) except -1


@cython.locals(scale=double, base=double, units=double, value=double, i=Py_ssize_t)
cpdef double equity(double balance, carray.array pnl, Py_ssize_t start, Py_ssize_t end, double peak,
                    carray.array equities, carray.array drawdowns, int precision) except? -1.0
