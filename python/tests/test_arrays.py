"""``chartbridge.arrays``: a buffer emptied between hand-overs, compiled (its memory kept for the
compiled appends) and interpreted (``del``), and the points that pass through it over several
hand-overs."""

from __future__ import annotations

import sys
from array import array
from types import ModuleType

import pytest
from conftest import interpreted

from chartbridge import arrays
from chartbridge.producer import PointBuffer
from chartbridge.protocol import decode

FORMS = [arrays, interpreted(arrays)]


@pytest.mark.parametrize("form", FORMS, ids=["compiled", "interpreted"])
def test_clear_empties_in_place_and_the_buffer_grows_again(form: ModuleType) -> None:
    buffer = array("d", [1.5] * 4096)
    same, size = buffer, sys.getsizeof(buffer)  # an array's size counts the memory it holds
    form.clear(buffer)
    assert buffer is same and len(buffer) == 0 and buffer.tolist() == []
    assert (sys.getsizeof(buffer) == size) is form.COMPILED
    buffer.extend(float(i) for i in range(5000))
    buffer.append(-1.0)
    assert len(buffer) == 5001 and buffer[0] == 0.0 and buffer[4999] == 4999.0 and buffer[-1] == -1.0


@pytest.mark.parametrize("form", FORMS, ids=["compiled", "interpreted"])
def test_clear_refuses_a_buffer_being_read(form: ModuleType) -> None:
    buffer = array("q", [7, 8, 9])
    with memoryview(buffer) as view:
        with pytest.raises(BufferError):
            form.clear(buffer)
        assert view.tolist() == [7, 8, 9]
    assert buffer.tolist() == [7, 8, 9]


def test_points_taken_over_several_hand_overs_are_exact() -> None:
    """Candles appended, taken, appended again into the kept memory: each take holds exactly
    the points appended since the one before, column by column."""
    buffer = PointBuffer("k", "candlestick")
    t0 = 1_704_153_600_000_000_000
    sent = []
    for batch in range(3):
        rows = [(t0 + (batch * 3000 + i) * 60_000_000_000, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, float(batch))
                for i in range(3000)]
        for t, *values in rows:
            buffer.append(t, values)
        (fields,) = buffer.take()
        entry = decode(fields)
        assert entry.t == [r[0] for r in rows]
        for i, name in enumerate(("o", "h", "l", "c", "vol")):
            assert entry.columns[name] == [r[i + 1] for r in rows]
        sent.append(len(entry.t))
        assert buffer.take() == []
    assert sent == [3000, 3000, 3000]


def test_a_column_of_interleaved_points_is_copied_out_as_the_strided_view_reads_it() -> None:
    """The compiled column copy of the encoder (``protocol.point_entries``) against the view it
    replaces: every column of candles (5 a point) and of pairs, whole and in a middle range."""
    assert arrays.COMPILED, "chartbridge.arrays is not compiled (scripts/setup.sh builds it)"
    values = array("d", [i * 0.5 - 1e9 if i % 7 else -0.0 for i in range(5 * 1200)])
    for width in (5, 2):
        points = len(values) // width
        for start, stop in ((0, points), (17, 1000), (points - 1, points), (3, 3)):
            for i in range(width):
                with memoryview(values) as view:
                    expected = view[start * width + i:stop * width:width].tobytes()
                assert arrays.column_bytes(values, start, stop, width, i) == expected, (width, start, stop, i)
