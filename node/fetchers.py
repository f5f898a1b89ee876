"""Who fetches our content: the actor behind a signed GET, for what is not shown to everyone."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from federation.signatures import SignatureError, parse_signature_request
from node import inbox, policy
from node.remote_actors import RemoteError
from node.runtime import Tx
from storage.models import Actor

SIGNATURE_HEADERS = ("signature", "signature-input")


async def signer(
    tx: Tx, method: str, path_with_query: str, headers: Mapping[str, str]
) -> Actor | None:
    """The permitted actor whose HTTP Signature a GET carries, None when unsigned; else Refused."""
    if not any(name.lower() in SIGNATURE_HEADERS for name in headers):
        return None
    scheme = urlsplit(tx.settings.base_url).scheme
    try:
        signed = parse_signature_request(
            method, path_with_query, dict(headers), b"", tx.now(), scheme=scheme
        )
        # The same verification as authorized fetch (node.inbox): one key refetch on failure.
        actor = await inbox.signer_of(tx, signed)
    except (SignatureError, RemoteError) as exc:
        # Mastodon's SignatureVerification answers a signature that fails to verify with 401.
        raise inbox.Refused(f"signature: {exc.reason}", 401) from exc
    if not (await policy.current(tx)).decide_url(actor.uri).permitted:
        return None  # a blocked server's actor reads what anyone may, and nothing more
    return actor
