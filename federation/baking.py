"""Open Badges 3.0 baking: credentials embedded in, and extracted from, PNG and SVG images."""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

# https://www.imsglobal.org/spec/ob/v3p0/#baked-badge ("Baked Badge", OB 3.0 §5.3)
PNG_KEYWORD = b"openbadgecredential"
SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
_SVG_ROOT = "http://www.w3.org/2000/svg svg"
_SVG_CREDENTIAL = f"{SVG_NAMESPACE} credential"

MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_CREDENTIAL_BYTES = 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# https://www.w3.org/TR/png-3/#5Chunk-layout: "a PNG four-byte unsigned integer ... limited
# to the range 0 to 2^31-1".
_MAX_CHUNK_LENGTH = 2**31 - 1
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
# https://www.w3.org/TR/xml/#charsets: characters an XML 1.0 document may not contain.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class BakingError(Exception):
    """An image cannot be baked, or holds no well-formed baked credential."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _credential_form(credential: str) -> str:
    """Which OB 3.0 form a credential takes: 'json' (embedded proof) or 'jws' (VC-JWT)."""
    try:
        size = len(credential.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise BakingError("credential is not valid Unicode text") from exc
    if size > MAX_CREDENTIAL_BYTES:
        raise BakingError("credential too large to bake")
    if _COMPACT_JWS.fullmatch(credential):
        return "jws"
    try:
        parsed = json.loads(credential)
    except ValueError as exc:
        raise BakingError("credential is neither JSON nor a compact JWS") from exc
    if not isinstance(parsed, dict):
        raise BakingError("credential JSON must be an object")
    return "json"


# PNG ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    start: int  # offset of the length field
    data: bytes
    crc: int

    @property
    def end(self) -> int:
        return self.start + 12 + len(self.data)

    def crc_ok(self) -> bool:
        return zlib.crc32(self.type + self.data) == self.crc


def _png_chunks(image: bytes) -> Iterator[_Chunk]:
    """The chunks of a PNG datastream up to and including IEND."""
    if len(image) > MAX_IMAGE_BYTES:
        raise BakingError("image too large")
    if not image.startswith(_PNG_SIGNATURE):
        raise BakingError("not a PNG image (bad signature)")
    offset = len(_PNG_SIGNATURE)
    first = True
    while True:
        if offset + 12 > len(image):
            raise BakingError("PNG truncated before IEND")
        length, chunk_type = struct.unpack(">I4s", image[offset : offset + 8])
        if length > _MAX_CHUNK_LENGTH or offset + 12 + length > len(image):
            raise BakingError("PNG chunk length out of bounds")
        if not chunk_type.isalpha():
            raise BakingError("PNG chunk type is not four letters")
        if first and chunk_type != b"IHDR":
            raise BakingError("PNG does not start with IHDR")
        first = False
        data = image[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", image[offset + 8 + length : offset + 12 + length])
        chunk = _Chunk(chunk_type, offset, data, crc)
        yield chunk
        if chunk_type == b"IEND":
            return
        offset = chunk.end


def _is_credential_chunk(chunk: _Chunk) -> bool:
    return chunk.type == b"iTXt" and chunk.data.split(b"\0", 1)[0] == PNG_KEYWORD


def bake_png(image: bytes, credential: str) -> bytes:
    """Return the PNG with the credential (JSON or compact JWS) in an `openbadgecredential` iTXt."""
    _credential_form(credential)
    chunks = list(_png_chunks(image))
    for chunk in chunks:
        if not chunk.crc_ok():
            raise BakingError(f"PNG chunk {chunk.type.decode()} fails its CRC")
        # "An iTXt chunk with the keyword openbadgecredential MUST NOT appear in a PNG more than
        # once"; the spec lets the baker choose between an error and overwriting: we refuse.
        if _is_credential_chunk(chunk):
            raise BakingError("image already carries a baked credential")
    iend = chunks[-1]
    # https://www.w3.org/TR/png-3/#11iTXt: keyword, NUL, compression flag, compression method,
    # language tag, NUL, translated keyword, NUL, text. OB 3.0: "Compression MUST NOT be used".
    data = PNG_KEYWORD + b"\0\0\0" + b"\0" + b"\0" + credential.encode("utf-8")
    itxt = struct.pack(">I", len(data)) + b"iTXt" + data
    itxt += struct.pack(">I", zlib.crc32(b"iTXt" + data))
    # Bytes after IEND are not part of the datastream (PNG §5.2); they are dropped.
    return image[: iend.start] + itxt + image[iend.start : iend.end]


def extract_png(data: bytes) -> str:
    """The credential text of the first `openbadgecredential` iTXt chunk of a PNG."""
    # OB 3.0 "Extracting": parse until the first iTXt chunk with the keyword; the rest of the
    # stream can be discarded.
    for chunk in _png_chunks(data):
        if not _is_credential_chunk(chunk):
            continue
        if not chunk.crc_ok():
            raise BakingError("baked credential chunk fails its CRC")
        rest = chunk.data[len(PNG_KEYWORD) + 1 :]
        if len(rest) < 2 or rest[0] != 0 or rest[1] != 0:
            raise BakingError("baked credential is compressed, which OB 3.0 forbids")
        parts = rest[2:].split(b"\0", 2)
        if len(parts) != 3:
            raise BakingError("malformed iTXt chunk")
        text = parts[2]
        if len(text) > MAX_CREDENTIAL_BYTES:
            raise BakingError("baked credential too large")
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BakingError("baked credential is not UTF-8") from exc
    raise BakingError("PNG carries no baked credential")


# SVG ------------------------------------------------------------------------------------------


@dataclass
class _SvgScan:
    """What one pass of expat learned about an SVG document."""

    root_offset: int = -1
    root_decls: dict[str | None, str] = field(default_factory=dict)
    credential_count: int = 0
    in_credential: int = 0  # element depth inside the first credential element, 0 outside
    verify: str | None = None
    text: list[str] = field(default_factory=list)


def _scan_svg(image: bytes) -> _SvgScan:
    """Parse an SVG with expat, refusing DTDs (so no entity expansion, no XXE)."""
    if len(image) > MAX_IMAGE_BYTES:
        raise BakingError("image too large")
    # We splice bytes into the document, so it must be UTF-8 (or its ASCII subset).
    if image.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BakingError("SVG must be UTF-8")
    scan = _SvgScan()
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0

    def xml_decl(version: str, encoding: str | None, standalone: int) -> None:
        if encoding is not None and encoding.lower() not in ("utf-8", "utf8", "us-ascii"):
            raise BakingError("SVG must be UTF-8")

    def doctype(name: str, sysid: str | None, pubid: str | None, internal: bool) -> None:
        # Entities can only be declared in a DTD; refusing every DOCTYPE rules out external
        # entities (XXE) and entity expansion bombs. SVG 2 needs no DTD.
        raise BakingError("SVG with a DOCTYPE is refused")

    def namespace(prefix: str | None, uri: str) -> None:
        if depth == 0:
            scan.root_decls[prefix] = uri

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        if depth == 0:
            if name != _SVG_ROOT:
                raise BakingError("root element is not an SVG <svg>")
            scan.root_offset = parser.CurrentByteIndex
        depth += 1
        if scan.in_credential:
            scan.in_credential += 1
        elif name == _SVG_CREDENTIAL:
            scan.credential_count += 1
            if scan.credential_count == 1:
                scan.in_credential = 1
                scan.verify = attrs.get("verify")

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if scan.in_credential:
            scan.in_credential -= 1

    def characters(data: str) -> None:
        if scan.in_credential == 1:
            scan.text.append(data)

    parser.XmlDeclHandler = xml_decl
    parser.StartDoctypeDeclHandler = doctype
    parser.StartNamespaceDeclHandler = namespace
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(image, True)
    except expat.ExpatError as exc:
        raise BakingError(f"SVG is not well-formed XML: {exc}") from exc
    return scan


def _start_tag_end(image: bytes, offset: int) -> int:
    """Offset of the '>' closing the start tag at `offset`, skipping quoted attribute values."""
    quote = 0
    for position in range(offset + 1, len(image)):
        byte = image[position]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in b"\"'":
            quote = byte
        elif byte == ord(">"):
            return position
    raise BakingError("unterminated <svg> start tag")


def bake_svg(image: bytes, credential: str) -> bytes:
    """Return the SVG with an `<openbadges:credential>` first child holding the credential."""
    form = _credential_form(credential)
    if _NOT_XML_CHAR.search(credential):
        raise BakingError("credential holds characters XML cannot carry")
    scan = _scan_svg(image)
    # "There MUST be only one <openbadges:credential> tag in an SVG"; we refuse to overwrite.
    if scan.credential_count:
        raise BakingError("image already carries a baked credential")
    declared = scan.root_decls.get("openbadges")
    if declared is not None and declared != SVG_NAMESPACE:
        raise BakingError("the svg root binds the openbadges prefix to another namespace")
    if form == "jws":
        element = f'<openbadges:credential verify="{credential}"></openbadges:credential>'
    else:
        # The JSON goes in CDATA; a "]]>" inside it must be split across two sections.
        cdata = credential.replace("]]>", "]]]]><![CDATA[>")
        element = f"<openbadges:credential><![CDATA[{cdata}]]></openbadges:credential>"
    close = _start_tag_end(image, scan.root_offset)
    self_closing = image[close - 1] == ord("/")
    attribute = b"" if declared else f' xmlns:openbadges="{SVG_NAMESPACE}"'.encode()
    head = image[: close - 1] if self_closing else image[:close]
    baked = head + attribute + b">" + element.encode("utf-8")
    if self_closing:
        root_name = re.match(rb"<([^\s/>]+)", image[scan.root_offset :])
        assert root_name is not None
        return baked + b"</" + root_name.group(1) + b">" + image[close + 1 :]
    return baked + image[close + 1 :]


def extract_svg(data: bytes) -> str:
    """The credential (JSON, or the compact JWS of its `verify` attribute) baked into an SVG."""
    scan = _scan_svg(data)
    if not scan.credential_count:
        raise BakingError("SVG carries no baked credential")
    if scan.verify is not None:
        return scan.verify
    text = "".join(scan.text).strip()
    if not text:
        raise BakingError("baked credential element is empty")
    if len(text.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
        raise BakingError("baked credential too large")
    return text
