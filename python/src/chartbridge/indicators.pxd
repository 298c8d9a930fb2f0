# The C types of indicators.py when Cython compiles it (pure-Python mode: the .py stays the one source).
cimport cython
from libc.math cimport fma as c_fma, sqrt as c_sqrt

cdef bint _COMPILED

cdef inline double fused(double a, double b, double c) noexcept
cdef inline double root(double x) noexcept

cpdef int source_index(str source) except -1

cpdef double as_float(object x) except? -1.0

@cython.locals(value=double)
cpdef double _price(object bar, str name, str where) except? -1.0

@cython.locals(high=double, low=double)
cpdef double bar_value(object bar, int source, str where) except? -1.0

cpdef int check_line(object nautilus) except -1


cdef class Window:
    cdef readonly Py_ssize_t period
    cdef double[::1] values
    cdef Py_ssize_t count, start, updates
    cdef readonly bint running
    cdef double sum

    cpdef bint push(self, double x)

    @cython.locals(total=double, i=Py_ssize_t)
    cpdef double total(self)

    cpdef double mean(self)

    @cython.locals(total=double, d=double, i=Py_ssize_t)
    cpdef double std(self, double mean)


cdef class Indicator:
    cdef double out[3]

    cdef int into(self, double x, double* out) except -1
    @cython.locals(n=int, i=int)
    cpdef tuple update(self, double x)


cdef class SMA(Indicator):
    cdef readonly Window window

    cdef int into(self, double x, double* out) except -1


cdef class EMA(Indicator):
    cdef readonly Py_ssize_t period
    cdef readonly double alpha, value
    cdef readonly long long count
    cdef readonly bint seeded, wilder

    cdef int step(self, double x) except -1  # int, not void: see fastline.pxd's _look
    cdef int into(self, double x, double* out) except -1


cdef class Bollinger(Indicator):
    cdef readonly Window window
    cdef readonly double k

    @cython.locals(middle=double, std=double, width=double)
    cdef int into(self, double x, double* out) except -1


cdef class RSI(Indicator):
    cdef readonly Py_ssize_t period
    cdef readonly EMA gain, loss
    cdef double last
    cdef bint seen, first_is_change

    @cython.locals(change=double)
    cdef int into(self, double x, double* out) except -1
    @cython.locals(total=double)
    cdef double level(self)


cdef class WilderRSI(Indicator):
    cdef readonly Py_ssize_t period
    cdef double last, gain, loss
    cdef bint seen
    cdef Py_ssize_t changes

    @cython.locals(change=double, gain=double, loss=double, n=Py_ssize_t)
    cdef int into(self, double x, double* out) except -1
