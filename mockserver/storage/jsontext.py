"""Compact JSON text of the disk backend's documents (buckets, uploads, parts, annotations, the index's legacy key
documents): what `json.JSONEncoder(separators=(",", ":")).encode` writes, with the C encoder made once instead of
per call. (A key log record's versions are not JSON: storage/keypayload.py.)
"""
from __future__ import annotations

import json
from typing import Any

# One encoder for every document (json.dumps with separators builds a JSONEncoder per call); same output.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
# JSONEncoder.encode also makes a C encoder per call: made once here with the same arguments (no cycle check: a
# document is plain dicts and lists). json.encoder.c_make_encoder is None without the _json accelerator.
if json.encoder.c_make_encoder is not None:  # type: ignore[attr-defined]
    _c_encoder = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)

    def encode(document: Any) -> str:
        """`document` (plain dicts, lists and scalars) as compact JSON text, as JSONEncoder(separators=(",", ":"))
        writes it."""
        return "".join(_c_encoder(document, 0))
else:  # pragma: no cover
    encode = _ENCODE  # type: ignore[assignment]
