"""Body digests of signed requests: `Digest` (RFC 3230) and `Content-Digest` (RFC 9530)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from http_sfv.dictionary import Dictionary
from http_sfv.item import Item

# RFC 9530 §5 algorithm keys; RFC 3230 names are the same once lowercased ("SHA-256").
_ALGORITHMS = {"sha-256": "sha256", "sha-512": "sha512"}


class DigestError(Exception):
    """A body digest header that is malformed, offers no algorithm we know, or does not match."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest_header(body: bytes) -> str:
    """Return the `Digest` header value Mastodon sends and checks: `SHA-256=<base64>`."""
    # Mastodon app/lib/request.rb set_digest!
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def check_digest(value: str, body: bytes) -> None:
    """Check a `Digest` header against the body; raise DigestError unless it matches."""
    # Mastodon app/lib/signed_request.rb verify_body_digest!: comma-separated `alg=base64`, split on
    # the first "=" because base64 padding is "=" too; algorithm names are case-insensitive.
    offered: dict[str, bytes] = {}
    for part in value.split(","):
        algorithm, separator, encoded = part.strip().partition("=")
        if not separator:
            raise DigestError(f"Digest header is malformed: {value!r}")
        try:
            offered[algorithm.lower()] = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise DigestError(f"Digest value for {algorithm} is not valid base64") from None
    _compare(offered, body, "Digest")


def check_content_digest(value: str, body: bytes) -> None:
    """Check a `Content-Digest` header (an RFC 8941 dictionary) against the body."""
    dictionary = Dictionary()
    try:
        dictionary.parse(value.encode("latin-1"))
    except (ValueError, UnicodeEncodeError):
        # Mastodon answers the same for `SHA-256=:…:` (keys must be lowercase in RFC 8941).
        raise DigestError(
            "Content-Digest could not be parsed: it is not a valid RFC 8941 dictionary"
        ) from None
    offered: dict[str, bytes] = {}
    for algorithm, member in dictionary.items():
        if isinstance(member, Item) and isinstance(member.value, bytes):
            offered[algorithm] = member.value
    _compare(offered, body, "Content-Digest")


def _compare(offered: dict[str, bytes], body: bytes, header: str) -> None:
    """Require one known algorithm and that every known algorithm offered matches the body."""
    # RFC 9530 §3: a recipient ignores algorithms it does not support.
    known = {name: digest for name, digest in offered.items() if name in _ALGORITHMS}
    if not known:
        names = ", ".join(offered) or "none"
        raise DigestError(
            f"{header} offers no supported algorithm (sha-256, sha-512); offered: {names}"
        )
    for name, given in known.items():
        computed = hashlib.new(_ALGORITHMS[name], body).digest()
        if given != computed:
            raise DigestError(
                f"{header} does not match the body: computed {name} "
                f"{base64.b64encode(computed).decode('ascii')}; "
                f"given {base64.b64encode(given).decode('ascii')}"
            )
