"""Mentions in posts: linking `@name@host` in our HTML and recording who a post mentions."""

from __future__ import annotations

import html
import logging
import re

from node import actors, notifications, remote_actors
from node.errors import GuildhallError
from node.runtime import Tx
from storage.models import Actor, Mention, Post

log = logging.getLogger("guildhall.mentions")

MAX_MENTIONS = 20
# Mastodon's Account::MENTION_RE, with a port allowed in the host for development nodes.
MENTION = re.compile(
    r"(?<![=/\w@])@([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)"
    r"(?:@((?:[a-z0-9-]+\.)*[a-z0-9-]+(?::\d{1,5})?))?",
    re.IGNORECASE,
)
_SKIPPED_ELEMENTS = re.compile(r"<(/?)(a|code|pre)\b", re.IGNORECASE)


# --- mentions in what our members write -------------------------------------------------------


def _text_runs(fragment: str) -> list[tuple[str, bool]]:
    """The fragment split into tags and text, each text run marked when mentions may link in it."""
    runs: list[tuple[str, bool]] = []
    depth = 0
    for part in re.split(r"(<[^>]*>)", fragment):
        if part.startswith("<"):
            match = _SKIPPED_ELEMENTS.match(part)
            if match:
                depth = max(0, depth + (-1 if match.group(1) else 1))
            runs.append((part, False))
        elif part:
            runs.append((part, depth == 0))
    return runs


def _handle(tx: Tx, name: str, host: str | None) -> str:
    return f"{name.lower()}@{(host or tx.settings.domain).lower()}"


async def link_mentions(tx: Tx, fragment: str) -> tuple[str, list[Actor]]:
    """Rendered HTML with `@name` and `@name@host` linked to the actors they resolve to."""
    wanted: dict[str, tuple[str, str | None]] = {}
    for text, linkable in _text_runs(fragment):
        if linkable:
            for match in MENTION.finditer(text):
                wanted.setdefault(_handle(tx, match[1], match[2]), (match[1], match[2]))
    found: dict[str, Actor] = {}
    for handle, (name, host) in list(wanted.items())[:MAX_MENTIONS]:
        try:
            if host is None:
                actor = await actors.find_local(tx, name)
            else:
                actor = await remote_actors.lookup(tx, f"@{name}@{host}")
        except GuildhallError as exc:
            # An unknown or unreachable handle stays plain text, as in Mastodon.
            log.info("mention %s not resolved: %s", handle, exc.reason)
            continue
        if actor is not None and actor.kind != "application":
            found[handle] = actor

    def link(match: re.Match[str]) -> str:
        actor = found.get(_handle(tx, match[1], match[2]))
        if actor is None:
            return match[0]
        # Mastodon's own mention markup (an h-card), so its clients show the handle as a mention.
        return (
            f'<span class="h-card"><a href="{html.escape(actor.url or actor.uri)}" '
            f'class="u-url mention">@<span>{html.escape(match[0][1:])}</span></a></span>'
        )

    linked = "".join(
        MENTION.sub(link, text) if linkable else text for text, linkable in _text_runs(fragment)
    )
    return linked, list(dict.fromkeys(found.values()))


async def record_mentions(
    tx: Tx, post: Post, mentioned: list[Actor], parent: Post | None = None
) -> None:
    """Store who a new post mentions and tell local members (a reply tells its parent's author)."""
    known = {m.actor_id for m in post.mentions}
    # A reply tags the author it answers, as Mastodon and Lemmy do, so their server notifies them.
    everyone = [*mentioned, *([parent.author] if parent is not None else [])]
    for actor in dict.fromkeys(everyone):
        if actor.id in known or actor.id == post.author_id:
            continue
        known.add(actor.id)
        tx.session.add(Mention(post_id=post.id, actor_id=actor.id))
        kind = "reply" if parent is not None and actor.id == parent.author_id else "mention"
        await notifications.about_post(tx, actor, kind, post.author, post)
    await tx.session.flush()
    await tx.session.refresh(post, ["mentions"])
