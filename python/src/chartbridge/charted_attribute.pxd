# The C types of charted_attribute.py when Cython compiles it (pure-Python mode).
from cpython.object cimport PyObject_GenericGetDict

cdef inline dict instance_dict(object o):
    """An object's ``__dict__``, read without looking ``__dict__`` up in its class's MRO."""
    return PyObject_GenericGetDict(o, NULL)


cdef class ChartedAttribute:
    cdef public str _attr
    cdef public object _fast


ctypedef int (*setter_fn)(ChartedAttribute, object, object) except -1

cdef setter_fn _SET
cdef bint _COMPILED

cdef int _not_installed(ChartedAttribute attribute, object instance, object value) except -1
cdef void install(setter_fn setter)
