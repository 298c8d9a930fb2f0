# The C side of arrays.py, and the growth the compiled appends share (fastline, the Nautilus recorder):
# a module that cimports this gets the C helpers below inlined.
cimport cython
from cpython cimport array as carray

cdef extern from *:
    """
    /* CPython's arrayobject (Modules/arraymodule.c), whose layout Cython's own array support also assumes. */
    typedef struct {
        PyObject_VAR_HEAD
        char *ob_item;
        Py_ssize_t allocated;
        const void *ob_descr;
        PyObject *weakreflist;
        Py_ssize_t ob_exports;
    } cb_arrayobject;

    /* Resize an array of `itemsize`-byte items to `n` items, growing its memory 1.5x at a time from
       1024 items (each growth copies the points: from a few, a batch of thousands was copied over
       twenty times) and never shrinking it (Cython's resize_smart shrinks an emptied array back to
       a couple of items). Refused while a buffer of it is exported, as the array's own resize is. */
    static int cb_grow(void *array, Py_ssize_t n, Py_ssize_t itemsize) {  /* any array.array (Cython passes its own struct type) */
        cb_arrayobject *a = (cb_arrayobject *)array;
        if (a->ob_exports > 0) {
            PyErr_SetString(PyExc_BufferError, "cannot resize an array that is exporting buffers");
            return -1;
        }
        if (n > a->allocated) {
            Py_ssize_t size = n < 683 ? 1024 : n + n / 2;
            char *items = (char *)PyMem_Realloc(a->ob_item, (size_t)(size * itemsize));
            if (items == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            a->ob_item = items;
            a->allocated = size;
        }
        Py_SET_SIZE(a, n);
        return 0;
    }
    """
    int grow "cb_grow" (carray.array array, Py_ssize_t n, Py_ssize_t itemsize) except -1

cdef extern from *:
    """
    /* A bytes object of `n` bytes to write into before anyone else sees it, and its bytes as doubles. */
    static PyObject *cb_new_bytes(Py_ssize_t n) { return PyBytes_FromStringAndSize(NULL, n); }
    static double *cb_bytes_doubles(PyObject *b) { return (double *)PyBytes_AS_STRING(b); }
    """
    bytes new_bytes "cb_new_bytes" (Py_ssize_t n)
    double* bytes_doubles "cb_bytes_doubles" (bytes b)


cpdef void clear(carray.array buffer) except *

@cython.locals(n=Py_ssize_t, k=Py_ssize_t, out=bytes, dst="double*", src="double*")
cpdef bytes column_bytes(carray.array values, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t width, Py_ssize_t i)
