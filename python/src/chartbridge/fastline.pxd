# The C types of fastline.py when Cython compiles it (pure-Python mode: the .py stays the one source).
cimport cython

cpdef long long now() except? -2



cdef class Sink:
    cpdef bint offer(self, object result) except -1


cdef class Line(Sink):
    cdef readonly object run, buffer
    cdef object acquire, release, t, v

    cpdef bint current(self, long long t) except -1
    cpdef void add(self, long long t, tuple row) except *

    @cython.locals(t="long long")
    cpdef bint offer(self, object result) except -1


cdef class Candles(Sink):
    cdef readonly Line line
    cdef readonly type kind

    @cython.locals(o=double, h=double, lo=double, c=double, vol=double, width=Py_ssize_t, t="long long")
    cpdef bint offer(self, object result) except -1


cdef class Indicated(Sink):
    cdef readonly object indicator
    cdef readonly object bar
    cdef int source
    cdef str where
    cdef readonly Line raw
    cdef readonly list outputs, series

    @cython.locals(x=double, v=double, t="long long", i=Py_ssize_t, line=Line, raw=Line, values=tuple)
    cpdef bint offer(self, object result) except -1


cdef class ChartedCall:
    cdef object func, full
    cdef readonly Sink sink
    cdef dict __dict__  # functools.update_wrapper's attributes
