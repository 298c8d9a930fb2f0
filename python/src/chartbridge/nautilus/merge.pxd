# The C types of merge.py when Cython compiles it (pure-Python mode: the .py stays the one source).
cimport cython

from libc.math cimport fabs, rint

cdef double _EXACT
cdef long long _SCALES


@cython.locals(scale=double, units=double, part=double, exact=bint, i=Py_ssize_t)
cdef double value(double balance, long long precision, double[:] held, long long[:] owner,
                  Py_ssize_t c) except? -1.0


@cython.locals(n=Py_ssize_t, charts=Py_ssize_t, start=Py_ssize_t, j=Py_ssize_t, k=Py_ssize_t, m=Py_ssize_t,
               best=Py_ssize_t, heads="long long[:]")
cpdef void order(long long[:] ts, long long[:] ends, long long[:] at, long long[:] of) except *


@cython.locals(n=Py_ssize_t, charts=Py_ssize_t, currencies=Py_ssize_t, m=Py_ssize_t, k=Py_ssize_t,
               j=Py_ssize_t, c=Py_ssize_t, out=Py_ssize_t, at="long long[:]", of="long long[:]")
cpdef void merge(long long[:] ts, double[:] vs, long long[:] ends, double[:] held, long long[:] owner,
                 long long[:] currency, double[:] balances, long long[:] precisions, long long[:] active,
                 long long[:] out_t, double[:] out_v, long long[:] counts) except *
