"""Uploaded files: type and size limits, image checks, content hashes and where the bytes live."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import warnings
from pathlib import Path, PurePath

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from node.errors import InvalidInput, NotFound
from node.licences import optional_licence
from node.runtime import Tx
from storage.models import Actor, Attachment

IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
# Documents teachers share; each checked by its leading bytes, never by the declared type alone.
DOCUMENT_TYPES = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".odt": ("application/vnd.oasis.opendocument.text", b"PK\x03\x04"),
    ".odp": ("application/vnd.oasis.opendocument.presentation", b"PK\x03\x04"),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
    ),
    ".pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        b"PK\x03\x04",
    ),
    ".zip": ("application/zip", b"PK\x03\x04"),
}
TEXT_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv"}
MAX_IMAGE_PIXELS = 40_000_000
MAX_ALT_TEXT = 1500


def _safe_file_name(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip()
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?/')
    if len(cleaned) > 120:
        # Shorten the stem, not the extension: the extension decides how the bytes are checked.
        suffix = PurePath(cleaned).suffix[:16]
        cleaned = cleaned[: 120 - len(suffix)] + suffix
    if not cleaned or cleaned.startswith("."):
        raise InvalidInput("the file needs a name with an extension, such as worksheet.pdf")
    return cleaned


def sniff(file_name: str, data: bytes) -> tuple[str, int | None, int | None]:
    """The media type the bytes really are, with pixel size for images; InvalidInput otherwise."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as image:
                    width, height = image.size
                    if width * height > MAX_IMAGE_PIXELS:
                        raise InvalidInput("the image has too many pixels")
                    image.verify()
                    fmt = image.format or ""
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as exc:
            raise InvalidInput(
                f"{file_name} is not a readable image (PNG, JPEG, GIF or WebP)"
            ) from exc
        if fmt not in IMAGE_FORMATS:
            raise InvalidInput(f"{file_name}: images must be PNG, JPEG, GIF or WebP")
        return IMAGE_FORMATS[fmt], width, height
    if suffix in DOCUMENT_TYPES:
        media_type, magic = DOCUMENT_TYPES[suffix]
        if not data.startswith(magic):
            raise InvalidInput(f"{file_name} does not look like a {suffix} file")
        return media_type, None, None
    if suffix in TEXT_TYPES:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{file_name} is not UTF-8 text") from exc
        return TEXT_TYPES[suffix], None, None
    allowed = sorted({".png", ".jpg", ".gif", ".webp", *DOCUMENT_TYPES, *TEXT_TYPES})
    raise InvalidInput(f"{file_name}: this kind of file is not accepted ({', '.join(allowed)})")


async def store(
    tx: Tx,
    author: Actor,
    file_name: str,
    data: bytes,
    *,
    alt_text: str = "",
    licence: str | None = None,
) -> Attachment:
    """Check an upload and keep it; the file is written before the row, atomically."""
    limit = tx.settings.limits.max_upload_bytes
    if len(data) > limit:
        raise InvalidInput(f"files are at most {limit // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("the file is empty")
    if len(alt_text) > MAX_ALT_TEXT:
        raise InvalidInput(f"alt text is at most {MAX_ALT_TEXT} characters")
    name = _safe_file_name(file_name)
    media_type, width, height = sniff(name, data)
    chosen = optional_licence(licence)
    key = secrets.token_hex(10)
    attachment = Attachment(
        key=key,
        author_id=author.id,
        file_name=name,
        media_type=media_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_path=write_file(tx.settings.media_dir, key, data),
        alt_text=alt_text.strip(),
        license=chosen.spdx_id if chosen else None,
        width=width,
        height=height,
        created_at=tx.now(),
    )
    tx.session.add(attachment)
    await tx.session.flush()
    return attachment


def write_file(media_dir: Path, key: str, data: bytes) -> str:
    """Keep bytes under the media directory, atomically; their path relative to it."""
    relative = Path(key[:2]) / key
    path = media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return str(relative)


def discard_file(media_dir: Path, attachment: Attachment) -> None:
    """Remove an attachment's local bytes, if it has any (its row is the caller's)."""
    path = file_path(media_dir, attachment)
    if path is not None:
        path.unlink(missing_ok=True)


def file_path(media_dir: Path, attachment: Attachment) -> Path | None:
    """Where a local attachment's bytes are, or None for remote files."""
    if attachment.storage_path is None:
        return None
    return media_dir / attachment.storage_path


async def get(tx: Tx, key: str) -> Attachment:
    """The attachment with this public key, or NotFound."""
    attachment = await tx.session.scalar(select(Attachment).where(Attachment.key == key))
    if attachment is None:
        raise NotFound("no such file")
    return attachment
