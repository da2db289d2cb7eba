"""XML parsing that never resolves entities, loads a DTD or touches the network.

Diagrams come from coordinators' browsers and partner systems, so every file
is hostile until parsed this way. A document with a DOCTYPE is refused
outright: BPMN and DMN never need one, and it is where entity bombs and
external entities live.
"""

from __future__ import annotations

from lxml import etree


class UnsafeXml(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(content: bytes) -> etree._ElementTree:
    """Parse bytes into a tree or raise :class:`UnsafeXml` with the line to blame."""
    doctype_at = _doctype_line(content)
    if doctype_at is not None:
        raise UnsafeXml(
            "DOCTYPE declarations are not allowed (entity expansion and external entities "
            "are refused)",
            doctype_at,
        )
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else None
        raise UnsafeXml(f"not well-formed XML: {error.msg}", line) from None
    return root.getroottree()


def _doctype_line(content: bytes) -> int | None:
    index = content.find(b"<!DOCTYPE")
    if index < 0:
        return None
    return content.count(b"\n", 0, index) + 1
