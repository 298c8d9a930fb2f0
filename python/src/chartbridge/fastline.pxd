# The C types of fastline.py when Cython compiles it (pure-Python mode: the .py stays the one source).
cimport cython
from cpython cimport array as carray

from chartbridge.arrays cimport grow
from chartbridge.charted_attribute cimport ChartedAttribute, instance_dict, install as install_setter
from chartbridge.indicators cimport Indicator, as_float, bar_value

cdef long long _TIME_LIMIT
cdef Py_ssize_t _HAND_OVER
cdef bint _COMPILED, _GIL_HELD, _READS_LOCKS
cdef type _LOCK

cdef extern from *:
    """
    /* Whether a _thread.lock is held, read from the lock object: CPython's lockobject
       (Modules/_threadmodule.c) holds a PyMutex from 3.14, whose bit 0 is "locked", and before a
       `locked` char after the lock handle and the weakref list. Not a promised layout:
       fastline's _reads_locks checks it on a probe lock at import. */
    #if PY_VERSION_HEX >= 0x030E0000
    typedef struct { PyObject_HEAD PyMutex mutex; } cb_lockobject;
    static int cb_lock_held(PyObject *lock) { return ((cb_lockobject *)lock)->mutex._bits & 1; }
    #else
    typedef struct { PyObject_HEAD void *handle; PyObject *weakrefs; char locked; } cb_lockobject;
    static int cb_lock_held(PyObject *lock) { return ((cb_lockobject *)lock)->locked != 0; }
    #endif
    """
    bint lock_held "cb_lock_held" (object lock) noexcept

cdef bint _reads_locks() except -1
cdef object _clock_fixed, _clock_source, _run, _clock_obj
cdef dict _CLOCK_READERS

from cpython.pycapsule cimport PyCapsule_GetPointer
ctypedef long long (*ClockRead)(object) except -1
cdef ClockRead _clock_read

cdef inline ClockRead clock_reader(object capsule) except NULL:
    return <ClockRead>PyCapsule_GetPointer(capsule, "chartbridge.clock_ns")

cdef dict _ROW_READERS
ctypedef int (*RowInto)(object, double*) except -2

cdef inline RowInto row_reader(object capsule) except NULL:
    return <RowInto>PyCapsule_GetPointer(capsule, "chartbridge.row_into")

cdef dict _DECIMAL_READERS
ctypedef double (*DecimalRead)(object) noexcept

cdef inline DecimalRead decimal_reader(object capsule) except NULL:
    return <DecimalRead>PyCapsule_GetPointer(capsule, "chartbridge.decimal")
cdef carray.array _EPOCH
cdef long long _seen
cdef bint _enabled

@cython.locals(epoch="long long")
# int except -1 rather than void except *: an error is told by the value returned, where a void
# function's caller asks PyErr_Occurred() after each call (a thread-local read each time).
cdef int _look() except -1
cdef bint enabled() except -1
cdef object current_run()

@cython.locals(ns="long long")
cdef long long time_ns(object t) except -2
@cython.locals(ns="long long")
cdef long long now_ns() except -2

cdef bint clocked() noexcept

cdef frozenset _PLAIN
cdef tuple _TS_NAMES

@cython.locals(n=Py_ssize_t, i=Py_ssize_t, ns="long long")
cdef long long call_ns(tuple args, object result) except -2

cdef inline bint finite(double x) noexcept

cdef double _ROUND, _DIGITS_MAX

@cython.locals(p=int, scale=double, digits=double)
cpdef double fixed(object x) except? -1.0



cdef carray.array _DEFERRING
cdef list _PENDING
cdef object _DRAINING
cdef bint deferring() noexcept
@cython.locals(sinks=list, sink=Sink)
cpdef void drain() except *


@cython.final
cdef class Reading:
    cdef readonly type kind
    cdef readonly object convert, decimal
    cdef readonly bint in_c
    cdef DecimalRead read_c

    @cython.locals(x=double)
    cdef double value(self, object result) except? -1.0


cpdef Reading reading_of(object result)


cdef class Sink:
    cdef readonly object run

    cpdef bint offer(self, object result, object t=*) except -1
    cdef bint offer_ns(self, object result, long long ns) except -1
    cpdef void drain(self) except *


@cython.locals(n=Py_ssize_t)
cdef Py_ssize_t _defer_time(carray.array times, long long ns) except -1
cdef long long _long_at(carray.array values, Py_ssize_t i) noexcept


@cython.final
cdef class Line(Sink):
    cdef readonly object buffer
    cdef public Reading reading
    cdef object lock, acquire, release, locked
    cdef bint read_lock
    cdef carray.array t, v, last
    cdef object markers

    cdef bint current(self, long long ns) except -1
    cdef bint after(self, long long ns) noexcept
    cdef bint free(self) except -1
    cdef bint hold(self) except -1
    @cython.locals(n=Py_ssize_t)
    cdef Py_ssize_t stamp(self, long long ns) except -1
    cdef int written(self, Py_ssize_t n, Py_ssize_t k=*) except -1
    @cython.locals(n=Py_ssize_t)
    cdef Py_ssize_t reserve(self, Py_ssize_t k, Py_ssize_t width) except -1
    cdef int commit(self, Py_ssize_t n, Py_ssize_t k, Py_ssize_t width) except -1
    @cython.locals(n=Py_ssize_t)
    cdef int put(self, double x) except -1
    @cython.locals(held=bint, n=Py_ssize_t)
    cdef bint add(self, long long ns, double x, object marker) except -1
    @cython.locals(held=bint, n=Py_ssize_t, i=Py_ssize_t, m=Py_ssize_t)
    cdef bint add_row(self, long long ns, double* row, Py_ssize_t width) except -1


cdef class Candles(Sink):
    cdef readonly Line line
    cdef readonly type kind
    cdef int shape
    cdef readonly Reading price, volume
    cdef readonly object read
    cdef Py_ssize_t width
    cdef double row[5]
    cdef readonly bint in_c
    cdef RowInto read_into
    cdef readonly object series
    cdef list pending
    cdef carray.array pending_t
    cdef readonly bint defers, keeps_tuple
    cdef bint draining

    cdef object column(self, object result, Py_ssize_t i)
    cdef double part(self, object x, Reading reading) except? -1
    @cython.locals(n=Py_ssize_t, i=Py_ssize_t, volume=object)
    cdef int parts(self, object result) except -2

    @cython.locals(values=tuple, i=Py_ssize_t)
    cdef int take(self, object result) except -2
    cdef bint offer_ns(self, object result, long long ns) except -1
    @cython.locals(n=Py_ssize_t, i=Py_ssize_t, kind=type, reading=Reading)
    cdef bint unchanging(self, tuple result) except -1
    @cython.locals(results=list, times=carray.array, i=Py_ssize_t, ns="long long", written=bint)
    cpdef void drain(self) except *
    cdef bint write(self, object result, long long ns) except -1
    @cython.locals(i=Py_ssize_t, row="double*", o=double, h=double, lo=double, c=double)
    cdef bint valid(self, int n) except -1
    @cython.locals(line=Line, width=Py_ssize_t, n=Py_ssize_t, start=Py_ssize_t, t="long long*", v="double*",
                   row="double*", ts="long long*", last="long long", j=Py_ssize_t, k=Py_ssize_t, c=Py_ssize_t)
    cdef Py_ssize_t write_run(self, list results, carray.array times, Py_ssize_t i) except -1


cdef int _SEQUENCE, _MAPPING
cdef tuple _COLUMNS


cdef class Indicated(Sink):
    cdef readonly Indicator indicator
    cdef readonly object bar
    cdef int source
    cdef str where
    cdef readonly Line raw
    cdef readonly list outputs, series
    cdef object raw_series
    cdef readonly Reading reading
    cdef double values[3]
    cdef carray.array pending_x, pending_t
    cdef bint draining
    cdef object feed

    @cython.locals(x=double, n=Py_ssize_t)
    cdef bint offer_ns(self, object result, long long ns) except -1
    @cython.locals(xs=carray.array, times=carray.array, i=Py_ssize_t, x=double, ns="long long", written=bint)
    cpdef void drain(self) except *
    @cython.locals(n=Py_ssize_t, lines=list, line=Line, ts="long long*", end=Py_ssize_t, outs=carray.array,
                   counts=carray.array, out="double*", count="long long*", x="double*", refused=bint, j=Py_ssize_t,
                   c=Py_ssize_t, starts=list, start=Py_ssize_t, t="long long*", v="double*", k=Py_ssize_t,
                   output=Py_ssize_t, value=double)
    cdef Py_ssize_t write_run(self, carray.array xs, carray.array times, Py_ssize_t i) except -1
    @cython.locals(i=Py_ssize_t, n=int, v=double, line=Line, raw=Line)
    cdef bint write(self, double x, long long ns) except -1


cdef class Marks:
    cdef readonly Line line
    cdef public object decimal  # a type or None

    @cython.locals(line=Line, ns="long long", x=double)
    cpdef bint mark(self, object side, object price, object text) except -1


cdef int _MARKER_DEPTH
cdef Py_ssize_t _MAX_TEXT
cdef dict _SIDES, _MARKS
cdef object full_marker

@cython.locals(fast=Sink)
cdef int series_set(ChartedAttribute series, object instance, object value) except -1


cdef object _calling(ChartedCall charted)

cdef extern from "charted_function.h":
    ctypedef int (*cb_took_fn)(object, object, object) except -1
    ctypedef object (*cb_missed_fn)(object, object, object, object)
    object cb_charted_new(object func, object charted, cb_took_fn took, cb_missed_fn missed)


@cython.final
cdef class ChartedCall:
    cdef readonly object func
    cdef object full, owner
    cdef dict sinks
    cdef readonly Sink sink

    cdef bint took(self, object result, object owner) except -1
    cdef object missed(self, object result, tuple args, dict kwargs)
    cdef int switch(self, object caller) except -1


cdef int _took(ChartedCall charted, object result, object owner) except -1
cdef object _missed(ChartedCall charted, object result, tuple args, dict kwargs)

cdef inline object charted_function(ChartedCall charted):
    return cb_charted_new(charted.func, charted, <cb_took_fn>_took, <cb_missed_fn>_missed)
