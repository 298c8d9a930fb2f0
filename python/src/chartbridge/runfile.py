"""Run files (``.cbrun``, protocol/SPEC.md section 13): what ``chartbridge export`` writes, read
back without Redis. ``cb.load_run(path)`` turns one into DataFrames (chartbridge.notebook).

The reader checks the file as it goes and raises ``RunFileError`` saying what is wrong and where,
with the same words as ``chartbridge import``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"chartbridge-run"
VERSION = b"1"
MAX_STRING = 512 * 1024 * 1024  # Redis's largest string: a longer length is corruption
_STREAM_ID = re.compile(rb"[0-9]{1,20}-[0-9]{1,20}")

StreamEntry = tuple[bytes, dict[bytes, bytes]]


class RunFileError(ValueError):
    """A file that is not a whole run file of a version this package reads."""


@dataclass
class RunFile:
    """A run file's content: keys by their suffix (the key without ``<prefix>:{<run>}:``)."""

    header: dict[str, Any]
    strings: dict[str, bytes] = field(default_factory=dict)
    hashes: dict[str, dict[bytes, bytes]] = field(default_factory=dict)
    streams: dict[str, list[StreamEntry]] = field(default_factory=dict)

    @property
    def run(self) -> str:
        return str(self.header["run"])


def _id(raw: bytes) -> tuple[int, int]:
    ms, _, seq = raw.partition(b"-")
    return int(ms), int(seq)


class _Reader:
    def __init__(self, path: str, stream: gzip.GzipFile) -> None:
        self.path, self.stream = path, stream
        self.offset = 0
        self.where = "the header"

    def corrupt(self, what: str) -> RunFileError:
        return RunFileError(f"{self.path} is corrupt at byte {self.offset} of its content, in {self.where}: {what}")

    def take(self, n: int) -> bytes | None:
        """``n`` bytes, or None when the content ended first."""
        parts: list[bytes] = []
        got = 0
        try:
            while got < n:
                chunk = self.stream.read(n - got)
                if not chunk:
                    return None
                parts.append(chunk)
                got += len(chunk)
        except EOFError:
            raise self.truncated(self.offset + got) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise RunFileError(f'{self.path} is corrupt: gzip reports "{exc}" after {self.offset + got} bytes of content, '
                               f"in {self.where}") from None
        self.offset += n
        return b"".join(parts)

    def truncated(self, offset: int) -> RunFileError:
        return RunFileError(f"{self.path} is truncated: its content ends after {offset} bytes, in {self.where} (export the run again)")

    def need(self, n: int) -> bytes:
        got = self.take(n)
        if got is None:
            raise self.truncated(self.offset)
        return got

    def record(self) -> list[bytes]:
        (count,) = struct.unpack("<I", self.need(4))
        parts = []
        for _ in range(count):
            (length,) = struct.unpack("<I", self.need(4))
            if length > MAX_STRING:
                raise self.corrupt(f"a string of {length} bytes, over Redis's 512 MiB")
            parts.append(self.need(length))
        return parts


def read_run_file(path: str | os.PathLike[str]) -> RunFile:
    """The content of the run file at ``path``; raises ``RunFileError`` for a file that is not a
    whole run file of version 1, and ``OSError`` for one that cannot be opened."""
    name = os.fspath(path)
    with open(name, "rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            raise RunFileError(f"{name} is not a Chartbridge run file: it does not start with gzip's bytes 1f 8b")
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw) as stream:
            return _parse(_Reader(name, stream))


def _parse(r: _Reader) -> RunFile:
    first = r.record()
    if first[:1] != [MAGIC]:
        raise r.corrupt(f'the first record is not "{MAGIC.decode()}"')
    if first[1:2] != [VERSION]:
        version = first[1].decode("utf-8", "replace") if len(first) > 1 else None
        raise RunFileError(f"{r.path} is a run file of version {json.dumps(version)}; this chartbridge reads version 1")
    try:
        header = json.loads(first[2])
    except (IndexError, ValueError):
        raise r.corrupt("the header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("run"), str):
        raise r.corrupt("the header names no valid run id")
    out = RunFile(header)
    seen: set[str] = set()
    entries = 0
    while True:
        r.where = f"record {len(seen) + 1} (after the header)"
        parts = r.record()
        kind = parts[0] if parts else b""
        if kind == b"end":
            r.where = "the end record"
            if len(parts) != 3 or parts[1] != str(len(seen)).encode() or parts[2] != str(entries).encode():
                said = [p.decode("utf-8", "replace") for p in parts[1:3]]
                raise r.corrupt(f"the end record says {' keys and '.join(said)} stream entries; the file holds {len(seen)} and {entries}")
            if r.take(1) is not None:
                raise r.corrupt("content follows the end record")
            return out
        if kind not in (b"string", b"hash", b"stream"):
            raise r.corrupt(f"a key record of type {json.dumps(kind.decode('utf-8', 'replace'))}, not string, hash or stream (or the end record)")
        suffix = parts[1].decode() if len(parts) > 1 else ""
        r.where = f"key {json.dumps(suffix)}"
        if not suffix or suffix in seen:
            raise r.corrupt("a key without a name" if not suffix else "the key appears twice")
        seen.add(suffix)
        if kind != b"stream" and out.streams:
            raise r.corrupt(f"a {kind.decode()} after a stream (streams come last)")
        if kind == b"string":
            if len(parts) != 3:
                raise r.corrupt("a string record holds 3 parts")
            out.strings[suffix] = parts[2]
        elif kind == b"hash":
            if len(parts) < 4 or len(parts) % 2:
                raise r.corrupt("a hash record holds field-value pairs")
            out.hashes[suffix] = dict(zip(parts[2::2], parts[3::2]))
        else:
            if len(parts) != 5 or not _STREAM_ID.fullmatch(parts[2]) or not _STREAM_ID.fullmatch(parts[4]):
                raise r.corrupt("a stream record holds its last ID, entries added and max deleted ID")
            last, previous = _id(parts[2]), (0, 0)
            stream: list[StreamEntry] = []
            out.streams[suffix] = stream
            while True:
                r.where = f"entry {len(stream) + 1} of stream {json.dumps(suffix)}"
                entry = r.record()
                if not entry:
                    break
                if not _STREAM_ID.fullmatch(entry[0]) or len(entry) < 3 or len(entry) % 2 != 1:
                    raise r.corrupt("an entry holds its ID and field-value pairs")
                at = _id(entry[0])
                if not previous < at <= last:
                    raise r.corrupt(f"entry ID {entry[0].decode()} is not after {'%d-%d' % previous} and at most the stream's last ID {parts[2].decode()}")
                previous = at
                stream.append((entry[0], dict(zip(entry[1::2], entry[2::2]))))
            entries += len(stream)
