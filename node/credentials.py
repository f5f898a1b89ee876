"""Credentials issued or held here: their address, the community's signature, what they say,
and the badge image they are baked into (OB 3.0 §5.3)."""

from __future__ import annotations

import html
import io
import json
from typing import Any

from PIL import Image, ImageDraw

from federation import badges as ob3
from federation import baking, integrity, jsonld
from node import achievements, keys
from node.errors import InvalidInput, NotFound
from node.runtime import Tx
from storage.models import Actor, Award, Community

VC_JSON = "application/vc+ld+json"
MAX_CREDENTIAL_BYTES = jsonld.DEFAULT_MAX_BYTES


class CredentialInvalid(InvalidInput):
    """A credential that does not verify; `reason` starts with what failed."""


def invalid(what: str, reason: str) -> CredentialInvalid:
    """A CredentialInvalid whose reason starts with what failed (`revoked`, `wrong key`...)."""
    return CredentialInvalid(f"{what}: {reason}")


def credential_url(tx: Tx, key: str) -> str:
    """The id of a credential issued here: `/credentials/{key}`."""
    return tx.settings.url(f"/credentials/{key}")


def verification_method(actor: Actor) -> str:
    """The community key that signs its credentials (FEP-521a's `#ed25519-key`)."""
    return actor.uri + "#ed25519-key"


def sign(tx: Tx, community: Community, document: dict[str, Any]) -> dict[str, Any]:
    """Sign a credential with the community key, refusing terms the contexts leave undefined."""
    actor = community.actor
    if actor.ed25519_private_sealed is None:
        raise InvalidInput(f"{community.title} has no signing key")
    private_key = keys.ed25519_private_key(
        keys.Sealer(tx.settings.secret), actor.ed25519_private_sealed
    )
    # jsonld.check_fully_defined runs inside sign(): pyld would silently drop an undefined term
    # or resolve a relative IRI, and what it drops is not signed.
    try:
        return integrity.sign(
            document, private_key, verification_method(actor), integrity.RDFC, tx.now()
        )
    except integrity.ProofError as exc:
        raise InvalidInput(f"cannot sign the credential: {exc.reason}") from exc


def summary_of(tx: Tx, record: Award) -> ob3.CredentialSummary:
    """What a stored credential says (shape-checked when it was stored)."""
    return ob3.read_credential(record.credential, allow_http=tx.settings.dev)


def _default_svg(name: str) -> bytes:
    initial = html.escape((name[:1] or "?").upper())
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        f"<title>{html.escape(name)}</title>"
        '<circle cx="128" cy="128" r="120" fill="#2d5f8a"/>'
        '<text x="128" y="160" font-size="96" text-anchor="middle" fill="#fff" '
        f'font-family="sans-serif">{initial}</text></svg>'
    ).encode()


def _default_png() -> bytes:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 248, 248), fill=(45, 95, 138, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def baked_formats(record: Award) -> tuple[str, ...]:
    """Which baked downloads an award offers: its image's format, or both for the default."""
    achievement = record.achievement
    if achievement is None or achievement.image_media_type is None:
        return ("png", "svg")
    return ("svg",) if achievement.image_media_type == "image/svg+xml" else ("png",)


def baked(tx: Tx, record: Award, fmt: str) -> bytes:
    """The badge image with the signed credential baked in (OB 3.0 §5.3), as PNG or SVG."""
    if fmt not in baked_formats(record):
        raise NotFound(f"this badge's image is not available as {fmt.upper()}")
    credential = json.dumps(record.credential, ensure_ascii=False)
    achievement = record.achievement
    stored = achievements.image_bytes(tx, achievement) if achievement is not None else None
    name = achievement.name if achievement is not None else summary_of(tx, record).achievement_name
    try:
        if fmt == "png":
            return baking.bake_png(stored or _default_png(), credential)
        return baking.bake_svg(stored or _default_svg(name), credential)
    except baking.BakingError as exc:
        raise InvalidInput(f"cannot bake the badge: {exc.reason}") from exc


def unbake(file_name: str, data: bytes) -> Any:
    """The credential in a JSON file or a baked PNG/SVG image."""
    try:
        if data.startswith(b"\x89PNG"):
            text = baking.extract_png(data)
        elif file_name.lower().endswith(".svg") or data.lstrip().startswith(b"<"):
            text = baking.extract_svg(data)
        else:
            text = data.decode("utf-8")
        return json.loads(text)
    except baking.BakingError as exc:
        raise invalid("no credential", exc.reason) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid("no credential", f"{file_name} is not JSON nor a baked PNG or SVG") from exc

