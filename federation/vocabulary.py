"""ActivityStreams 2.0 vocabulary: type names, addressing, and readers that survive hostile JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

# https://www.w3.org/TR/activitypub/#public-addressing
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Mastodon's ActivityPub::TagManager#public_collection? also accepts the compacted forms, which
# JSON-LD compaction against the AS2 context produces and some servers send as they are.
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

# https://www.w3.org/TR/activitystreams-vocabulary/#actor-types
ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})
# https://www.w3.org/TR/activitystreams-vocabulary/#activity-types
ACTIVITY_TYPES = frozenset(
    {
        "Accept", "Add", "Announce", "Arrive", "Block", "Create", "Delete", "Dislike", "Flag",
        "Follow", "Ignore", "Invite", "Join", "Leave", "Like", "Listen", "Move", "Offer",
        "Question", "Read", "Reject", "Remove", "TentativeAccept", "TentativeReject", "Travel",
        "Undo", "Update", "View",
    }
)  # fmt: skip
COLLECTION_TYPES = frozenset(
    {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
)

Visibility = Literal["public", "unlisted", "followers", "direct"]
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)

# Addressing properties, https://www.w3.org/TR/activitystreams-vocabulary/#dfn-to and siblings;
# `audience` is how FEP-1b12 groups (Lemmy) name the community a post belongs to.
_RECIPIENT_PROPERTIES = ("to", "bto", "cc", "bcc", "audience")


class VocabularyError(Exception):
    """A document that does not have the shape the vocabulary requires."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def as_list(value: object) -> list[object]:
    """A property value as a list: absent or null is empty, a single value becomes one item."""
    # AS2 properties that are not functional may hold one value or an array of values.
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def first_of(value: object) -> object | None:
    """The first value of a property that may be a single value or an array, or None."""
    items = as_list(value)
    return items[0] if items else None


def id_of(value: object) -> str | None:
    """The identifier of a link or embedded object (a string, or an object's string `id`)."""
    # Mastodon's JsonLdHelper#value_or_id: references are either bare IRIs or embedded objects.
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, str) and value.strip():
        return value
    return None


def ids_of(value: object) -> list[str]:
    """The identifiers of every link or object in a property, skipping values that have none."""
    return [ident for item in as_list(value) if (ident := id_of(item)) is not None]


def required_id(value: object, what: str) -> str:
    """The identifier of a value, or VocabularyError naming `what` when it has none."""
    ident = id_of(value)
    if ident is None:
        raise VocabularyError(f"{what} has no usable id (got {type(value).__name__})")
    return ident


def types_of(value: object) -> frozenset[str]:
    """The `type` names of an object (the property may be a string or an array of strings)."""
    if not isinstance(value, Mapping):
        return frozenset()
    return frozenset(item for item in as_list(value.get("type")) if isinstance(item, str))


def is_public(uri: object) -> bool:
    """Whether an addressing entry names the special Public collection, in any of its forms."""
    return id_of(uri) in PUBLIC_ALIASES


def recipients_of(value: object) -> list[str]:
    """Every id addressed by `to`, `bto`, `cc`, `bcc` and `audience`, first occurrence first."""
    if not isinstance(value, Mapping):
        return []
    seen: dict[str, None] = {}
    for name in _RECIPIENT_PROPERTIES:
        for ident in ids_of(value.get(name)):
            seen.setdefault(ident, None)
    return list(seen)


def _audience(document: Mapping[str, object], name: str, fallback: object) -> list[str]:
    # Mastodon's StatusParser#audience_to is `@object['to'] || @json['to']`: the object's own
    # addressing wins, the enclosing activity's applies only when the object has none at all.
    value = document.get(name)
    if value is None and isinstance(fallback, Mapping):
        value = fallback.get(name)
    return ids_of(value)


def visibility_of(
    document: object, followers_uri: str | None, fallback: object = None
) -> Visibility:
    """The Mastodon visibility of an activity or object, given its author's followers collection.

    `fallback` is the enclosing activity (a Create's object inherits its addressing when it has
    none of its own).
    """
    if not isinstance(document, Mapping):
        raise VocabularyError(f"cannot read addressing from a {type(document).__name__}")
    to = _audience(document, "to", fallback)
    cc = _audience(document, "cc", fallback)
    # Mastodon's ActivityPub::Parser::StatusParser#visibility: Public in `to` is public, Public
    # in `cc` is unlisted, the followers collection in `to` is private; anything else is
    # direct. Mastodon only looks at `to` for the followers collection, and so do we.
    if any(is_public(uri) for uri in to):
        return "public"
    if any(is_public(uri) for uri in cc):
        return "unlisted"
    if followers_uri is not None and followers_uri in to:
        return "followers"
    return "direct"


def addressing_for(
    visibility: str, followers_uri: str, mentions: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """The (`to`, `cc`) lists that give a post this visibility, as Mastodon addresses its own."""
    # Mastodon's ActivityPub::TagManager#to and #cc: mentioned actors go in `cc` except for
    # direct posts, where they are the only (primary) audience. Public and the author's own
    # followers collection are never repeated as "mentions".
    mentioned = [
        uri for uri in dict.fromkeys(mentions) if uri not in PUBLIC_ALIASES and uri != followers_uri
    ]
    if visibility == "public":
        return [PUBLIC], [followers_uri, *mentioned]
    if visibility == "unlisted":
        return [followers_uri], [PUBLIC, *mentioned]
    if visibility == "followers":
        return [followers_uri], mentioned
    if visibility == "direct":
        return mentioned, []
    raise VocabularyError(f"unknown visibility {visibility!r}; expected one of {VISIBILITIES}")
