# cython: language_level=3, boundscheck=False, wraparound=False
"""The compiled ``BarRecorder`` (the interface and its Python twin: ``recorder.py``).

Built against the ``.pxd`` files of the nautilus_trader it was compiled with (``python/setup.py``),
so a bar's prices are read from its ``Bar_t`` struct and an indicator's ``initialized`` from its
C field: a bar costs tens of nanoseconds, where the same reads through Python objects cost
microseconds inside a backtest. ``BUILT_FOR`` names that version: the struct layouts are only
valid for it, and ``recorder.py`` loads this module only when it matches.
"""

from cpython cimport array
from libc.math cimport NAN, isnan, pow, round
from libc.stdlib cimport free, realloc
from nautilus_trader.core.rust.model cimport FIXED_PRECISION, FIXED_SCALAR, MONEY_MAX, MONEY_MIN, MoneyRaw, PositionSide
from cpython.object cimport Py_TPFLAGS_HEAPTYPE, PyObject, PyTypeObject
from nautilus_trader.indicators.averages cimport MovingAverage
from nautilus_trader.indicators.base cimport Indicator
from nautilus_trader.model.data cimport Bar
from nautilus_trader.model.position cimport Position

cdef extern from *:
    const char* CB_NAUTILUS_VERSION  # defined by setup.py

BUILT_FOR = CB_NAUTILUS_VERSION.decode()


cdef inline void _append_t(array.array t, long long value):
    cdef Py_ssize_t n = len(t)
    array.resize_smart(t, n + 1)
    t.data.as_longlongs[n] = value


cdef inline void _append_v(array.array v, double value):
    cdef Py_ssize_t n = len(v)
    array.resize_smart(v, n + 1)
    v.data.as_doubles[n] = value


cdef inline double _money(double amount, unsigned char precision):
    """``Money(amount, currency).as_double()``: Nautilus rounds to the currency's precision
    (half away from zero), then scales to its fixed point; the Rust constructor itself is not
    linkable from here. The parity test compares every PnL point with the real Money's."""
    cdef MoneyRaw scale = 1
    cdef int i
    for i in range(FIXED_PRECISION - precision):
        scale *= 10
    cdef MoneyRaw raw = (<MoneyRaw>round(amount * pow(10.0, precision))) * scale
    return <double>raw / FIXED_SCALAR


cdef extern from "Python.h":
    int PyType_HasFeature(PyTypeObject* type, unsigned long feature)


cdef inline double _read(Indicator indicator, str name) except? -1.0:
    """``getattr(indicator, name)``; a moving average's ``value`` straight from its C field
    (no float object), unless its class is a Python one, which could redefine ``value``."""
    if name == "value" and isinstance(indicator, MovingAverage) and not PyType_HasFeature(
            (<PyObject*>indicator).ob_type, Py_TPFLAGS_HEAPTYPE):
        return (<MovingAverage>indicator).value
    return getattr(indicator, name)


cdef class BarRecorder:
    cdef array.array t, v
    cdef double* closes
    cdef Py_ssize_t n_closes, capacity
    cdef bint keep_closes
    cdef object on_batch, on_error
    cdef public list reads
    cdef public long pending, batch

    def __init__(self, array.array t not None, array.array v not None, on_batch, on_error, long batch,
                 bint keep_closes):
        if t.ob_descr.typecode != c'q' or v.ob_descr.typecode != c'd':
            raise TypeError("BarRecorder needs array('q') times and array('d') values")
        self.t, self.v = t, v
        self.on_batch, self.on_error = on_batch, on_error
        self.batch, self.keep_closes = batch, keep_closes
        self.reads = []
        self.pending = 0

    def __dealloc__(self):
        free(self.closes)

    cdef void _candle(self, Bar bar):
        _append_t(self.t, bar._mem.ts_event)
        cdef Py_ssize_t n = len(self.v)
        array.resize_smart(self.v, n + 5)
        cdef double* v = self.v.data.as_doubles + n
        v[0] = <double>bar._mem.open.raw / FIXED_SCALAR
        v[1] = <double>bar._mem.high.raw / FIXED_SCALAR
        v[2] = <double>bar._mem.low.raw / FIXED_SCALAR
        v[3] = <double>bar._mem.close.raw / FIXED_SCALAR
        v[4] = <double>bar._mem.volume.raw / FIXED_SCALAR

    def __call__(self, Bar bar):
        cdef Indicator indicator
        cdef array.array t, v
        cdef long long ts = bar._mem.ts_event
        try:
            self._candle(bar)
            if self.keep_closes:
                if self.n_closes == self.capacity:
                    self._grow()
                self.closes[self.n_closes] = <double>bar._mem.close.raw / FIXED_SCALAR  # Price.as_f64_c
                self.n_closes += 1
            for indicator, name, t, v in self.reads:
                if indicator.initialized:
                    _append_t(t, ts)
                    _append_v(v, _read(indicator, name))
            self.pending += 1
            if self.pending >= self.batch:
                self.on_batch()
        except Exception:
            self.on_error()

    cdef void _grow(self) except *:
        cdef Py_ssize_t capacity = self.capacity * 2 + 256
        cdef double* grown = <double*>realloc(self.closes, capacity * sizeof(double))
        if grown == NULL:
            raise MemoryError()
        self.closes, self.capacity = grown, capacity

    def candles(self, list bars not None):
        cdef Bar bar
        for bar in bars:
            self._candle(bar)

    def pnl(self, list positions not None, array.array out not None):
        """``Position.unrealized_pnl(close).as_double()`` summed over ``positions``, its steps
        inlined: no Price or Money object per close. A value Money refuses (NaN, out of range)
        is NaN here, which the actor's checks then count and log."""
        cdef Py_ssize_t i, n = self.n_closes, start = len(out)
        cdef Position position
        cdef double avg_px_open, quantity, pnl
        cdef unsigned char precision
        cdef double* totals
        array.resize_smart(out, start + n)
        totals = out.data.as_doubles + start
        for i in range(n):
            totals[i] = 0.0
        for position in positions:
            if position.side == PositionSide.FLAT:
                continue
            avg_px_open, quantity = position.avg_px_open, position.quantity.as_f64_c()
            precision = position.settlement_currency._mem.precision
            for i in range(n):
                pnl = position._calculate_pnl(avg_px_open, self.closes[i], quantity)
                if isnan(pnl) or pnl > MONEY_MAX or pnl < MONEY_MIN:
                    totals[i] = NAN
                else:
                    totals[i] += _money(pnl, precision)
        self.n_closes = 0
        return n


def equity(double balance, array.array pnl, Py_ssize_t start, Py_ssize_t end, double peak,
           array.array equity not None, array.array drawdown not None):
    """``recorder.py_equity``, compiled."""
    cdef Py_ssize_t i, n = end - start, e = len(equity), d = len(drawdown)
    cdef double value
    cdef double* values = pnl.data.as_doubles if pnl is not None else NULL
    if pnl is not None and (start < 0 or end > len(pnl)):
        raise IndexError(f"pnl[{start}:{end}] is outside its {len(pnl)} points")
    if n <= 0:
        return peak
    array.resize_smart(equity, e + n)
    array.resize_smart(drawdown, d + n)
    for i in range(n):
        value = balance + values[start + i] if values != NULL else balance
        equity.data.as_doubles[e + i] = value
        if value > peak:
            peak = value
        drawdown.data.as_doubles[d + i] = (value / peak - 1.0) * 100.0 if peak > 0 else 0.0
    return peak
