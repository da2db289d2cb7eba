"""Task instructions written in Markdown by whoever models the process, shown safely.

A coordinator who can edit a diagram must not be able to put script on a
caseworker's screen: raw HTML is escaped, links may only lead to web pages
or mail addresses, and images (which would load from anywhere) are off.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)


class _InstructionsMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return bool(_SAFE_LINK.match(url.strip()))


_markdown = _InstructionsMarkdown("commonmark", {"html": False}).disable("image")


def render_markdown(text: str | None) -> Markup:
    return Markup(_markdown.render(text or ""))  # markdown-it escapes: html is off
