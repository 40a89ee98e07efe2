"""What an interaction says: notes written in Markdown with @mentions, and received HTML.

Everything that becomes HTML goes through nh3 here, once, when it is written; templates show
``body_html`` as is and never see raw input. A note's Markdown is rendered with raw HTML off,
so a ``<script>`` typed in a note is shown as text; an email's HTML keeps its layout but loses
scripts, event handlers, forms, frames and ``javascript:`` links (it is also shown in a
sandboxed frame whose own CSP blocks remote images until the reader allows them).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html import escape as html_escape

import nh3
from markdown_it import MarkdownIt

# @[Ada Lovelace](user:6f1c...) is what the note editor inserts when a member is picked;
# @ada@example.com works too when typed by hand (the member's sign-in email).
MENTION_TOKEN = re.compile(r"@\[([^\]\n]{1,120})\]\(user:([0-9a-fA-F-]{36})\)")
MENTION_EMAIL = re.compile(r"(?<![\w.+-])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})

NOTE_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2",
    "h3", "h4", "hr", "span", "del",
}  # fmt: skip
EMAIL_TAGS = NOTE_TAGS | {
    "b", "i", "u", "s", "div", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "img",
    "font", "center", "small", "big", "sub", "sup", "h5", "h6", "caption", "col", "colgroup",
    "dl", "dt", "dd", "abbr", "cite", "q", "mark", "section", "article", "header", "footer",
}  # fmt: skip
_EMAIL_ATTRIBUTES = {
    "*": {"style", "title", "align", "valign", "width", "height", "bgcolor", "dir", "lang"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing"},
    "span": {"class"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


@dataclass(frozen=True)
class Mention:
    user_id: uuid.UUID | None  # None: typed by email, resolved against the members later
    email: str
    name: str


def find_mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    for match in MENTION_TOKEN.finditer(text or ""):
        try:
            found.append(Mention(uuid.UUID(match.group(2)), "", match.group(1)))
        except ValueError:
            continue
    for match in MENTION_EMAIL.finditer(MENTION_TOKEN.sub("", text or "")):
        found.append(Mention(None, match.group(1).lower(), match.group(1)))
    return found


def render_note(text: str, members: dict[uuid.UUID, str]) -> str:
    """A note's Markdown as sanitised HTML; mention tokens of members become a highlighted
    name (``members`` maps the ids mentioned to their display names)."""

    def mention(match: re.Match) -> str:
        try:
            user_id = uuid.UUID(match.group(2))
        except ValueError:
            return match.group(0)
        name = members.get(user_id)
        # (the name is the member's, not the token's text: a token cannot forge a label)
        return f"@{name}" if name else f"@{match.group(1)}"

    html = _markdown.render(MENTION_TOKEN.sub(mention, text or ""))
    for name in sorted(set(members.values()), key=len, reverse=True):
        escaped = html_escape(f"@{name}", quote=False)  # as markdown-it escapes text
        html = html.replace(escaped, f'<span class="mention">{escaped}</span>')
    return clean_note_html(html)


def clean_note_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=NOTE_TAGS,
        attributes={"a": {"href"}, "span": {"class"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
        # only the class the renderer sets survives
        attribute_filter=lambda tag, attr, value: (
            value if not (tag == "span" and attr == "class") or value == "mention" else None
        ),
    )


def clean_email_html(html: str) -> str:
    """Received HTML made safe to show: layout kept, anything active removed."""
    return nh3.clean(
        html,
        tags=EMAIL_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=_EMAIL_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def has_remote_images(html: str) -> bool:
    """Whether showing ``html`` as is would fetch images from elsewhere (a tracking pixel)."""
    return bool(re.search(r"""(src\s*=\s*["']?\s*https?:|url\(\s*["']?\s*https?:)""", html, re.I))


def plain_preview(text: str, limit: int = 280) -> str:
    """One line of a text for lists and notifications."""
    flat = " ".join(MENTION_TOKEN.sub(r"@\1", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
