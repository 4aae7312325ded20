"""Markdown bodies: stored as written, rendered to HTML that can be shown as it is."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# CommonMark with tables and strikethrough; raw HTML in the source is escaped, not passed on.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener noreferrer"


@lru_cache(maxsize=4096)
def render(markdown: str) -> str:
    """Sanitized HTML of a Markdown body: no scripts, handlers, styles, frames, or
    `javascript:`/`data:` URLs; every link is marked user-generated."""
    html = _markdown.render(markdown)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


_BLOCK_ENDS = {
    "paragraph_close",
    "heading_close",
    "list_item_close",
    "tr_close",
    "fence",
    "code_block",
}
_INLINE_TEXT = {"text", "code_inline", "image"}


@lru_cache(maxsize=4096)
def plain_text(markdown: str) -> str:
    """The text of a Markdown body without its markup, for every place that is not HTML
    (email text parts, snippets, calendar descriptions, push payloads): blocks become lines,
    emphasis and headings' marks go, a link keeps its text, an image its alternative text."""
    lines: list[str] = []
    current: list[str] = []
    for token in _markdown.parse(markdown):
        if token.type == "inline":
            for child in token.children or ():
                if child.type in _INLINE_TEXT:
                    current.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    current.append(" " if child.type == "softbreak" else "\n")
        elif token.type in ("fence", "code_block"):
            current.append(token.content.rstrip("\n"))
        if token.type in _BLOCK_ENDS:
            lines.append("".join(current).strip())
            current = []
    return "\n".join(line for line in lines if line)
