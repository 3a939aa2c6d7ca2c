"""Decoding an HTML page's bytes as browsers do: a byte-order mark, else the ``Content-Type`` header's charset,
else a ``<meta charset>`` (or ``http-equiv``) in the first 1,024 bytes, else detection, else UTF-8. A server
that sends ``text/html`` without a charset is common (the HTTP default, ISO-8859-1, would garble Arabic).
"""

from __future__ import annotations

import codecs
import re

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def html_encoding(body: bytes, content_type: str | None) -> str:
    """The encoding of an HTML page, found as a browser finds it."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    header = _HEADER.search(content_type or "")
    if found := _known(header.group(1) if header else None):
        return found
    meta = _META.search(body[:1024])
    if found := _known(meta.group(1).decode("ascii", "replace") if meta else None):
        return "utf-8" if found in ("utf-16-le", "utf-16-be", "utf-16") else found  # a meta cannot say UTF-16
    try:  # (a body cut at a size limit may end inside a character: that is still UTF-8)
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # requests' own detector, imported only when needed

    best = from_bytes(body[:65536]).best()
    return best.encoding if best is not None else "utf-8"


def decode_html(body: bytes, content_type: str | None) -> str:
    """An HTML page's text (see :func:`html_encoding`); undecodable bytes are replaced, never fatal."""
    encoding = html_encoding(body, content_type)
    text = body.decode(encoding, errors="replace")
    return text.removeprefix("\ufeff")
