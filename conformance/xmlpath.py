"""Hardened XML parsing and namespace-agnostic paths (`Rule/ApplyServerSideEncryptionByDefault/SSEAlgorithm`)."""
from __future__ import annotations

import re

from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(body: bytes) -> etree._Element | None:
    """Root element, or None when the body is not XML (the mismatch says so, no exception)."""
    if not body or not body.strip():
        return None
    try:
        return etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _segments(path: str) -> list[str]:
    parts = []
    for part in re.findall(r"\{[^}]*\}[^/]+|[^/]+", path):
        if part.startswith("{") and "}" in part:       # {namespace}Name
            part = part.split("}", 1)[1]
        elif ":" in part:                              # s3:Name
            part = part.split(":", 1)[1]
        parts.append(part)
    return parts


def find_all(root: etree._Element, path: str) -> list[etree._Element]:
    """Elements at `path`, matched by local names, relative to the root; a leading root name is allowed."""
    segments = _segments(path)
    if not segments or segments == [""]:
        return [root]
    if segments[0] == local(root.tag):
        nested = _walk([root], segments[1:])
        if nested or len(segments) == 1:
            return nested
    return _walk([root], segments)


def _walk(nodes: list[etree._Element], segments: list[str]) -> list[etree._Element]:
    for segment in segments:
        nodes = [child for node in nodes for child in node if local(child.tag) == segment]
    return nodes


def text_of(element: etree._Element) -> str:
    return (element.text or "").strip()
