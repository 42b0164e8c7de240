"""GPX inputs for the fuzzer: a generator, mutators and the classic XML attacks.

Deterministic given a ``random.Random``. The attacks (billion laughs, quadratic blow-up,
XXE, external DTDs, deep nesting, huge attributes) are what a hostile or broken export
could hold; every one must end as a recorded ``error`` (or a warning), never a crash.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["GPX_ATTACKS", "GPX_MUTATORS", "attack_gpx", "mutate_gpx", "mutate_xml", "random_gpx"]

_NS = (
    'xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"'
)
_TYPES = ["running", "9", "Run", "cycling", "", "trail_running", "hike", "<![CDATA[run]]>"]
_WEIRD_NUMBERS = [
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "",
    " ",
    "1,5",
    "0x10",
    "١٢٣",
    "9" * 400,
    "-0",
    "1e-400",
    "NaN",
    "+5",
]
_WEIRD_TIMES = [
    "2020-13-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "10000-01-01T00:00:00Z",
    "2020-02-30T00:00:00Z",
    "2020-01-01T24:00:00Z",
    "2020-01-01T00:00:00+99:99",
    "2020-01-01T00:00:00.9999999999Z",
    "2020-01-01",
    "yesterday",
    "",
    "2020-01-01T00:00:00+14:00",
    "1970-01-01T00:00:00Z",
    "1900-01-01T00:00:00-12:00",
    "2020-01-01T00:00:60Z",
    "2020-06-01T12:00:00",
]


def random_gpx(rng: random.Random) -> tuple[bytes, list[str]]:
    """A GPX 1.1 track with 1-400 points, extensions, sometimes odd values."""
    start = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(400_000_000))
    n = rng.choice([1, 2, 3, 10, 60, 400])
    weird = rng.random() < 0.3
    kind = rng.choice(_TYPES)
    lat, lon, t = rng.uniform(-80, 80), rng.uniform(-179, 179), start
    segs = []
    for _ in range(rng.choice([1, 1, 2])):
        pts = []
        for _ in range(n):
            lat += rng.uniform(-1e-4, 1e-4)
            lon += rng.uniform(-1e-4, 1e-4)
            t += timedelta(seconds=rng.choice([1, 1, 1, 2, 0, -1, 40, 86400 * 400]))
            tstr = t.strftime("%Y-%m-%dT%H:%M:%SZ")
            la, lo, el = f"{lat:.7f}", f"{lon:.7f}", f"{rng.uniform(-50, 3000):.1f}"
            hr, cad = str(rng.randrange(40, 200)), str(rng.randrange(0, 120))
            if weird and rng.random() < 0.2:
                which = rng.randrange(5)
                if which == 0:
                    tstr = rng.choice(_WEIRD_TIMES)
                elif which == 1:
                    la = rng.choice([*_WEIRD_NUMBERS, "91", "-1000", "1e6"])
                elif which == 2:
                    lo = rng.choice([*_WEIRD_NUMBERS, "181", "720"])
                elif which == 3:
                    el = rng.choice(_WEIRD_NUMBERS)
                else:
                    hr = rng.choice(_WEIRD_NUMBERS)
            time_el = f"<time>{tstr}</time>" if rng.random() > 0.02 else ""
            ext = (
                f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr>"
                f"<gpxtpx:cad>{cad}</gpxtpx:cad></gpxtpx:TrackPointExtension>"
                f"<power>{rng.randrange(0, 600)}</power></extensions>"
                if rng.random() < 0.8
                else ""
            )
            pts.append(f'<trkpt lat="{la}" lon="{lo}"><ele>{el}</ele>{time_el}{ext}</trkpt>')
        segs.append("<trkseg>" + "".join(pts) + "</trkseg>")
    doc = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="fuzz" {_NS}>'
        f"<metadata><time>{start:%Y-%m-%dT%H:%M:%SZ}</time></metadata>"
        f"<trk><name>Morning Run</name><type>{kind}</type>{''.join(segs)}</trk></gpx>\n"
    )
    return doc.encode(), [f"generated track: {n} points x {len(segs)} segments, weird={weird}"]


# --------------------------------------------------------------------------- mutators

GpxMutator = Callable[[random.Random, bytes, bytes], tuple[bytes, str]]
_TOKENS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xD800;",
    b"&unknown;",
    b'"',
    b"'",
    b"]]>",
    b"<!--",
    b"-->",
    b"<?xml version='1.0'?>",
    b"<![CDATA[",
    b"</gpx>",
    b"<gpx>",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b"<trkpt>",
    b"</trkseg>",
    b"<time>",
    b'lat="x"',
    b"xmlns:a='b'",
    b"<a:b:c/>",
    b"<?pi?>",
    b"\r\n",
    b"\t",
]


def g_truncate(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    at = rng.randint(0, len(doc))
    return doc[:at], f"truncate at {at}"


def g_flip(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    if not doc:
        return doc, "flip nothing"
    b = bytearray(doc)
    where = []
    for _ in range(rng.choice([1, 2, 5])):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        where.append(str(i))
    return bytes(b), "flip bits at " + ",".join(where)


def g_token(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    i = rng.randint(0, len(doc))
    tok = rng.choice(_TOKENS)
    return doc[:i] + tok + doc[i:], f"insert {tok!r} at {i}"


def g_chunk(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    i = rng.randint(0, len(doc))
    n = rng.choice([1, 5, 50, 500])
    what = rng.choice(["delete", "duplicate", "splice"])
    if what == "delete":
        return doc[:i] + doc[i + n :], f"delete {n} bytes at {i}"
    if what == "duplicate":
        return doc[:i] + doc[i : i + n] * rng.choice([2, 50]) + doc[i:], f"duplicate at {i}"
    j = rng.randint(0, len(other))
    return doc[:i] + other[j:], f"splice own[:{i}] + other[{j}:]"


def g_value(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    """Replace the text of one time/ele/hr/cad or one lat/lon attribute by an odd value."""
    tag = rng.choice([b"<time>", b"<ele>", b"<gpxtpx:hr>", b"<gpxtpx:cad>", b'lat="', b'lon="'])
    i = doc.find(tag, rng.randint(0, max(0, len(doc) - 1)))
    if i < 0:
        i = doc.find(tag)
    if i < 0:
        return g_token(rng, doc, other)
    start = i + len(tag)
    end_char = b'"' if tag.endswith(b'"') else b"<"
    end = doc.find(end_char, start)
    if end < 0:
        return g_token(rng, doc, other)
    pool = _WEIRD_TIMES if tag == b"<time>" else _WEIRD_NUMBERS
    v = rng.choice(pool).encode()
    return doc[:start] + v + doc[end:], f"value of {tag!r} at {i} = {v[:40]!r}"


def g_encoding(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    what = rng.choice(["utf16", "utf16-nobom", "declared-latin1", "declared-bogus", "bom8"])
    if what == "utf16":
        text = doc.decode("utf-8", "replace").replace('encoding="UTF-8"', 'encoding="UTF-16"')
        return text.encode("utf-16"), what
    if what == "utf16-nobom":
        return doc.decode("utf-8", "replace").encode("utf-16-le"), what
    if what == "declared-latin1":
        return doc.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"') + b"\xe9", what
    if what == "declared-bogus":
        return doc.replace(b'encoding="UTF-8"', b'encoding="x-no-such-codec"'), what
    return b"\xef\xbb\xbf" + doc, what


GPX_MUTATORS: dict[str, GpxMutator] = {
    "truncate": g_truncate,
    "flip": g_flip,
    "token": g_token,
    "chunk": g_chunk,
    "value": g_value,
    "encoding": g_encoding,
}


def mutate_xml(
    rng: random.Random, doc: bytes, other: bytes, mutators: dict[str, GpxMutator]
) -> tuple[bytes, list[str]]:
    """One to three mutations of an XML document, drawn from ``mutators``, and the recipe."""
    recipe = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        name = rng.choice(list(mutators))
        doc, what = mutators[name](rng, doc, other)
        recipe.append(f"{name}: {what}")
    return doc, recipe


def mutate_gpx(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, list[str]]:
    return mutate_xml(rng, doc, other, GPX_MUTATORS)


# --------------------------------------------------------------------------- attacks

_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_TRKPT = (
    b'<trk><trkseg><trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>'
    b'<trkpt lat="1.0001" lon="2"><time>2024-01-01T00:00:01Z</time></trkpt></trkseg></trk>'
)


def billion_laughs(levels: int = 10) -> bytes:
    ents = [b'<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        ents.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">'.encode())
    dtd = b"<!DOCTYPE gpx [" + b"".join(ents) + b"]>"
    return _HEAD + dtd + f'<gpx creator="&lol{levels - 1};">'.encode() + _TRKPT + b"</gpx>"


def quadratic_blowup(size: int = 100_000, refs: int = 10_000) -> bytes:
    dtd = b'<!DOCTYPE gpx [<!ENTITY a "' + b"x" * size + b'">]>'
    return _HEAD + dtd + b"<gpx><trk><name>" + b"&a;" * refs + b"</name></trk></gpx>"


def xxe(target: str = "file:///etc/passwd") -> bytes:
    dtd = f'<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "{target}">]>'.encode()
    return _HEAD + dtd + b"<gpx><trk><name>&xxe;</name>" + _TRKPT[5:]


def xxe_parameter() -> bytes:
    dtd = b'<!DOCTYPE gpx [<!ENTITY % ext SYSTEM "http://127.0.0.1:1/evil.dtd"> %ext;]>'
    return _HEAD + dtd + b"<gpx>" + _TRKPT + b"</gpx>"


def external_dtd() -> bytes:
    return _HEAD + b'<!DOCTYPE gpx SYSTEM "file:///etc/passwd"><gpx>' + _TRKPT + b"</gpx>"


def deep_nesting(depth: int = 100_000) -> bytes:
    inner = b"<x>" * depth + b"</x>" * depth
    return (
        _HEAD + b'<gpx><trk><trkseg><trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</time>'
        b"<extensions>" + inner + b"</extensions></trkpt></trkseg></trk></gpx>"
    )


def huge_attribute(size: int = 2_000_000) -> bytes:
    return _HEAD + b'<gpx creator="' + b"A" * size + b'">' + _TRKPT + b"</gpx>"


def many_attributes(n: int = 50_000) -> bytes:
    attrs = b" ".join(b'a%d="%d"' % (i, i) for i in range(n))
    return _HEAD + b"<gpx " + attrs + b">" + _TRKPT + b"</gpx>"


def huge_text(size: int = 2_000_000) -> bytes:
    return _HEAD + b"<gpx><trk><name>" + b"n" * size + b"</name>" + _TRKPT[5:] + b"</gpx>"


def many_points(n: int = 20_000) -> bytes:
    pts = b"".join(
        b'<trkpt lat="1" lon="2"><time>2024-01-01T%02d:%02d:%02dZ</time></trkpt>'
        % (i // 3600 % 24, i // 60 % 60, i % 60)
        for i in range(n)
    )
    return _HEAD + b"<gpx><trk><trkseg>" + pts + b"</trkseg></trk></gpx>"


GPX_ATTACKS: dict[str, Callable[[], bytes]] = {
    "billion_laughs": billion_laughs,
    "quadratic_blowup": quadratic_blowup,
    "xxe_file": xxe,
    "xxe_http": lambda: xxe("http://127.0.0.1:1/secret"),
    "xxe_parameter": xxe_parameter,
    "external_dtd": external_dtd,
    "deep_nesting": deep_nesting,
    "huge_attribute": huge_attribute,
    "many_attributes": many_attributes,
    "huge_text": huge_text,
    "many_points": many_points,
    "xinclude": lambda: (
        _HEAD + b'<gpx xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd" '
        b'parse="text"/>' + _TRKPT + b"</gpx>"
    ),
    "not_gpx_root": lambda: _HEAD + b"<kml><trk/></kml>",
    "nul_bytes": lambda: _HEAD + b"<gpx>\x00" + _TRKPT + b"</gpx>",
    "empty_gpx": lambda: _HEAD + b"<gpx/>",
    "only_whitespace": lambda: b" \n\t " * 100,
}


def attack_gpx(name: str) -> bytes:
    return GPX_ATTACKS[name]()
