"""Uploads: real images and documents kept with their hash; fakes, bombs and odd files refused."""

import hashlib
import io
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from node import media, members
from node.errors import InvalidInput
from node.runtime import Node, open_node
from node.settings import Limits, Settings
from storage.models import Attachment, Member


def _image(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal" if mode == "RGB" else 0).save(buffer, fmt)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(width: int, height: int, *, pixels: bool) -> bytes:
    """A 1-bit PNG: tiny on disk, `width * height` pixels once decoded."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = (b"\x00" + bytes((width + 7) // 8)) * height if pixels else b"\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
async def alice(node: Node) -> Member:
    async with node.transaction() as tx:
        return await members.add(tx, "alice")


def _files(media_dir: Path) -> list[Path]:
    return [path for path in media_dir.rglob("*") if path.is_file()] if media_dir.exists() else []


async def _store(node: Node, member: Member, name: str, data: bytes, **extra: str) -> Attachment:
    async with node.transaction() as tx:
        return await media.store(tx, member.actor, name, data, **extra)


async def test_a_png_is_kept_with_its_size_hash_and_licence(node: Node, alice: Member) -> None:
    data = _image("PNG", (64, 48))
    stored = await _store(
        node, alice, "diagram.png", data, alt_text="  A teal rectangle ", licence="cc-by-4.0"
    )
    assert stored.media_type == "image/png"
    assert stored.is_image
    assert (stored.width, stored.height) == (64, 48)
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.file_name == "diagram.png"
    assert stored.alt_text == "A teal rectangle"
    assert stored.license == "CC-BY-4.0"
    assert stored.author_id == alice.actor_id
    assert stored.post_id is None
    path = media.file_path(node.settings.media_dir, stored)
    assert path is not None and path.read_bytes() == data
    assert path.is_relative_to(node.settings.media_dir)
    assert _files(node.settings.media_dir) == [path]  # no partial file left behind


@pytest.mark.parametrize(
    ("fmt", "name", "media_type"),
    [
        ("JPEG", "photo.jpg", "image/jpeg"),
        ("JPEG", "photo.JPEG", "image/jpeg"),
        ("GIF", "anim.gif", "image/gif"),
        ("WEBP", "pic.webp", "image/webp"),
        ("JPEG", "really-a-jpeg.png", "image/jpeg"),  # the bytes decide, not the name
    ],
)
async def test_other_image_formats(
    node: Node, alice: Member, fmt: str, name: str, media_type: str
) -> None:
    stored = await _store(node, alice, name, _image(fmt, (10, 20)))
    assert stored.media_type == media_type
    assert (stored.width, stored.height) == (10, 20)


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("worksheet.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf"),
        ("WORKSHEET.PDF", b"%PDF-1.4\n", "application/pdf"),
        ("essay.docx", b"PK\x03\x04rest-of-zip", media.DOCUMENT_TYPES[".docx"][0]),
        ("slides.odp", b"PK\x03\x04rest-of-zip", media.DOCUMENT_TYPES[".odp"][0]),
        ("notes.md", "# Übung\n".encode(), "text/markdown"),
        ("marks.csv", b"name,mark\nalice,5\n", "text/csv"),
    ],
)
async def test_documents_are_checked_by_their_leading_bytes(
    node: Node, alice: Member, name: str, data: bytes, media_type: str
) -> None:
    stored = await _store(node, alice, name, data)
    assert stored.media_type == media_type
    assert not stored.is_image
    assert stored.width is None and stored.height is None


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("photo.png", b"this is not an image at all", "not a readable image"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a readable image"),
        ("photo.png", _image("PNG", (64, 48))[:60], "not a readable image"),  # truncated
        ("photo.png", _image("BMP"), "PNG, JPEG, GIF or WebP"),
        ("photo.jpg", _image("TIFF"), "PNG, JPEG, GIF or WebP"),
        ("worksheet.pdf", b"<html><script>alert(1)</script></html>", "does not look like"),
        ("worksheet.pdf", _image("PNG"), "does not look like"),
        ("essay.docx", b"%PDF-1.7", "does not look like"),
        ("notes.txt", "café".encode("latin-1"), "not UTF-8"),
        ("page.html", b"<html></html>", "not accepted"),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not accepted"),
        ("setup.exe", b"MZ\x90\x00", "not accepted"),
        ("README", b"plain text", "not accepted"),
        ("photo.png.exe", _image("PNG"), "not accepted"),
    ],
)
async def test_fakes_and_unaccepted_files_are_refused(
    node: Node, alice: Member, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await _store(node, alice, name, data)
    assert reason in raised.value.reason
    assert _files(node.settings.media_dir) == []


@pytest.mark.parametrize(
    ("width", "height", "pixels"),
    [
        (8000, 8000, True),  # 64 megapixels: over our limit, under Pillow's own warning
        (10000, 10000, False),  # over Pillow's DecompressionBombWarning threshold
        (100_000, 100_000, False),  # over Pillow's DecompressionBombError threshold
    ],
)
async def test_decompression_bombs_are_refused(
    node: Node, alice: Member, width: int, height: int, pixels: bool
) -> None:
    bomb = _png_bomb(width, height, pixels=pixels)
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInput):
        await _store(node, alice, "bomb.png", bomb)
    assert _files(node.settings.media_dir) == []


async def test_a_large_but_sane_image_is_accepted(node: Node, alice: Member) -> None:
    stored = await _store(node, alice, "scan.png", _png_bomb(4000, 3000, pixels=True))
    assert (stored.width, stored.height) == (4000, 3000)


async def test_size_limits(settings: Settings) -> None:
    small = await open_node(replace(settings, limits=Limits(max_upload_bytes=2 * 1024 * 1024)))
    try:
        async with small.transaction() as tx:
            alice = await members.add(tx, "alice")
            limit = small.settings.limits.max_upload_bytes
            stored = await media.store(tx, alice.actor, "big.txt", b"a" * limit)
            assert stored.size_bytes == limit
            with pytest.raises(InvalidInput) as raised:
                await media.store(tx, alice.actor, "bigger.txt", b"a" * (limit + 1))
            assert "at most 2 MB" in raised.value.reason
            with pytest.raises(InvalidInput) as raised:
                await media.store(tx, alice.actor, "empty.txt", b"")
            assert "empty" in raised.value.reason
    finally:
        await small.close()
    assert len(_files(settings.media_dir)) == 1


async def test_alt_text_and_licence_are_checked(node: Node, alice: Member) -> None:
    data = _image("PNG")
    with pytest.raises(InvalidInput) as raised:
        await _store(node, alice, "a.png", data, alt_text="x" * (media.MAX_ALT_TEXT + 1))
    assert "alt text" in raised.value.reason
    with pytest.raises(InvalidInput) as raised:
        await _store(node, alice, "a.png", data, licence="CC-BY-99")
    assert "CC-BY-99" in raised.value.reason
    assert _files(node.settings.media_dir) == []
    assert (await _store(node, alice, "a.png", data, licence="none")).license is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\alice\\notes.txt", "notes.txt"),
        ('what?"<is>|this*.txt', "whatisthis.txt"),
        ("tab\there.txt", "tabhere.txt"),
        ("Übung 1.txt", "Übung 1.txt"),
        ("  spaced.txt  ", "spaced.txt"),
    ],
)
async def test_file_names_are_made_safe(node: Node, alice: Member, given: str, kept: str) -> None:
    stored = await _store(node, alice, given, b"text")
    assert stored.file_name == kept
    path = media.file_path(node.settings.media_dir, stored)
    assert path is not None and path.is_relative_to(node.settings.media_dir)


async def test_long_file_names_keep_their_extension(node: Node, alice: Member) -> None:
    stored = await _store(node, alice, "lesson plan " * 20 + ".pdf", b"%PDF-1.7\n")
    assert len(stored.file_name) <= 120
    assert stored.file_name.endswith(".pdf")
    assert stored.media_type == "application/pdf"


@pytest.mark.parametrize("name", ["", "   ", ".htaccess", "../", "dir/"])
async def test_nameless_files_are_refused(node: Node, alice: Member, name: str) -> None:
    with pytest.raises(InvalidInput):
        await _store(node, alice, name, b"text")


def test_remote_attachments_have_no_local_file(tmp_path: Path) -> None:
    remote = Attachment(storage_path=None, remote_url="https://elsewhere.example/a.png")
    assert media.file_path(tmp_path, remote) is None
