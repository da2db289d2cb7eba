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
    """Parse bytes into a tree or raise :class:`UnsafeXml` with the line to blame.

    Only UTF-8 is read: the DOCTYPE check below looks for ASCII bytes, which a
    UTF-16 or UTF-32 file spells differently, and the files are stored as text.
    """
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise UnsafeXml("the file must be UTF-8 encoded", line) from None
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
    tree = root.getroottree()
    if tree.docinfo.doctype:  # however it got past the byte check, never keep one
        raise UnsafeXml("DOCTYPE declarations are not allowed", 1)
    return tree


def _doctype_line(content: bytes) -> int | None:
    index = content.find(b"<!DOCTYPE")
    if index < 0:
        return None
    return content.count(b"\n", 0, index) + 1
