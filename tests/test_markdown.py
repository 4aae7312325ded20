"""Markdown bodies become HTML that is safe to show: known filter-evasion payloads, 0 survive."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from resolvers.markdown import LINK_REL, render

# Classic XSS filter-evasion vectors (OWASP cheat sheet and friends), as Markdown and raw HTML.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<svg/onload=alert('XSS')>",
    "<BODY ONLOAD=alert('XSS')>",
    '<iframe src="https://evil.example"></iframe>',
    "<iframe src=javascript:alert('XSS')></iframe>",
    '<div style="background-image: url(javascript:alert(1))">x</div>',
    '<style>@import "https://evil.example/x.css";</style>',
    "<object data=\"javascript:alert('XSS')\"></object>",
    '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](  javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '[x](https://example.org "title" onmouseover="alert(1)")',
    '<a href="javascript:alert(1)">x</a>',
    "<<script>alert(1)//<</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<a href="https://example.org" target="_blank" style="color:red">x</a>',
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    '<base href="javascript:alert(1)//">',
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<table background=javascript:alert(1)>",
    "`<script>alert(1)</script>`",
]

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
SAFE_SCHEMES = ("http:", "https:", "mailto:")


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def dangers(html: str) -> list[str]:
    parser = Elements()
    parser.feed(html)
    problems = []
    for tag, attrs in parser.found:
        if tag not in ALLOWED_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                problems.append(f"{tag}[{name}]")
            url = "".join((value or "").split()).lower()
            if (
                name in ("href", "src")
                and ":" in url.split("/")[0]
                and not url.startswith(SAFE_SCHEMES)
            ):
                problems.append(f"{tag}[{name}={value}]")
    return problems


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_known_filter_evasion_payload_survives(payload):
    html = render(payload)
    assert dangers(html) == [], html


def test_the_checker_itself_catches_what_it_must():
    raw = '<script>x</script><a href="javascript:alert(1)" onclick="x">y</a><img src=x style="a">'
    assert dangers(raw) == ["<script>", "a[href=javascript:alert(1)]", "a[onclick]", "img[style]"]


def test_links_are_kept_and_marked_user_generated():
    html = render("See [the compact](https://www.un.org/en/migration2022/global-compact).")
    assert f'rel="{LINK_REL}"' in html
    assert 'href="https://www.un.org/en/migration2022/global-compact"' in html


def test_markdown_structure_survives_sanitizing():
    html = render(
        "# Title\n\n- one\n- two\n\n**bold** and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    for tag in ("<h1>", "<ul>", "<li>", "<strong>", "<code>", "<table>", "<td>"):
        assert tag in html


def test_plain_text_keeps_the_words_and_drops_the_markup():
    from resolvers.markdown import plain_text

    source = (
        "# Fair recruitment\n\n**Employers** pay the _fees_, see [the guide](https://ilo.org).\n\n"
        "- one\n- two\n\n```\ncode <b>kept</b>\n```\n\n![a chart](c.png) <script>x</script>"
    )
    assert plain_text(source) == (
        "Fair recruitment\n"
        "Employers pay the fees, see the guide.\n"
        "one\n"
        "two\n"
        "code <b>kept</b>\n"
        "a chart <script>x</script>"
    )
