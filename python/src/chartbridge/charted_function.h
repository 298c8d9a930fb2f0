/* The compiled wrapper of a decorated function (fastline.wrap): a callable taking vectorcalls.

   A Cython function taking *args and **kwargs is called through tp_call: each call built a tuple
   of its arguments and an empty dict, and called the decorated function again from that tuple
   (callgrind, a method returning a float: ~540 of the ~1,270 instructions a charted call added).
   This one passes the caller's argument array on as it is, and hands the result to `took`
   (fastline's `_took`: the fast path, given the calling object); only a result that needs the
   arguments themselves (the full path, or a point time read from them) makes their tuple and
   dict, for `missed` (fastline's `_missed`).

   It binds as a method (Py_TPFLAGS_METHOD_DESCRIPTOR: `obj.method(x)` calls it with `obj` first,
   no bound method made), keeps attributes in its own dict (functools.update_wrapper's `__name__`,
   `__doc__`, `__wrapped__`..., and `charted`) and is collected as any function is. */

#include <Python.h>

typedef int (*cb_took_fn)(PyObject *charted, PyObject *result, PyObject *owner);
typedef PyObject *(*cb_missed_fn)(PyObject *charted, PyObject *result, PyObject *args, PyObject *kwargs);

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *func;     /* the decorated function */
    PyObject *charted;  /* its fastline.ChartedCall */
    PyObject *dict;
    PyObject *weakrefs;
    cb_took_fn took;
    cb_missed_fn missed;
} cb_charted_function;

static PyObject *cb_charted_missed(cb_charted_function *self, PyObject *result, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames) {
    PyObject *tuple = PyTuple_New(nargs), *kwargs = PyDict_New(), *out = NULL;
    if (tuple == NULL || kwargs == NULL) goto done;
    for (Py_ssize_t i = 0; i < nargs; i++) PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
    if (kwnames != NULL) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
            if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) goto done;
        }
    }
    out = self->missed(self->charted, result, tuple, kwargs);
done:
    Py_XDECREF(tuple);
    Py_XDECREF(kwargs);
    return out;
}

static PyObject *cb_charted_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    cb_charted_function *self = (cb_charted_function *)callable;
    PyObject *result = PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    if (result == NULL) return NULL;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    int took = self->took(self->charted, result, nargs ? args[0] : Py_None);
    if (took < 0) {
        Py_DECREF(result);
        return NULL;
    }
    if (took) return result;
    PyObject *out = cb_charted_missed(self, result, args, nargs, kwnames);
    Py_DECREF(result);
    return out;
}

static PyObject *cb_charted_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None) return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static int cb_charted_traverse(PyObject *op, visitproc visit, void *arg) {
    cb_charted_function *self = (cb_charted_function *)op;
    Py_VISIT(self->func);
    Py_VISIT(self->charted);
    Py_VISIT(self->dict);
    return 0;
}

static int cb_charted_clear(PyObject *op) {
    cb_charted_function *self = (cb_charted_function *)op;
    Py_CLEAR(self->func);
    Py_CLEAR(self->charted);
    Py_CLEAR(self->dict);
    return 0;
}

static void cb_charted_dealloc(PyObject *op) {
    cb_charted_function *self = (cb_charted_function *)op;
    PyObject_GC_UnTrack(op);
    if (self->weakrefs != NULL) PyObject_ClearWeakRefs(op);
    cb_charted_clear(op);
    PyObject_GC_Del(op);
}

static PyObject *cb_charted_repr(PyObject *op) {
    PyObject *name = PyObject_GetAttrString(op, "__qualname__");
    if (name == NULL) {
        PyErr_Clear();
        return PyUnicode_FromFormat("<charted function at %p>", op);
    }
    PyObject *out = PyUnicode_FromFormat("<charted function %S at %p>", name, op);
    Py_DECREF(name);
    return out;
}

static PyGetSetDef cb_charted_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL}
};

static PyTypeObject cb_charted_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "chartbridge.fastline.ChartedFunction",
    .tp_basicsize = sizeof(cb_charted_function),
    .tp_dealloc = cb_charted_dealloc,
    .tp_vectorcall_offset = offsetof(cb_charted_function, vectorcall),
    .tp_repr = cb_charted_repr,
    .tp_call = PyVectorcall_Call,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_setattro = PyObject_GenericSetAttr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A function charted by a chartbridge decorator (fastline.wrap).",
    .tp_traverse = cb_charted_traverse,
    .tp_clear = cb_charted_clear,
    .tp_weaklistoffset = offsetof(cb_charted_function, weakrefs),
    .tp_getset = cb_charted_getset,
    .tp_descr_get = cb_charted_descr_get,
    .tp_dictoffset = offsetof(cb_charted_function, dict),
};

/* A new wrapper of `func` whose results go to `charted` through `took` and `missed`. */
static PyObject *cb_charted_new(PyObject *func, PyObject *charted, cb_took_fn took, cb_missed_fn missed) {
    if (!(cb_charted_type.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&cb_charted_type) < 0) return NULL;
    cb_charted_function *self = PyObject_GC_New(cb_charted_function, &cb_charted_type);
    if (self == NULL) return NULL;
    self->vectorcall = cb_charted_vectorcall;
    self->func = Py_NewRef(func);
    self->charted = Py_NewRef(charted);
    self->dict = NULL;
    self->weakrefs = NULL;
    self->took = took;
    self->missed = missed;
    PyObject_GC_Track((PyObject *)self);
    return (PyObject *)self;
}
