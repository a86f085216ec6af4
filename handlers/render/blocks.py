"""Block Kit building blocks shared by every reply: escaping, size limits, and small constructors.

Everything here is pure. Blocks are built with `slack_sdk.models.blocks` classes and turned
into dicts with `.to_dict()`, which validates Slack's per-block limits. Slack also refuses
a message whose blocks carry too much text in total (`msg_blocks_too_long`, at roughly
13,000 characters), so `fit` keeps a message under `TEXT_BUDGET` and under the block
count, dropping the overflow with a "… N more" note.

User text reaches Slack only through `escape`, which masks pasted secrets and escapes
`&`, `<` and `>`, so `<!channel>`, `<!here>` and `<@U…>` arrive as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.redact import mask

Block = dict[str, Any]

MAX_BLOCKS = 50  # per message
MAX_VIEW_BLOCKS = 100  # per App Home view
SECTION_MAX = 3000
HEADER_MAX = 150
CONTEXT_MAX = 2000  # per context element (Slack's documented text limit for it)
TEXT_BUDGET = 12_000  # total text across a message's blocks
BUTTON_VALUE_MAX = 2000
FALLBACK_MAX = 3000  # the notification text; Slack allows far more, nobody reads it


def escape(text: str) -> str:
    """User text made safe to post: secrets masked, then &, < and > escaped."""
    return mask(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's own escaping of incoming text (slash command text, message text)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def code(text: str) -> str:
    """User text as inline code (escaped; backticks that would end the span are replaced)."""
    return "`" + escape(text.replace("`", "'")) + "`"


def code_block(text: str) -> str:
    """A ``` block for a snippet (escaped; a ``` inside cannot close it early)."""
    return "```\n" + escape(text.rstrip().replace("```", "'''")) + "\n```"


def clip(text: str, limit: int) -> str:
    """Cut text to limit characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - 40)  # the note is shorter than 40 characters
    return text[:keep] + f"… ({len(text) - keep:,} more characters)"


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and cut to one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- constructors (already-escaped mrkdwn in, validated dicts out) -----------------------------


def section(mrkdwn: str, *, block_id: str | None = None) -> Block:
    """A mrkdwn section, clipped to Slack's 3,000-character limit."""
    return SectionBlock(
        text=MarkdownTextObject(text=clip(mrkdwn, SECTION_MAX)), block_id=block_id
    ).to_dict()


def fields(items: Sequence[str]) -> Block:
    """A section of up to ten short mrkdwn fields (two columns on desktop)."""
    return SectionBlock(
        fields=[MarkdownTextObject(text=clip(t, CONTEXT_MAX)) for t in items[:10]]
    ).to_dict()


def header(text: str) -> Block:
    """A header line (plain text, up to 150 characters)."""
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_MAX), emoji=True)).to_dict()


def context(*mrkdwn: str) -> Block:
    """A small grey line (up to ten mrkdwn elements)."""
    elements = [MarkdownTextObject(text=clip(t, CONTEXT_MAX)) for t in mrkdwn if t][:10]
    return ContextBlock(elements=elements).to_dict()


def divider() -> Block:
    """A horizontal rule."""
    return DividerBlock().to_dict()


def button(
    text: str, action_id: str, value: str | None = None, *, style: str | None = None
) -> ButtonElement:
    """A button; its value must already fit Slack's 2,000 characters."""
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=True), action_id=action_id, value=value, style=style
    )


def actions(buttons: Sequence[ButtonElement], *, block_id: str = "actions") -> Block:
    """A row of buttons."""
    return ActionsBlock(elements=list(buttons), block_id=block_id).to_dict()


# -- measuring and fitting --------------------------------------------------------------------


def text_size(blocks: Iterable[Any]) -> int:
    """Characters of text across blocks: every `text` string, however deeply nested."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                if key == "text" and isinstance(value, str):
                    total += len(value)
                else:
                    stack.append(value)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def more_note(dropped: int) -> str:
    """The default note for left-out blocks."""
    return f"… {dropped} more not shown (Slack limits the size of one message)."


def fit(
    body: Sequence[Block],
    tail: Sequence[Block] = (),
    *,
    max_blocks: int = MAX_BLOCKS,
    budget: int = TEXT_BUDGET,
    note: Callable[[int], str] = more_note,
) -> list[Block]:
    """body + tail within the block count and text budget; what does not fit becomes one note.

    The tail (buttons, the context line) is always kept; body blocks are kept in order
    until the next one would break a limit.
    """
    fixed = text_size(tail) + 200  # room for the note itself
    room = max_blocks - len(tail)
    if len(body) <= room and text_size(body) + text_size(tail) <= budget:
        return [*body, *tail]
    kept: list[Block] = []
    used = fixed
    for block in body:
        size = text_size([block])
        if len(kept) + 1 >= room or used + size > budget:
            break
        kept.append(block)
        used += size
    return [*kept, context(note(len(body) - len(kept))), *tail]


@dataclass(frozen=True)
class Reply:
    """A message to post: fallback text (for notifications) and blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for respond / chat.postMessage."""
        return {"text": clip(self.text, FALLBACK_MAX), "blocks": self.blocks}
