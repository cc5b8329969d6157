"""XML text without a parser: the declaration, the S3 namespace and escaping. Kept apart from xmlio so the error
type (errors.py) can render its documents without importing the request-body parser, which raises it."""
from __future__ import annotations

import re

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
# What XML 1.0 cannot carry at all, not even as a character reference: C0 controls other than tab/LF/CR, lone
# surrogates, U+FFFE/U+FFFF. Error documents echo request values (a bucket name with %00) and must stay parseable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def escape_strict(text: str) -> str:
    """escape() that also replaces characters XML 1.0 forbids with U+FFFD (for error documents)."""
    text = text.translate(_ESCAPES)
    return _NOT_XML.sub("\ufffd", text) if _NOT_XML.search(text) else text
