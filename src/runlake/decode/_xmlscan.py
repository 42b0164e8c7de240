"""Fast columns from a well-formed XML document: every tag located at once with numpy.

The GPX and TCX decoders read their points through this scan when a document is plain
(see :func:`scan`); anything unusual raises :class:`Unusual` and the decoder reads the
document through the lxml tree instead (:mod:`runlake.decode._xml`), which is the
definition of what is read: ``tests/decode/test_xml_fast.py`` checks that both give the
same result on every corpus file, every fixture and the fuzz cases.

The scan is exact only for a document libxml2 has found well-formed and that has no
``<!`` (comment, CDATA section, DOCTYPE) and no processing instruction (other than the XML
declaration), is UTF-8 (or ASCII), and has as many ``>`` as ``<`` (so no ``>`` in a text or
an attribute value): then every ``<`` opens a tag and the next ``>`` closes it, the text
after a start tag up to the next ``<`` is the element's ``text`` as lxml gives it, and the
nesting follows from counting start and end tags. Element names are compared by local
name, as the tree readers do; a name with a prefix that the root element does not declare
is unusual (lxml would keep the prefix in the name). Entity and character references
(``&amp;``) are decoded only where a caller reads a single value (:meth:`Tags.text`); in
a column they are unusual. The libxml2 check is a parse with no tree (a parser target
with no callbacks), with the same safe options as the tree parse: no DTD, no entity
expansion, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from lxml import etree

from runlake._errors import UnusualXml as Unusual
from runlake.decode._xml import safe_parser, windows

__all__ = ["SCAN_FROM_BYTES", "Tags", "Unusual", "scan"]

SCAN_FROM_BYTES = 64 * 1024
"""Documents smaller than this go straight to the tree: the scan's fixed cost (a few dozen
numpy calls, ~1 ms) is more than the tree walk of a small file."""

_NAME_MAX = 32
"""Longest element name (prefix included) the scan reads; a longer one is unusual."""
_KEY = 16
"""Bytes of a local name compared (a wanted name is never longer)."""

_DELIMITER = np.zeros(256, dtype=bool)
_DELIMITER[[9, 10, 13, 32, 47, 62]] = True  # whitespace, '/', '>'
_CLASS = np.zeros(256, dtype=bool)
_CLASS[[34, 38, 39, 58, 60, 61, 62]] = True  # " & ' : < = >
_NOT_WS = np.ones(256, dtype=bool)
_NOT_WS[[9, 10, 13, 32]] = False
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
_PLAIN_ENCODINGS = frozenset({b"utf-8", b"us-ascii", b"ascii"})
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class _NoEvents:
    """A parser target that builds nothing: libxml2 checks the document and that is all."""

    def close(self) -> None:
        return None


def well_formed(data: bytes) -> bool:
    """Whether libxml2 parses ``data`` without error, with the tree parse's safe options."""
    parser = safe_parser(target=_NoEvents())
    try:
        etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, LookupError, ValueError):
        return False
    return True


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref[0] != "#":
            return _ENTITIES[ref]
        return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))

    return _ENTITY.sub(one, text)


def _key(name: bytes) -> tuple[int, int]:
    padded = np.frombuffer(name.ljust(_KEY, b"\0")[:_KEY], dtype=np.uint64)
    return int(padded[0]), int(padded[1])


def _hash(k0: Any, k1: Any) -> Any:
    """A 64-bit mix of a name's two words (equal names, equal hashes; :meth:`Tags.named`
    then compares the words themselves)."""
    with np.errstate(over="ignore"):
        return k0 * np.uint64(0x9E3779B97F4A7C15) ^ k1


@dataclass(slots=True)
class Tags:
    """Every tag of a plain document, as arrays indexed by tag number (document order).

    A tag is a start tag, an end tag or an empty-element tag; "element tags" are the start
    and empty-element tags (one per element)."""

    data: bytes
    buf: np.ndarray
    """The document's bytes (uint8, no copy)."""
    lt: np.ndarray
    """Offset of each tag's ``<``."""
    gt: np.ndarray
    """Offset of each tag's ``>``."""
    element: np.ndarray
    """Whether a tag starts an element (a start or empty-element tag)."""
    empty: np.ndarray
    """Whether a tag is an empty-element tag (``<a/>``)."""
    depth: np.ndarray
    """The element's depth (the root is 1), for every tag."""
    parent: np.ndarray
    """The tag number of an element tag's parent (-1 for the root and for end tags)."""
    has_text: np.ndarray
    """Whether the element's ``text`` is not None (a start tag followed by text)."""
    text_end: np.ndarray
    """Offset of the ``<`` after each tag (the end of its text)."""
    name_len: np.ndarray
    """Length of each element tag's local name (0 for end tags)."""
    name_start: np.ndarray
    """Offset of each element tag's local name."""
    key0: np.ndarray
    key1: np.ndarray
    lower0: np.ndarray
    lower1: np.ndarray
    amps: np.ndarray | None
    """Offsets of every ``&`` (None when there is none)."""
    quotes: np.ndarray
    """Offsets of every ``"``."""
    apostrophes: np.ndarray
    """Offsets of every ``'``."""
    _hashes: tuple[np.ndarray, np.ndarray] | None = None
    _opens: np.ndarray | None = None
    _closes: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.lt)

    def named(self, local: str, *, lower: bool = False) -> np.ndarray:
        """Element tags whose local name is ``local`` (``lower``: compared lower-cased)."""
        raw = local.encode()
        out = np.zeros(self.n, dtype=bool)
        if len(raw) > _NAME_MAX:
            return out
        k0, k1 = _key(raw[:_KEY])
        a0, a1 = (self.lower0, self.lower1) if lower else (self.key0, self.key1)
        if self._hashes is None:
            self._hashes = (_hash(self.key0, self.key1), _hash(self.lower0, self.lower1))
        hashes = self._hashes[1 if lower else 0]
        maybe = np.flatnonzero(hashes == _hash(np.uint64(k0), np.uint64(k1)))
        out[maybe] = (
            (a0[maybe] == k0)
            & (a1[maybe] == k1)
            & (self.name_len[maybe] == len(raw))
            & self.element[maybe]
        )
        if len(raw) > _KEY:  # the rest of a long name
            maybe = np.flatnonzero(out)
            rest = windows(self.buf, self.name_start[maybe] + _KEY, len(raw) - _KEY)
            tail = np.frombuffer(raw[_KEY:], dtype=np.uint8)
            if lower:
                tail = np.frombuffer(raw[_KEY:].lower(), dtype=np.uint8)
                rest = rest | ((rest >= 65) & (rest <= 90)).astype(np.uint8) * np.uint8(32)
            out[maybe] = (rest == tail).all(axis=1)
        return out

    def ancestors(self, tags: np.ndarray, depths: np.ndarray) -> np.ndarray:
        """The ancestor at depth ``depths`` of each tag of ``tags`` (an element's own start
        tag when it is at that depth)."""
        if self._opens is None:
            opens = np.flatnonzero(self.element & ~self.empty)
            self._opens = np.sort(self.depth[opens] * self.n + opens)
        keys = depths * self.n + tags
        at = np.searchsorted(self._opens, keys, side="right") - 1
        return np.asarray(self._opens[at] - depths * self.n)

    def ends(self, tags: np.ndarray) -> np.ndarray:
        """The tag number of each element's end tag (itself for an empty-element tag)."""
        if self._closes is None:
            closes = np.flatnonzero(~self.element)
            self._closes = np.sort(self.depth[closes] * self.n + closes)
        keys = self.depth[tags] * self.n + tags
        at = np.searchsorted(self._closes, keys, side="left")
        at = np.minimum(at, len(self._closes) - 1)
        found = self._closes[at] - self.depth[tags] * self.n
        return np.asarray(np.where(self.empty[tags], tags, found))

    def rank(self, tags: np.ndarray) -> np.ndarray:
        """A tag number -> its position in ``tags`` (-1 elsewhere)."""
        out = np.full(self.n, -1, dtype=np.int64)
        out[tags] = np.arange(len(tags))
        return out

    def first_child(
        self, parents: np.ndarray, children: np.ndarray, *, with_text: bool = True
    ) -> np.ndarray:
        """For each element of ``parents``, its first child among ``children`` (a mask of
        tags), by default the first whose text is not None; -1 for none."""
        return self.first_within(self.rank(parents)[self.parent], len(parents), children, with_text)

    def first_within(
        self, group: np.ndarray, n_groups: int, candidates: np.ndarray, with_text: bool = True
    ) -> np.ndarray:
        """For each group 0..n_groups-1, the first tag of ``candidates`` (a mask) whose
        ``group`` (per tag, -1: none) it is; -1 for none."""
        mask = candidates & (group >= 0)
        if with_text:
            mask &= self.has_text
        tags = np.flatnonzero(mask)
        out = np.full(n_groups, -1, dtype=np.int64)
        groups, first = np.unique(group[tags], return_index=True)
        out[groups] = tags[first]
        return out

    def inside(self, outer: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """For each tag of ``tags``, the position in ``outer`` (element tags, in document
        order, not nested in each other) of the element that contains it (or is it); -1."""
        if len(outer) == 0:
            return np.full(len(tags), -1, dtype=np.int64)
        at = np.searchsorted(outer, tags, side="right") - 1
        ok = at >= 0
        ends = self.ends(outer)
        ok &= tags <= ends[np.maximum(at, 0)]
        return np.asarray(np.where(ok, at, -1))

    def nonblank(self, tags: np.ndarray) -> np.ndarray:
        """Whether the text of each tag (all with a text) has more than white space."""
        starts, ends = self.gt[tags] + 1, self.text_end[tags]
        lengths = ends - starts
        if len(tags) == 0:
            return np.zeros(0, dtype=bool)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        pos = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        raw = self.buf[pos]
        out = np.asarray(np.add.reduceat(_NOT_WS[raw], offsets) > 0)
        wide = np.add.reduceat(raw >= 0x80, offsets) > 0  # Python's strip() knows more spaces
        for i in np.flatnonzero(wide):
            out[i] = bool((self.text(int(tags[i])) or "").strip())
        return out

    def texts(self, tags: np.ndarray) -> pa.Array:
        """The text of each tag of ``tags`` (-1: null; None text: null) as Arrow strings.

        Raises :class:`Unusual` for a text with a reference (``&...;``)."""
        valid = tags >= 0
        safe = np.where(valid, tags, 0)
        valid &= self.has_text[safe]
        starts = self.gt[safe] + 1
        ends = self.text_end[safe]
        return self._strings(starts, ends, valid)

    def _strings(self, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray) -> pa.Array:
        n = len(starts)
        lengths = np.where(valid, ends - starts, 0)
        if self.amps is not None:
            first = np.searchsorted(self.amps, starts)
            if (valid & (first < np.searchsorted(self.amps, ends))).any():
                raise Unusual("a reference in a value")
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        total = int(offsets[-1])
        pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(total)
        values = self.buf[pos]
        n_null = n - int(valid.sum())
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if n_null else None
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(values), bitmap, n_null
        )

    def attributes(self, tags: np.ndarray, *names: str) -> list[pa.Array]:
        """The values of attributes ``names`` (no prefix) of each element tag of ``tags``.

        Raises :class:`Unusual` unless every tag has them, or when a value has a reference
        or a character that attribute normalisation would change (tab, newline)."""
        if len(tags) == 0:
            return [pa.array([], type=pa.string()) for _ in names]
        plain = self._plain_attributes(tags, names)
        if plain is not None:
            return plain
        starts, ends = self.lt[tags], self.gt[tags]
        lengths = ends - starts + 1
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        pos = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        blob = self.buf[pos].tobytes()  # each tag from '<' to '>': no '<' inside
        out = []
        for name in names:
            pairs = _attribute_pattern(name).findall(blob)
            if len(pairs) != len(tags):
                raise Unusual(f"a tag without {name!r}")
            values = [a or b for a, b in pairs]
            joined = b"".join(values)
            if any(c in joined for c in (b"&", b"\t", b"\n", b"\r")):
                raise Unusual("an attribute value that normalisation changes")
            out.append(pa.array(values, type=pa.binary()).cast(pa.string()))
        return out

    def _plain_attributes(self, tags: np.ndarray, names: tuple[str, ...]) -> list[pa.Array] | None:
        """:meth:`attributes` where every tag has exactly ``len(names)`` attributes, each
        written ``name="value"`` (in any order) and no apostrophe: found from the offsets of
        the quotes alone; None for other tags."""
        lt, gt = self.lt[tags], self.gt[tags]
        first = np.searchsorted(self.quotes, lt)
        k = len(names)
        if (np.searchsorted(self.quotes, gt) - first != 2 * k).any():
            return None
        if (np.searchsorted(self.apostrophes, lt) != np.searchsorted(self.apostrophes, gt)).any():
            return None
        opening = [self.quotes[first + 2 * j] for j in range(k)]
        out = []
        for name in names:
            want = np.frombuffer(name.encode() + b'="', dtype=np.uint8)
            slot = np.full(len(tags), -1, dtype=np.int64)
            for j, quote in enumerate(opening):
                before = windows(self.buf, quote - len(want), len(want) + 1)
                hit = (before[:, 1:] == want).all(axis=1) & ~_NOT_WS[before[:, 0]]
                slot[hit] = j
            if (slot < 0).any():
                return None
            starts = np.choose(slot, opening) + 1
            ends = self.quotes[first + 2 * slot + 1]
            values = self._strings(starts, ends, np.ones(len(tags), dtype=bool))
            raw = np.frombuffer(values.buffers()[2], dtype=np.uint8)
            if ((raw == 9) | (raw == 10) | (raw == 13)).any():
                raise Unusual("an attribute value that normalisation changes")
            out.append(values)
        return out

    def attribute(self, tag: int, name: str) -> str | None:
        """The value of attribute ``name`` of one element tag, as lxml gives it."""
        blob = self.data[self.lt[tag] : self.gt[tag] + 1]
        found = _attribute_pattern(name).findall(blob)
        if not found:
            return None
        raw = (found[0][0] or found[0][1]).decode()
        raw = raw.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
        return _unescape(raw)

    def text(self, tag: int, *, strip: bool = False) -> str | None:
        """The text of one element (None when it has none), as lxml gives it."""
        if tag < 0 or not self.has_text[tag]:
            return None
        raw = self.data[self.gt[tag] + 1 : self.text_end[tag]].decode()
        raw = _unescape(raw.replace("\r\n", "\n").replace("\r", "\n"))
        return raw.strip() if strip else raw


_ATTRIBUTE_PATTERNS: dict[str, re.Pattern[bytes]] = {}
_PLAIN_PATTERNS: dict[tuple[str, ...], re.Pattern[bytes]] = {}


def _plain_pattern(names: tuple[str, ...]) -> re.Pattern[bytes]:
    """A whole tag holding exactly attributes ``names``, in this order, in double quotes."""
    pattern = _PLAIN_PATTERNS.get(names)
    if pattern is None:
        parts = [rb"\s+" + re.escape(n.encode()) + rb'\s*=\s*"([^"]*)"' for n in names]
        pattern = _PLAIN_PATTERNS[names] = re.compile(rb"<[^\s/>]+" + b"".join(parts) + rb"\s*/?>")
    return pattern


def _attribute_pattern(name: str) -> re.Pattern[bytes]:
    """A tag's attribute ``name`` (a match per tag: anchored at the tag's ``<``, walking
    the attributes before it, so a value that happens to hold ``name="..."`` is skipped)."""
    pattern = _ATTRIBUTE_PATTERNS.get(name)
    if pattern is None:
        n = re.escape(name.encode())
        pattern = _ATTRIBUTE_PATTERNS[name] = re.compile(
            rb"<[^\s/>]+(?:\s+(?!" + n + rb"""\s*=)[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*"""
            rb"\s+" + n + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')"""
        )
    return pattern


def _prolog_end(data: bytes) -> int:
    """Where the document after the BOM and XML declaration starts; Unusual for an
    encoding other than UTF-8 or ASCII."""
    if b"\x00" in data[:4]:
        raise Unusual("UTF-16")
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith(b"<?xml", start) and data[start + 5 : start + 6] in (
        b" ",
        b"\t",
        b"\n",
        b"\r",
    ):
        end = data.find(b"?>", start)
        if end < 0:
            raise Unusual("unterminated declaration")
        m = _ENCODING.search(data, start, end)
        if m is not None and m.group(1).lower() not in _PLAIN_ENCODINGS:
            raise Unusual("encoding")
        start = end + 2
    return start


def scan(data: bytes) -> Tags:
    """Every tag of ``data``; raises :class:`Unusual` when the document is not plain or
    not well-formed (the tree parse then raises the right error)."""
    start = _prolog_end(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    marks = np.flatnonzero(_CLASS[buf[start:]]) + start
    kinds = buf[marks]
    lt, gt = marks[kinds == 60], marks[kinds == 62]
    n = len(lt)
    if n == 0 or n != len(gt) or not (lt < gt).all() or not (gt[:-1] < lt[1:]).all():
        raise Unusual("a '>' outside a tag")
    second = buf[lt + 1]
    if ((second == 33) | (second == 63)).any():  # <! and <?
        raise Unusual("a comment, CDATA section, DOCTYPE or processing instruction")
    if not well_formed(data):
        raise Unusual("not well-formed")
    close = second == 47
    empty = (buf[gt - 1] == 47) & ~close
    element = ~close
    delta = np.where(close, -1, np.where(empty, 0, 1))
    level = np.cumsum(delta)
    depth = np.where(close | empty, level + 1, level)
    text_end = np.empty(n, dtype=np.int64)
    text_end[:-1] = lt[1:]
    text_end[-1] = len(data)
    has_text = element & ~empty & (text_end > gt + 1)
    name_len, k0, k1, l0, l1, name_start = _names(
        data,
        buf,
        lt=lt,
        gt=gt,
        empty=empty,
        element=element,
        eq=marks[kinds == 61],
        colons=marks[kinds == 58],
    )
    amps = marks[kinds == 38] if b"&" in data else None
    quotes, apostrophes = marks[kinds == 34], marks[kinds == 39]
    tags = Tags(
        data=data,
        buf=buf,
        lt=lt,
        gt=gt,
        element=element,
        empty=empty,
        depth=depth,
        parent=np.full(n, -1, dtype=np.int64),
        has_text=has_text,
        text_end=text_end,
        name_len=name_len,
        name_start=name_start,
        key0=k0,
        key1=k1,
        lower0=l0,
        lower1=l1,
        amps=amps,
        quotes=quotes,
        apostrophes=apostrophes,
    )
    children = np.flatnonzero(element & (depth > 1))
    tags.parent[children] = tags.ancestors(children, depth[children] - 1)
    return tags


def _name_ends(
    buf: np.ndarray, starts: np.ndarray, gt: np.ndarray, empty: np.ndarray, eq: np.ndarray
) -> np.ndarray:
    """Where each element tag's name ends: at its '>' (or '/>') when the tag has no '='
    (no attribute) and no space before it, else at the first delimiter."""
    ends = gt - empty
    has_eq = np.searchsorted(eq, starts) < np.searchsorted(eq, gt)
    odd = np.flatnonzero(has_eq | _DELIMITER[buf[ends - 1]])
    if len(odd):
        raw = windows(buf, starts[odd], _NAME_MAX + 1)
        stop = _DELIMITER[raw]
        if not stop.any(axis=1).all():
            raise Unusual("a long element name")
        ends[odd] = starts[odd] + stop.argmax(axis=1)
    return np.asarray(ends)


_ONES = np.uint64(0x0101010101010101)
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def _words(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
    """The first 16 bytes of each name (zeros past ``lengths``) as two little-endian words."""
    words = np.ascontiguousarray(windows(buf, starts, _KEY)).view(np.uint64)
    w0 = words[:, 0] & _MASKS[np.clip(lengths, 0, 8)]
    w1 = words[:, 1] & _MASKS[np.clip(lengths - 8, 0, 8)]
    return w0, w1


def _lower(word: np.ndarray) -> np.ndarray:
    """ASCII letters of 8-byte words lower-cased (every byte below 0x80)."""
    with np.errstate(over="ignore"):
        above = word + _ONES * np.uint64(0x80 - 65)  # high bit set from 'A' on
        past = word + _ONES * np.uint64(0x80 - 91)  # ... and from '[' on
    upper = (above ^ past) & (_ONES * np.uint64(0x80))
    return np.asarray(word | (upper >> np.uint64(2)))


def _names(
    data: bytes,
    buf: np.ndarray,
    *,
    lt: np.ndarray,
    gt: np.ndarray,
    empty: np.ndarray,
    element: np.ndarray,
    eq: np.ndarray,
    colons: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """(local name length, its first 16 bytes as two uint64, the same lower-cased) of every
    element tag; Unusual for a name with two colons, a non-ASCII one or an undeclared
    prefix."""
    n = len(lt)
    tags = np.flatnonzero(element)
    starts = lt[tags] + 1
    ends = _name_ends(buf, starts, gt[tags], empty[tags], eq)
    if ((ends - starts) > _NAME_MAX).any():
        raise Unusual("a long element name")
    at = np.searchsorted(colons, starts)
    colons = np.concatenate((colons, [len(buf), len(buf)]))
    first = colons[at]
    prefixed = first < ends
    if (colons[at + 1] < ends).any():
        raise Unusual("a name with two colons")
    local_start = np.where(prefixed, first + 1, starts)
    local_len = ends - local_start
    w0, w1 = _words(buf, local_start, local_len)
    if ((w0 | w1) & (_ONES * np.uint64(0x80))).any():
        raise Unusual("a non-ASCII element name")
    if prefixed.any():
        _check_prefixes(data, buf, starts[prefixed], first[prefixed] - starts[prefixed])
    out = [np.zeros(n, dtype=np.int64)] + [np.zeros(n, dtype=np.uint64) for _ in range(4)]
    out[0][tags] = local_len
    where = np.zeros(n, dtype=np.int64)
    where[tags] = local_start
    out.append(where)
    out[1][tags], out[2][tags] = w0, w1
    out[3][tags], out[4][tags] = _lower(w0), _lower(w1)
    return tuple(out)


def _check_prefixes(data: bytes, buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
    """Unusual unless every prefix is declared once, on the root element."""
    if (lengths > _KEY).any():
        raise Unusual("a long prefix")
    w0, w1 = _words(buf, starts, lengths)
    if w1.any():
        prefixes = {(a, b) for a, b in zip(w0.tolist(), w1.tolist(), strict=True)}
    else:
        prefixes = {(a, 0) for a in np.unique(w0).tolist()}
    root_start = data.find(b"<", _prolog_end(data))
    root = data[root_start : data.find(b">", root_start) + 1]
    for a, b in prefixes:
        prefix = np.array([a, b], dtype=np.uint64).tobytes().rstrip(b"\0")
        if prefix == b"xml":
            continue
        declaration = b"xmlns:" + prefix
        if not re.search(rb"\s" + re.escape(declaration) + rb"\s*=", root):
            raise Unusual("a prefix not declared on the root")
        if data.count(declaration) != 1:
            raise Unusual("a prefix declared again")
