"""The safe XML layer of the GPX and TCX decoders: bytes -> an lxml tree, and fast columns.

One parse per file, by libxml2 (lxml) with every door shut: no DTD loaded, no entity
substituted (``resolve_entities=False``), no network, no huge-tree mode (libxml2's limits on
depth, text size and entity amplification stay on), comments and processing instructions
dropped. A document type declaration is refused outright, before the parse where it can be
seen in the bytes and again after it (``docinfo``): no XML bomb, no external entity, no
external DTD. Every refusal and every syntax error is raised as the caller's error class
(GpxError, TcxError) with the line and column, e.g. ``malformed XML at line 61:54: Opening
and ending tag mismatch: Distance line 61 and Time``.

The helpers below turn the text values a decoder collected into numpy columns in bulk:
:func:`parse_floats` (Python's ``float()`` semantics, what gpxpy uses) and
:func:`parse_times` (xsd:dateTime as gpxpy reads it, vectorised with Arrow's RE2 and numpy).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from runlake._errors import DecodeError, OnError, Problem

__all__ = [
    "MAX_XML_BYTES",
    "TIME_AWARE",
    "TIME_INVALID",
    "TIME_NAIVE",
    "LocalNames",
    "NothingFromOutside",
    "Recorder",
    "parse_floats",
    "parse_times",
    "parse_xml",
    "root_name",
    "safe_parser",
]

MAX_XML_BYTES = 200 * 1024 * 1024
"""Default bound on the size of an XML document (200 MB)."""

Element = Any
"""An lxml element (lxml ships no type hints)."""

_POSITION_SUFFIX = re.compile(r",? line \d+, column \d+\s*$")
_DOCTYPE = b"<!DOCTYPE"
# The first element of a document: after the XML declaration, comments, PIs and a DOCTYPE.
_ROOT_TAG = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class NothingFromOutside(etree.Resolver):  # type: ignore[misc]
    """Answers every external reference (a DTD, an entity, an XInclude) with nothing.

    libxml2 opens a DOCTYPE's external subset (``SYSTEM "file:///..."``) even with
    ``load_dtd=False``; with this resolver nothing is opened, locally or on the network.
    """

    def resolve(self, url: str, pubid: str, context: Any) -> Any:
        return self.resolve_string("", context)


def safe_parser(target: Any = None) -> Any:
    """A new parser with the safe options (one per document: lxml parsers keep state): no
    entity expansion, no DTD, no network, nothing resolved from outside, no huge trees.
    ``target``: parse events to it instead of building a tree."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        target=target,
    )
    parser.resolvers.add(NothingFromOutside())
    return parser


def _utf16(head: bytes) -> str | None:
    """The UTF-16 codec a document is written in (by its BOM or NULs), None for others."""
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    if len(head) > 1 and b"\x00" in head[:4]:
        return "utf-16-be" if head[:1] == b"\x00" else "utf-16-le"
    return None


def _head_text(data: bytes, size: int = 4096) -> bytes:
    """The first bytes of a document as ASCII-compatible bytes (UTF-16 transcoded)."""
    head = data[:size]
    encoding = _utf16(head)
    if encoding is None:
        return head
    return head[: len(head) // 2 * 2].decode(encoding, "replace").encode("utf-8", "replace")


def root_name(data: bytes) -> str | None:
    """The local name of a document's root element, read from its first 4 KB (no parse).

    ``None`` when the bytes do not start like XML. Used to tell GPX from TCX by content.
    """
    head = _head_text(data).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return None
    # skip comments and a DOCTYPE whose text could hold a '<name'
    head = re.sub(rb"<!--.*?-->", b"", head, flags=re.S)
    m = _ROOT_TAG.search(head)
    return m.group(1).decode("ascii", "replace") if m else None


def _doctype_in_prolog(data: bytes) -> bool:
    """Whether a DOCTYPE comes before the root element (UTF-16 documents transcoded)."""
    if _utf16(data[:4]) is not None:  # the prolog, transcoded: in the first 64 KB
        data = _head_text(data, 1 << 16)
    at = data.find(_DOCTYPE)
    if at < 0:
        return False
    m = _ROOT_TAG.search(re.sub(rb"<!--.*?-->", b"", data[: at + 1], flags=re.S))
    return m is None  # no element started before it: it is in the prolog


def _syntax_message(exc: Any) -> str:
    msg = _POSITION_SUFFIX.sub("", str(exc.msg or exc)).strip()
    line, column = exc.position if exc.position else (exc.lineno or 0, 0)
    if msg.startswith("Unsupported encoding"):
        return f"unknown encoding at line {line}:{column}: {msg}"
    return f"malformed XML at line {line}:{column}: {msg}"


def parse_xml(
    data: bytes,
    *,
    source: str,
    error: type[DecodeError],
    what: str,
    roots: tuple[str, ...],
    max_bytes: int = MAX_XML_BYTES,
) -> Element:
    """The root element of a well-formed, safe XML document whose root is one of ``roots``.

    Raises ``error`` (naming ``source``) for an oversized, empty, unsafe (a DOCTYPE) or
    malformed document (with its line and column), or one whose root is another element
    (``not a <what> document``).
    """
    if len(data) > max_bytes:
        raise error(
            f"file is {len(data)} bytes, more than the limit of {max_bytes} bytes", source=source
        )
    if not data or data.isspace():  # (no copy of the data, unlike strip())
        raise error("empty file", source=source)
    unsafe = "unsafe XML: document type declaration (DTD) is not allowed"
    if _doctype_in_prolog(data):
        raise error(unsafe, source=source)
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise error(_syntax_message(exc), source=source) from exc
    except (LookupError, ValueError) as exc:  # an encoding libxml2 or Python cannot use
        raise error(f"unknown encoding: {exc}", source=source) from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:  # e.g. a UTF-16 document's DOCTYPE
        raise error(unsafe, source=source)
    local = LocalNames()(root.tag)
    if local not in roots:
        raise error(f"not a {what} document: root element is <{local}>", source=source)
    return root


class LocalNames(dict[str, str]):
    """``{namespace}local`` -> ``local``, remembered per document (tags repeat)."""

    def __missing__(self, tag: object) -> str:
        local = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if isinstance(tag, str):
            self[tag] = local
        return local

    def __call__(self, tag: object) -> str:
        return self[tag] if isinstance(tag, str) else ""


# --------------------------------------------------------------------------- values


# A plain decimal number: Arrow's cast reads it exactly as float() does (both correctly
# rounded; checked on 200,000 random numbers); any other text goes through float() itself.
_DECIMAL = r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"


def _strings(texts: pa.Array | list[str | None]) -> pa.Array:
    return texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.string())


_NUMBER_BYTES = np.zeros(256, dtype=bool)
_NUMBER_BYTES[list(b"0123456789.eE+-")] = True


def _only_number_bytes(arr: pa.Array) -> bool:
    """Whether every text is written with digits, '.', 'e', 'E', '+' and '-' only: where
    Arrow's cast reads such a text, float() reads it to the same value (checked on
    170,000 random texts of these characters); where it does not, neither may float()."""
    if arr.type != pa.string() or len(arr) == 0:
        return False
    offsets = np.frombuffer(
        arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4
    )
    data = arr.buffers()[2]
    if data is None:
        return False
    used = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool(_NUMBER_BYTES[used].all())


def parse_floats(texts: pa.Array | list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Python's ``float()`` of each text (NaN for None), and a mask of the unreadable ones.

    ``float()`` is what gpxpy uses: surrounding whitespace, ``nan``, ``inf``, ``1e5`` and
    ``1_000`` are numbers; anything else is unreadable (NaN, and True in the mask). Plain
    decimals (most of them) are converted in bulk by Arrow, the rest one by one.
    """
    arr = _strings(texts)
    n = len(arr)
    if _only_number_bytes(arr):
        try:  # Arrow reads a subset of what float() reads, with the same values
            cast = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
            return np.array(cast, dtype=np.float64), np.zeros(n, dtype=bool)
        except pa.ArrowInvalid:
            pass
    trimmed = pc.ascii_trim(arr, " \t\n\r")
    plain = pc.match_substring_regex(trimmed, _DECIMAL).fill_null(False)
    fast = np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool)
    values = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    if fast.all():
        values = np.array(pc.cast(trimmed, pa.float64()).to_numpy(zero_copy_only=False))
    elif fast.any():
        values[fast] = pc.cast(pc.filter(trimmed, plain), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    present = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    for i in np.flatnonzero(present & ~fast).tolist():
        try:
            values[i] = float(arr[i].as_py())
        except ValueError:
            bad[i] = True
    return values, bad


TIME_INVALID = 0
"""State of a time that is missing or not a valid xsd:dateTime."""
TIME_AWARE = 1
"""State of a time with a zone (``Z`` or an offset): converted to UTC."""
TIME_NAIVE = 2
"""State of a time without a zone: taken as UTC."""

# gpxpy's timestamp expression (gpxfield.RE_TIMESTAMP), in RE2 with named groups. One
# deliberate difference: gpxpy's zone sign ``[+-−]`` is a character range (U+002B to U+2212,
# digits and letters included); here the sign is one of + - − (U+2212).
_TIME_RE = (
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})[T ]"
    r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})"
    r"(?:\.(?P<f>[0-9]{1,15}))?(?P<z>Z|[+\-\x{2212}][0-9]{2}:?(?:[0-9]{2})?)?$"
)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _ints(col: pa.Array) -> np.ndarray:
    """Digit strings as int64 (0 for null)."""
    ints = pc.cast(col, pa.int64()).fill_null(0)
    return np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146097 + doe - 719468, dtype=np.int64)


def _zone_minutes(zone: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offset in minutes, has a zone) of each zone designator ('' for none)."""
    has_zone = np.asarray(
        pc.greater(pc.utf8_length(zone), 0).fill_null(False).to_numpy(zero_copy_only=False)
    )
    sign_char = pc.utf8_slice_codeunits(zone, 0, 1)
    negative = pc.or_(pc.equal(sign_char, "-"), pc.equal(sign_char, "\u2212"))
    digits = pc.replace_substring(pc.utf8_slice_codeunits(zone, 1, 16), ":", "")
    n_digits = pc.utf8_length(digits)
    hours = _ints(
        pc.if_else(pc.greater_equal(n_digits, 2), pc.utf8_slice_codeunits(digits, 0, 2), "0")
    )
    minutes = _ints(
        pc.if_else(pc.greater_equal(n_digits, 4), pc.utf8_slice_codeunits(digits, 2, 4), "0")
    )
    total = hours * 60 + minutes
    neg = np.asarray(negative.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(neg, -total, total), has_zone


def windows(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes from each offset of ``starts`` (zeros past the end), one row each."""
    if len(buf) < width or (len(starts) and int(starts.max()) > len(buf) - width):
        buf = np.concatenate((buf, np.zeros(width, dtype=np.uint8)))
    view = np.lib.stride_tricks.as_strided(buf, shape=(len(buf) - width + 1, width), strides=(1, 1))
    return np.asarray(view[starts])


_Fields = tuple[np.ndarray, ...]
"""(y, mo, d, h, mi, s, ms part, zone minutes, has a zone) of some times."""
_CANONICAL_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_CANONICAL_WIDTH = 35  # YYYY-MM-DDTHH:MM:SS.<15 digits>Z


def _regex_fields(raw: pa.Array) -> tuple[np.ndarray, _Fields]:
    """(matched, fields) of trimmed times by gpxpy's expression (RE2)."""
    parts = pc.extract_regex(raw, _TIME_RE)
    matched = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    fields = dict(zip(("y", "mo", "d", "h", "mi", "s", "f", "z"), parts.flatten(), strict=True))
    ms_part = _ints(pc.utf8_rpad(pc.utf8_slice_codeunits(fields["f"], 0, 3), 3, "0"))
    zone_min, has_zone = _zone_minutes(fields["z"].fill_null(""))
    ints = [_ints(fields[k]) for k in ("y", "mo", "d", "h", "mi", "s")]
    return matched, (*ints, ms_part, zone_min, has_zone)


def _canonical_fields(raw: pa.Array) -> tuple[np.ndarray, _Fields]:
    """(canonical, fields) of trimmed times, read with numpy where a time is written
    ``YYYY-MM-DDTHH:MM:SS[.f]Z`` (1 to 15 digits of fraction; a space for the T), the
    form of nearly every file, which gpxpy's expression reads the same way."""
    n = len(raw)
    buffers = raw.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=raw.offset * 4)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0)
    lengths = np.diff(offsets)
    valid = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(valid & (lengths >= 20) & (lengths <= _CANONICAL_WIDTH))
    m = windows(data.astype(np.uint8, copy=False), offsets[:-1][rows], _CANONICAL_WIDTH)
    size = lengths[rows]
    digit = (m - 48).astype(np.int64)
    is_digit = (m >= 48) & (m <= 57)
    cols = np.arange(_CANONICAL_WIDTH)
    fraction = (cols >= 20) & (cols < (size - 1)[:, None])
    good = (
        is_digit[:, _CANONICAL_DIGITS].all(axis=1)
        & (m[:, 4] == 45)
        & (m[:, 7] == 45)
        & ((m[:, 10] == 84) | (m[:, 10] == 32))
        & (m[:, 13] == 58)
        & (m[:, 16] == 58)
        & (m[np.arange(len(rows)), size - 1] == 90)
        & ((size == 20) | ((m[:, 19] == 46) & (size >= 22)))
        & (is_digit | ~fraction).all(axis=1)
    )
    canonical = np.zeros(n, dtype=bool)
    canonical[rows[good]] = True
    digit, size = digit[good], size[good]

    def number(*cols: int) -> np.ndarray:
        out = np.zeros(len(digit), dtype=np.int64)
        for c in cols:
            out = out * 10 + digit[:, c]
        return out

    n_frac = size - 21
    ms_part = sum(
        np.where(n_frac > i, digit[:, 20 + i], 0) * scale for i, scale in enumerate((100, 10, 1))
    )
    fields = (
        number(0, 1, 2, 3),
        number(5, 6),
        number(8, 9),
        number(11, 12),
        number(14, 15),
        number(17, 18),
        np.asarray(ms_part, dtype=np.int64),
        np.zeros(len(digit), dtype=np.int64),
        np.ones(len(digit), dtype=bool),
    )
    return canonical, fields


def parse_times(texts: pa.Array | list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds since the epoch (UTC) of xsd:dateTime texts, and each one's state.

    The state is :data:`TIME_AWARE`, :data:`TIME_NAIVE` (no zone: the value is the time
    read as UTC) or :data:`TIME_INVALID` (missing, not a time, an impossible date such as
    February 30, a zone offset of a day or more; the value is 0). Fractions of a second are
    cut to the millisecond (gpxpy keeps microseconds; both floor). Surrounding whitespace is
    ignored.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
    raw = pc.utf8_trim_whitespace(_strings(texts))
    canonical, fast = _canonical_fields(raw)
    if canonical.all():
        matched, fields = canonical, fast
    else:
        rest = np.flatnonzero(~canonical)
        got, slow = _regex_fields(raw.take(pa.array(rest)))
        matched = canonical.copy()
        matched[rest] = got
        fields = tuple(np.zeros(n, dtype=f.dtype) for f in fast)
        for whole, a, b in zip(fields, fast, slow, strict=True):
            whole[canonical] = a
            whole[rest] = b
    y, mo, d, h, mi, s, ms_part, zone_min, has_zone = fields
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_ok = (mo >= 1) & (mo <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, mo, 1)] + ((mo == 2) & leap)
    valid = (
        matched
        & (y >= 1)
        & month_ok
        & (d >= 1)
        & (d <= dim)
        & (h <= 23)
        & (mi <= 59)
        & (s <= 59)
        & (np.abs(zone_min) < 24 * 60)
    )
    seconds = _days_from_civil(y, np.where(month_ok, mo, 1), d) * 86400 + h * 3600 + mi * 60 + s
    ms = (seconds - zone_min * 60) * 1000 + ms_part
    state = np.where(valid, np.where(has_zone, TIME_AWARE, TIME_NAIVE), TIME_INVALID)
    return np.where(valid, ms, 0).astype(np.int64), state.astype(np.int8)


class Recorder:
    """Records a non-fatal problem as a Problem of ``error``'s kind, or raises ``error``
    when ``on_error="raise"``."""

    __slots__ = ("error", "on_error", "problems", "source")

    def __init__(self, source: str, on_error: OnError, error: type[DecodeError]) -> None:
        self.source = source
        self.on_error = on_error
        self.error = error
        self.problems: list[Problem] = []

    def __call__(self, message: str) -> None:
        if self.on_error == "raise":
            raise self.error(message, source=self.source)
        self.problems.append(Problem(self.error.kind, message))
