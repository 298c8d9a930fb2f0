# cython: language_level=3, boundscheck=False, wraparound=False
"""The compiled ``BarRecorder`` and ``TickRecorder`` (the interface and the Python twins: ``recorder.py``),
and ``resolve_again``, which reaches the message bus's cache of subscribers.

Built against the ``.pxd`` files of the nautilus_trader it was compiled with (``python/setup.py``),
so a bar's prices are read from its ``Bar_t`` struct and an indicator's ``initialized`` from its
C field: a bar costs tens of nanoseconds, where the same reads through Python objects cost
microseconds inside a backtest. ``BUILT_FOR`` names that version: the struct layouts are only
valid for it, and ``recorder.py`` loads this module only when it matches.
"""

from types import GetSetDescriptorType

cimport cython
from cpython cimport array
from chartbridge.arrays cimport grow
from libc.math cimport NAN, isnan
from libc.stdlib cimport free, realloc
from nautilus_trader.core.rust.model cimport FIXED_SCALAR, MONEY_MAX, MONEY_MIN, PositionSide
from cpython.object cimport PyObject
from nautilus_trader.indicators.averages cimport MovingAverage
from nautilus_trader.indicators.momentum cimport RelativeStrengthIndex
from nautilus_trader.indicators.volatility cimport AverageTrueRange, BollingerBands, DonchianChannel, KeltnerChannel
from nautilus_trader.common.component cimport Clock, MessageBus
from numpy import ndarray
from cpython.pycapsule cimport PyCapsule_New
from nautilus_trader.indicators.base cimport Indicator
from nautilus_trader.cache.cache cimport Cache
from nautilus_trader.model.data cimport Bar, QuoteTick, TradeTick
from nautilus_trader.model.objects cimport Price, Quantity
from nautilus_trader.model.events.position cimport PositionOpened
from nautilus_trader.model.identifiers cimport InstrumentId
from nautilus_trader.model.position cimport Position

cdef extern from *:
    const char* CB_NAUTILUS_VERSION  # defined by setup.py

# Nautilus's raws are int128 in its high-precision build (FIXED_PRECISION 16) and int64 else;
# its .pxd names both ``long long``, so arithmetic on a raw must be C, where model.h's
# ``int128_t`` is the real type of either build.
cdef extern from *:
    """
    #include <math.h>
    static const double CB_POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                                      1e13, 1e14, 1e15, 1e16};

    /* The nearest double to m / 10^precision: one correctly rounded division while m is an exact
       double (below 2^53; 10^precision always is), else parsed from its decimal digits. */
    static double cb_digits(int128_t m, unsigned char precision) {
        if (m > -9007199254740992LL && m < 9007199254740992LL) return (double)(int64_t)m / CB_POW10[precision];
        char digits[64], *end = digits + sizeof(digits) - 8, *at = end;
        int negative = m < 0;
        uint128_t u = negative ? -(uint128_t)m : (uint128_t)m;
        do { *--at = (char)('0' + (int)(u % 10)); u /= 10; } while (u != 0);
        if (negative) *--at = '-';
        snprintf(end, 8, "e-%u", (unsigned)precision);
        return PyOS_string_to_double(at, NULL, NULL);
    }

    static inline double cb_raw(int128_t raw) {
        /* Through int64_t where it fits: the same correctly rounded double, without a call to
           libgcc's int128 conversion (its own code to fetch, at each value of each bar). */
        return raw >= INT64_MIN && raw <= INT64_MAX ? (double)(int64_t)raw : (double)raw;
    }

    /* The decimal a fixed-point raw of `precision` digits holds, as its nearest double
       (Nautilus's as_double divides the raw by 10^FIXED_PRECISION: one ulp off at times). The
       mantissa raw / 10^(FIXED_PRECISION - precision) is an integer; below 2^51 the double
       quotient is within m * 2^-52 < 0.5 of it, so rounding it gives it exactly, as fast as
       as_double (an int128 division costs about 10 ns more a value). */
    static double cb_decimal(int128_t raw, unsigned char precision) {
        double q = cb_raw(raw) / CB_POW10[FIXED_PRECISION - precision];
        /* q + 1.5 * 2^52 - 1.5 * 2^52 rounds |q| < 2^51 to the nearest integer, without a libm call. */
        if (q > -2251799813685248.0 && q < 2251799813685248.0) {
            double shifted = q + 6755399441055744.0;  /* not folded: IEEE arithmetic, no -ffast-math */
            return (shifted - 6755399441055744.0) / CB_POW10[precision];
        }
        int128_t scale = 1;
        for (int i = precision; i < FIXED_PRECISION; i++) scale *= 10;
        return cb_digits(raw / scale, precision);
    }

    /* An amount in a currency of `precision` digits as its integer mantissa (Money's rounding:
       half away from zero). */
    static int64_t cb_mantissa(double amount, unsigned char precision) {
        return (int64_t)round(amount * CB_POW10[precision]);
    }
    """
    double cb_digits(long long m, unsigned char precision)  # int128_t in C: see above
    double cb_raw(long long raw)  # int128_t in C
    double cb_decimal(long long raw, unsigned char precision)
    long long cb_mantissa(double amount, unsigned char precision)

BUILT_FOR = CB_NAUTILUS_VERSION.decode()


# The per-bar helpers return int, -1 on error, rather than void except *: a void function's caller
# asks PyErr_Occurred() after each call (the thread state's, through __tls_get_addr each time).
cdef inline int _append_t(array.array t, long long value) except -1:
    cdef Py_ssize_t n = len(t)
    grow(t, n + 1, 8)
    t.data.as_longlongs[n] = value
    return 0


cdef inline int _append_v(array.array v, double value) except -1:
    cdef Py_ssize_t n = len(v)
    grow(v, n + 1, 8)
    v.data.as_doubles[n] = value
    return 0


cdef extern from "Python.h":
    ctypedef object (*getter)(object, void*)
    ctypedef struct PyGetSetDef:
        getter get
        void* closure
    ctypedef struct PyGetSetDescrObject:
        PyGetSetDef* d_getset


cdef inline bint _own(type cls, Indicator indicator, str name, object descr):
    """Whether ``indicator`` is a ``cls`` whose ``name`` is read by ``cls``'s own getter (``descr``:
    what ``getattr`` finds first along the type's MRO; a subclass may redefine it)."""
    return descr is not None and isinstance(indicator, cls) and descr is vars(cls).get(name)


cdef double* _field(Indicator indicator, str name, object descr):
    """The C field behind an output of a Nautilus indicator class this module knows (the getter
    would box the same double in a float object: 7 reads a bar in the indicator-heavy shapes);
    else NULL."""
    if name == "value":
        if _own(MovingAverage, indicator, name, descr):
            return &(<MovingAverage>indicator).value
        if _own(RelativeStrengthIndex, indicator, name, descr):
            return &(<RelativeStrengthIndex>indicator).value
        if _own(AverageTrueRange, indicator, name, descr):
            return &(<AverageTrueRange>indicator).value
    elif _own(BollingerBands, indicator, name, descr):
        return _band(&(<BollingerBands>indicator).upper, &(<BollingerBands>indicator).middle,
                     &(<BollingerBands>indicator).lower, name)
    elif _own(KeltnerChannel, indicator, name, descr):
        return _band(&(<KeltnerChannel>indicator).upper, &(<KeltnerChannel>indicator).middle,
                     &(<KeltnerChannel>indicator).lower, name)
    elif _own(DonchianChannel, indicator, name, descr):
        return _band(&(<DonchianChannel>indicator).upper, &(<DonchianChannel>indicator).middle,
                     &(<DonchianChannel>indicator).lower, name)
    return NULL


cdef inline double* _band(double* upper, double* middle, double* lower, str name) noexcept:
    """A band indicator's output ``name`` among its three (NULL: another output, e.g. ``k``)."""
    return upper if name == "upper" else middle if name == "middle" else lower if name == "lower" else NULL


cdef class _Read:
    """One entry of ``BarRecorder.reads``, typed: the loop over them touches one object each. An
    output is read from its C field where this module knows the class (``_field``); else, an
    attribute that is a C type's getter (a Cython ``cdef readonly``, as every Nautilus
    indicator's outputs) is read by calling that getter, which is what ``getattr`` finds and
    calls (a data descriptor of the type comes before the instance's dict), less its lookups:
    ~500 instructions a read inside a backtest."""
    cdef Indicator indicator
    cdef str name
    cdef double* field  # the output's C field in ``indicator`` (kept alive here); NULL: none known
    cdef object descr  # the getter's descriptor, kept alive; None: read by getattr
    cdef PyGetSetDef* getset
    cdef array.array t, v

    def __init__(self, Indicator indicator, str name, array.array t not None, array.array v not None):
        self.indicator, self.name, self.t, self.v = indicator, name, t, v
        descr = next((k.__dict__[name] for k in type(indicator).__mro__ if name in k.__dict__), None)
        self.field = _field(indicator, name, descr)
        if type(descr) is GetSetDescriptorType and (<PyGetSetDescrObject*><PyObject*>descr).d_getset.get != NULL:
            self.descr = descr
            self.getset = (<PyGetSetDescrObject*><PyObject*>descr).d_getset

    cdef double value(self) except? -1.0:
        if self.field != NULL:
            return self.field[0]
        if self.getset != NULL:
            return self.getset.get(self.indicator, self.getset.closure)
        return getattr(self.indicator, self.name)


cdef long long _clock_ns(object clock) except -1:
    return (<Clock>clock).timestamp_ns()


# The integration clock read in C by the SDK's fast path (``fastline.read_clock_with``): the
# actor's clock is a ``Clock``, whose ``timestamp_ns`` is a C method.
CLOCK = Clock
CLOCK_NS = PyCapsule_New(<void*>_clock_ns, "chartbridge.clock_ns", NULL)


cdef inline void _columns(Bar b, double* row) noexcept:
    """A bar's open, high, low, close and volume into ``row``."""
    row[0] = cb_decimal(b._mem.open.raw, b._mem.open.precision)
    row[1] = cb_decimal(b._mem.high.raw, b._mem.high.precision)
    row[2] = cb_decimal(b._mem.low.raw, b._mem.low.precision)
    row[3] = cb_decimal(b._mem.close.raw, b._mem.close.precision)
    row[4] = cb_decimal(b._mem.volume.raw, b._mem.volume.precision)


cdef int _row_into(object bar, double* row) except -2:
    """``candle_row`` into ``row``: 5 columns, -1 for anything but a ``Bar``."""
    if type(bar) is not Bar:
        return -1
    _columns(<Bar>bar, row)
    return 5


def candle_row(object bar):
    """A ``Bar``'s open, high, low, close and volume, each the nearest double of its decimal (as
    the recorder charts them), read from its struct; None for anything else. The SDK's fast path
    of a candlestick ``@cb.chart`` returning a ``Bar`` (``series.row_reader_of``): reading the
    parts through Python makes an object per part. Compiled, that fast path calls its C twin
    (``ROW_INTO``), which makes no tuple either."""
    cdef double row[5]
    if _row_into(bar, row) < 0:
        return None
    return (row[0], row[1], row[2], row[3], row[4])


ROW_INTO = PyCapsule_New(<void*>_row_into, "chartbridge.row_into", NULL)


cdef double _decimal(object x) noexcept:
    """A ``Price``'s or ``Quantity``'s decimal as its nearest double (``convert.decimal_value``),
    read from its struct; NaN for anything else."""
    if type(x) is Price:
        return cb_decimal((<Price>x)._mem.raw, (<Price>x)._mem.precision)
    if type(x) is Quantity:
        return cb_decimal((<Quantity>x)._mem.raw, (<Quantity>x)._mem.precision)
    return NAN


# The SDK's fast path reads a returned Price or Quantity through this (``fastline.read_decimals_with``):
# through Python, its precision and float() cost an attribute lookup and a call each.
DECIMALS = (Price, Quantity)
DECIMAL = PyCapsule_New(<void*>_decimal, "chartbridge.decimal", NULL)


def arrays(MessageBus bus):
    """The topics whose subscribers ``bus`` keeps as numpy arrays (``resolve_again``)."""
    cdef dict patterns = bus._patterns  # untyped: iterating the typed dict makes a memoryview of each value
    return [topic for topic, subscribers in patterns.items() if isinstance(subscribers, ndarray)]


def resolve_again(MessageBus bus):
    """Drop the subscribers ``bus`` keeps as a numpy array for a topic (``arrays``), so that its
    next publish resolves them again. A subscription or unsubscription made after a topic was
    first published (the actor's, at the first bar) stores that topic's subscribers as an array
    (``MessageBus.subscribe``), which ``publish_c`` turns into a typed memoryview at every
    message: a memoryview object and a buffer request, ~1,000 instructions and numpy's buffer
    code a bar. A topic the bus resolves itself is kept as that memoryview. Resolving finds the
    same subscribers in the same order (by priority, then subscription order); a version whose
    cache holds no arrays is left as it is.

    The bus keeps, per subscription, the topics it is cached under (an unsubscription removes it
    from each): a dropped topic leaves those lists too, and resolving adds it back."""
    cdef str topic
    cdef list topics
    dropped = arrays(bus)
    for topic in dropped:
        del bus._patterns[topic]
    if dropped:
        for topics in bus._subscriptions.values():
            topics[:] = [topic for topic in topics if topic not in dropped]


cdef double _priced(list positions, double close) except? -1.0:
    """``Position.unrealized_pnl(close)`` summed over ``positions`` as Money (in its currency's
    units, then the nearest double of that decimal), its steps inlined: no Price or Money object
    per close. A value Money refuses (NaN, out of range) is NaN here, which the actor's checks
    then count and log."""
    cdef Position position
    cdef long long units = 0
    cdef unsigned char precision = 0
    cdef double pnl
    for position in positions:
        if position.side == PositionSide.FLAT:
            continue
        precision = position.settlement_currency._mem.precision  # one instrument: one currency
        pnl = position._calculate_pnl(position.avg_px_open, close, position.quantity.as_f64_c())
        if isnan(pnl) or pnl > MONEY_MAX or pnl < MONEY_MIN:
            return NAN
        units += cb_mantissa(pnl, precision)
    return cb_digits(units, precision)


cdef list _open(list positions):
    """The positions not closed."""
    cdef Position position
    return [position for position in positions if position.side != PositionSide.FLAT]


cdef inline bint _holds(list positions, object position):
    """Whether ``positions`` holds this very object (a netting position reopened is a new
    ``Position`` equal to the closed one: the same id)."""
    cdef object held
    for held in positions:
        if held is position:
            return True
    return False


cdef class BarRecorder:
    cdef array.array t, v
    cdef double* closes
    cdef Py_ssize_t n_closes, capacity
    cdef bint keep_closes
    cdef object on_batch, on_error
    cdef public list reads
    cdef list _reads  # ``reads`` as ``_Read``s, made again when ``reads`` grows
    cdef public long pending, batch
    # Pricing each bar as it is recorded (``price_each``): the actor's event log, scanned for
    # the instrument's new positions, and the PnL lines.
    cdef list log
    cdef Py_ssize_t scanned
    cdef Cache cache
    cdef InstrumentId instrument_id
    cdef array.array pnl_t, pnl_v
    cdef public list positions, marks

    def __init__(self, array.array t not None, array.array v not None, on_batch, on_error, long batch,
                 bint keep_closes):
        if t.ob_descr.typecode != c'q' or v.ob_descr.typecode != c'd':
            raise TypeError("BarRecorder needs array('q') times and array('d') values")
        self.t, self.v = t, v
        self.on_batch, self.on_error = on_batch, on_error
        self.batch, self.keep_closes = batch, keep_closes
        self.reads = []
        self._reads = []
        self.pending = 0
        self.positions = []
        self.marks = []

    def price_each(self, list log not None, Cache cache not None, InstrumentId instrument_id not None,
                   list positions not None, array.array pnl_t not None, array.array pnl_v not None):
        """From the next bar on, price each bar as it is recorded (see ``recorder.py``)."""
        self.log, self.cache, self.instrument_id, self.positions = log, cache, instrument_id, positions
        self.pnl_t, self.pnl_v = pnl_t, pnl_v
        self.scanned = 0
        self.marks = []

    def keep_each(self):
        """Back to keeping closes for ``pnl``; returns the positions still open."""
        self.log = None
        return self.rescan()

    def rescan(self):
        """The log was emptied: scan it from its start; returns the positions still open."""
        self.scanned = 0
        self.marks = []
        self.positions = _open(self.positions)
        return self.positions

    def __dealloc__(self):
        free(self.closes)

    @property
    def kept(self):
        """Closes kept for ``pnl``."""
        return self.n_closes

    cdef int _candle(self, Bar bar) except -1:
        _append_t(self.t, bar._mem.ts_event)
        cdef Py_ssize_t n = len(self.v)
        grow(self.v, n + 5, 8)
        _columns(bar, self.v.data.as_doubles + n)
        return 0

    @cython.always_allow_keywords(False)  # METH_O: the bus calls it with no argument tuple
    def record(self, Bar bar):
        cdef _Read read
        cdef long long ts = bar._mem.ts_event
        try:
            self._candle(bar)
            if self.log is not None:
                if len(self.log) != self.scanned:
                    self._scan()
                _append_t(self.pnl_t, ts)
                _append_v(self.pnl_v, _priced(self.positions, cb_raw(bar._mem.close.raw) / FIXED_SCALAR))
            elif self.keep_closes:
                if self.n_closes == self.capacity:
                    self._grow()
                # Price.as_f64_c, as Position.unrealized_pnl prices it, so the PnL is Nautilus's
                self.closes[self.n_closes] = cb_raw(bar._mem.close.raw) / FIXED_SCALAR
                self.n_closes += 1
            if len(self._reads) != len(self.reads):
                self._reads = [_Read(*entry) for entry in self.reads]
            for read in self._reads:
                if read.indicator.initialized:
                    _append_t(read.t, ts)
                    _append_v(read.v, read.value())
            self.pending += 1
            if self.pending >= self.batch:
                self.on_batch()
        except Exception:
            self.on_error()

    cdef int _scan(self) except -1:
        """The log's entries since the last bar came before this one: its new positions of the
        instrument join those that price it, and ``marks`` notes where they apply."""
        cdef Py_ssize_t i, n = len(self.log)
        cdef object entry
        cdef Position position
        # a netting position reopened is a new object: the closed ones would be looped over at each bar
        self.positions = _open(self.positions)
        for i in range(self.scanned, n):
            entry = self.log[i]
            if type(entry) is PositionOpened and (<PositionOpened>entry).instrument_id == self.instrument_id:
                position = self.cache.position((<PositionOpened>entry).position_id)
                if position is not None and not _holds(self.positions, position):
                    self.positions.append(position)
        self.marks += [n, len(self.pnl_t)]
        self.scanned = n
        return 0


    cdef int _grow(self) except -1:
        cdef Py_ssize_t capacity = self.capacity * 2 + 256
        cdef double* grown = <double*>realloc(self.closes, capacity * sizeof(double))
        if grown == NULL:
            raise MemoryError()
        self.closes, self.capacity = grown, capacity
        return 0

    def candles(self, list bars not None):
        cdef Bar bar
        for bar in bars:
            self._candle(bar)

    def pnl(self, list positions not None, array.array out not None):
        """``_priced`` at each close kept, into ``out``."""
        cdef Py_ssize_t i, n = self.n_closes, start = len(out)
        grow(out, start + n, 8)
        for i in range(n):
            out.data.as_doubles[start + i] = _priced(positions, self.closes[i])
        self.n_closes = 0
        return n


def equity(double balance, array.array pnl, Py_ssize_t start, Py_ssize_t end, double peak,
           array.array equity not None, array.array drawdown not None, unsigned char precision):
    """``recorder.py_equity``, compiled."""
    cdef Py_ssize_t i, n = end - start, e = len(equity), d = len(drawdown)
    cdef double value
    cdef double* values = pnl.data.as_doubles if pnl is not None else NULL
    cdef long long units
    if pnl is not None and (start < 0 or end > len(pnl)):
        raise IndexError(f"pnl[{start}:{end}] is outside its {len(pnl)} points")
    if precision > 16:
        raise ValueError(f"a currency of {precision} digits")
    units = cb_mantissa(balance, precision)
    if n <= 0:
        return peak
    grow(equity, e + n, 8)
    grow(drawdown, d + n, 8)
    for i in range(n):
        if values == NULL:
            value = balance
        elif isnan(values[start + i]):
            value = NAN
        else:
            value = cb_digits(units + cb_mantissa(values[start + i], precision), precision)
        equity.data.as_doubles[e + i] = value
        if value > peak:
            peak = value
        drawdown.data.as_doubles[d + i] = (value / peak - 1.0) * 100.0 if peak > 0 else 0.0
    return peak


cdef class TickRecorder:
    """``recorder.PyTickRecorder``, compiled: a tick's prices are read from its C struct."""
    cdef array.array bid_t, bid_v, ask_t, ask_v, trade_t, trade_v
    cdef object on_batch, on_error
    cdef long long interval, last_ts
    cdef public long pending, batch
    cdef public object quote, trade, last
    cdef public list samples

    def __init__(self, on_batch, on_error, long batch, long long interval):
        self.on_batch, self.on_error = on_batch, on_error
        self.batch, self.interval = batch, interval
        self.pending = 0
        self.samples = []

    def take_quotes(self, array.array bid_t not None, array.array bid_v not None, array.array ask_t not None,
                    array.array ask_v not None):
        self.bid_t, self.bid_v, self.ask_t, self.ask_v = bid_t, bid_v, ask_t, ask_v

    def take_trades(self, array.array t not None, array.array v not None):
        self.trade_t, self.trade_v = t, v

    @property
    def last_t(self):
        return self.last_ts

    @cython.always_allow_keywords(False)
    def record(self, tick):
        cdef QuoteTick quote
        cdef TradeTick trade
        cdef long long ts
        try:
            if type(tick) is QuoteTick and self.bid_t is not None:
                quote = <QuoteTick>tick
                ts = quote._mem.ts_event
                _append_t(self.bid_t, ts)
                _append_v(self.bid_v, cb_decimal(quote._mem.bid_price.raw, quote._mem.bid_price.precision))
                _append_t(self.ask_t, ts)
                _append_v(self.ask_v, cb_decimal(quote._mem.ask_price.raw, quote._mem.ask_price.precision))
            elif type(tick) is TradeTick and self.trade_t is not None:
                trade = <TradeTick>tick
                ts = trade._mem.ts_event
                _append_t(self.trade_t, ts)
                _append_v(self.trade_v, cb_decimal(trade._mem.price.raw, trade._mem.price.precision))
            else:
                raise TypeError(f"a {type(tick).__name__} is not a tick this recorder takes")
            if self.interval:
                if self.last is not None and ts // self.interval != self.last_ts // self.interval:
                    self.samples.append((self.last_ts, self.quote, self.trade))
                self.last, self.last_ts = tick, ts
            if type(tick) is QuoteTick:
                self.quote = tick
            else:
                self.trade = tick
            self.pending += 1
            if self.pending >= self.batch:
                self.on_batch()
        except Exception:
            self.on_error()
