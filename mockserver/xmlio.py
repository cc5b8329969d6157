"""XML in and out: a hardened lxml parser for request bodies and a small renderer for responses.

Request bodies are matched by local name, so documents with and without the S3 namespace are equal.
Responses are rendered by string building: they are small, flat and on the hot path.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Union

from lxml import etree

from mockserver.errors import malformed_xml
from mockserver.xmltext import S3_NS, XML_DECLARATION, escape

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True)


def parse(body: bytes, root_name: str) -> etree._Element:
    """Parse a request body; anything that is not one well-formed document with root element `root_name`
    is MalformedXML."""
    if not body or not body.strip():
        raise malformed_xml()
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise malformed_xml() from None
    if root is None:
        raise malformed_xml()
    if root.getroottree().docinfo.doctype:
        # No S3 request document has a DTD; hardened parsers (AWS's included) refuse DOCTYPE outright.
        raise malformed_xml()
    if local_name(root) != root_name:
        raise malformed_xml()
    return root


def local_name(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if local_name(c) == name]


def child(el: etree._Element, name: str) -> etree._Element | None:
    for c in el:
        if local_name(c) == name:
            return c
    return None


def child_text(el: etree._Element, name: str) -> str | None:
    c = child(el, name)
    if c is None:
        return None
    return c.text or ""


def only_child_text(el: etree._Element, name: str) -> str | None:
    """child_text of an element the schema allows at most once; a repeated one is MalformedXML (otherwise the
    first silently won: two Status elements, two Keys in a DeleteObjects entry)."""
    found = children(el, name)
    if len(found) > 1:
        raise malformed_xml()
    return (found[0].text or "") if found else None


# ----- rendering -----

Node = Union[str, int, bool, None, "list[tuple[str, Node]]"]


def _render_into(out: list[str], items: Iterable[tuple[str, Node]]) -> None:
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, list):
            out.append(f"<{name}>")
            _render_into(out, value)
            out.append(f"</{name}>")
        elif isinstance(value, bool):
            out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        else:
            text = escape(str(value))
            out.append(f"<{name}>{text}</{name}>" if text else f"<{name}></{name}>")


def render(root: str, items: Iterable[tuple[str, Node]], namespace: bool = True) -> bytes:
    """Render `<root xmlns=S3>items</root>`; a value of None omits the element, a list nests."""
    out = [XML_DECLARATION, f'<{root} xmlns="{S3_NS}">' if namespace else f"<{root}>"]
    _render_into(out, items)
    out.append(f"</{root}>")
    return "".join(out).encode()
