"""Names of members and communities: one shared name space, as WebFinger needs."""

import re

from node.errors import InvalidInput

# Mastodon's Account::USERNAME_RE, restricted to lower case so names stay unambiguous.
NAME_PATTERN = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")
MAX_NAME_LENGTH = 30
# Paths and words people would mistake for the node itself.
RESERVED = frozenset(
    {
        "actor",
        "administrator",
        "inbox",
        "outbox",
        "root",
        "guildhall",
        "support",
        "system",
        "webmaster",
        "postmaster",
        "abuse",
        "instance",
        "relay",
    }
)


def check_name(name: str) -> str:
    """The name lower-cased, or InvalidInput saying what is wrong with it."""
    name = name.strip().lstrip("@").lower()
    if not name:
        raise InvalidInput("a name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"names are at most {MAX_NAME_LENGTH} characters")
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a valid name: use letters a-z, digits, '_', and '.' or '-' inside"
        )
    if name in RESERVED:
        raise InvalidInput(f"{name!r} is reserved")
    return name
