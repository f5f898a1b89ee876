"""OB 3.0 baking: PNG iTXt chunks and SVG <openbadges:credential> elements, both ways."""

import io
import json
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from federation.baking import (
    MAX_CREDENTIAL_BYTES,
    SVG_NAMESPACE,
    BakingError,
    bake_png,
    bake_svg,
    extract_png,
    extract_svg,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
CREDENTIAL = (VECTORS / "ob3-1edtech-eddsa-rdfc-2022" / "signed.json").read_text()
JWS = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"
SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
  <circle cx="256" cy="256" r="200" fill="teal"/>
</svg>
"""


def _png(text: dict[str, str] | None = None, compressed: bool = False) -> bytes:
    image = Image.new("RGBA", (8, 6), (10, 120, 200, 255))
    image.putpixel((3, 2), (255, 0, 0, 128))
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_itxt(key, value, zip=compressed)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _chunk_types(png: bytes) -> list[bytes]:
    types, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        types.append(png[offset + 4 : offset + 8])
        offset += 12 + length
    return types


# PNG ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("credential", [CREDENTIAL, JWS])
def test_png_round_trip(credential: str) -> None:
    baked = bake_png(_png(), credential)
    assert extract_png(baked) == credential
    assert _chunk_types(baked)[-2:] == [b"iTXt", b"IEND"]


def test_baked_png_still_opens_and_pillow_reads_the_chunk() -> None:
    original = _png()
    baked = bake_png(original, CREDENTIAL)
    with Image.open(io.BytesIO(baked)) as image:
        image.load()
        assert image.text["openbadgecredential"] == CREDENTIAL
        with Image.open(io.BytesIO(original)) as before:
            assert image.tobytes() == before.tobytes()


def test_extract_reads_a_chunk_written_by_pillow() -> None:
    assert extract_png(_png({"openbadgecredential": CREDENTIAL})) == CREDENTIAL


def test_other_keywords_are_not_the_credential() -> None:
    # OB 2.0 used the keyword "openbadges"; it is not an OB 3.0 credential.
    png = _png({"openbadges": CREDENTIAL, "openbadgecredentialx": CREDENTIAL})
    with pytest.raises(BakingError, match="no baked credential"):
        extract_png(png)
    assert extract_png(bake_png(png, JWS)) == JWS


def test_png_that_already_carries_a_credential_is_refused() -> None:
    with pytest.raises(BakingError, match="already"):
        bake_png(bake_png(_png(), CREDENTIAL), JWS)
    with pytest.raises(BakingError, match="already"):
        bake_png(_png({"openbadgecredential": "x"}), JWS)


def test_compressed_chunk_is_refused() -> None:
    with pytest.raises(BakingError, match="compressed"):
        extract_png(_png({"openbadgecredential": CREDENTIAL}, compressed=True))


def test_corrupted_credential_chunk_fails_its_crc() -> None:
    baked = bytearray(bake_png(_png(), CREDENTIAL))
    baked[baked.index(b"Teamwork")] ^= 0x20
    with pytest.raises(BakingError, match="CRC"):
        extract_png(bytes(baked))


def test_bake_refuses_an_image_with_a_corrupted_chunk() -> None:
    png = bytearray(_png())
    png[8 + 8] ^= 0x01  # first byte of IHDR data
    with pytest.raises(BakingError, match="CRC"):
        bake_png(bytes(png), CREDENTIAL)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a" + b"\0" * 40,
        b"\x89PNG\r\n\x1a\n",  # signature only
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 2**31) + b"IHDR" + b"\0" * 20,
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 1000) + b"IHDR" + b"\0" * 20,
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 0) + b"tEXt" + b"\0" * 4,  # no IHDR first
    ],
)
def test_malformed_pngs_are_refused(data: bytes) -> None:
    with pytest.raises(BakingError):
        extract_png(data)
    with pytest.raises(BakingError):
        bake_png(data, CREDENTIAL)


def test_truncated_png_is_refused() -> None:
    png = _png()
    with pytest.raises(BakingError, match="truncated"):
        bake_png(png[:-12], CREDENTIAL)


def test_hand_built_itxt_with_language_tag_is_read() -> None:
    png = _png()
    data = b"openbadgecredential\0\0\0json\0\0" + JWS.encode()
    crc = struct.pack(">I", zlib.crc32(b"iTXt" + data))
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + crc
    iend = png.rindex(b"IEND") - 4
    assert extract_png(png[:iend] + chunk + png[iend:]) == JWS


def test_bytes_after_iend_are_dropped() -> None:
    baked = bake_png(_png() + b"PK\x03\x04 trailing zip", CREDENTIAL)
    assert baked.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize(
    "credential",
    ["not a credential", "[1, 2]", "a.b", "x" * (MAX_CREDENTIAL_BYTES + 1), '{"a": "\ud800"}'],
)
def test_bad_credentials_are_not_baked(credential: str) -> None:
    with pytest.raises(BakingError):
        bake_png(_png(), credential)
    with pytest.raises(BakingError):
        bake_svg(SVG, credential)


# SVG ------------------------------------------------------------------------------------------


def test_svg_round_trip_with_embedded_proof() -> None:
    baked = bake_svg(SVG, CREDENTIAL)
    assert extract_svg(baked) == CREDENTIAL.strip()
    root = ET.fromstring(baked)
    first = root[0]
    assert first.tag == f"{{{SVG_NAMESPACE}}}credential"
    assert json.loads(first.text or "") == json.loads(CREDENTIAL)
    assert b'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert b"<![CDATA[" in baked
    # The rest of the image is untouched.
    assert root[1].tag == "{http://www.w3.org/2000/svg}circle"
    assert baked.endswith(SVG[SVG.index(b"\n  <circle") :])


def test_svg_round_trip_with_jws_in_verify_attribute() -> None:
    baked = bake_svg(SVG, JWS)
    assert extract_svg(baked) == JWS
    element = ET.fromstring(baked)[0]
    assert element.get("verify") == JWS
    assert not (element.text or "").strip()


def test_cdata_terminator_inside_the_json_survives() -> None:
    credential = json.dumps({"name": "a ]]> b ]]]]> c", "id": "urn:uuid:1"})
    assert extract_svg(bake_svg(SVG, credential)) == credential


def test_tricky_root_start_tags() -> None:
    self_closing = b'<svg xmlns="http://www.w3.org/2000/svg" data-x="a > b"/>'
    baked = bake_svg(self_closing, JWS)
    assert extract_svg(baked) == JWS
    assert ET.fromstring(baked).get("data-x") == "a > b"

    prefixed = b'<s:svg xmlns:s="http://www.w3.org/2000/svg" title=\'it"s\'/>'
    assert extract_svg(bake_svg(prefixed, CREDENTIAL)) == CREDENTIAL.strip()

    declared = (
        b'<svg xmlns="http://www.w3.org/2000/svg"'
        b' xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"></svg>'
    )
    baked = bake_svg(declared, JWS)
    assert baked.count(b"xmlns:openbadges") == 1
    assert extract_svg(baked) == JWS


def test_spec_examples_extract() -> None:
    # "An example of a well baked SVG with VC-JWT proof" / "... with embedded proof", OB 3.0.
    jwt_example = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg"
  xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
  viewBox="0 0 512 512">
  <openbadges:credential verify="header.payload.signature"></openbadges:credential>
  <!-- rest-of-image -->
</svg>"""
    assert extract_svg(jwt_example) == "header.payload.signature"
    embedded_example = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg"
  xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
  viewBox="0 0 512 512">
  <openbadges:credential>
    <![CDATA[
      {
        "id": "http://example.edu/credentials/3732",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "proof": { }
      }
    ]]>
  </openbadges:credential>
  <!-- rest-of-image -->
</svg>"""
    assert json.loads(extract_svg(embedded_example))["id"] == "http://example.edu/credentials/3732"


def test_svg_that_already_carries_a_credential_is_refused() -> None:
    with pytest.raises(BakingError, match="already"):
        bake_svg(bake_svg(SVG, JWS), CREDENTIAL)


def test_conflicting_openbadges_prefix_is_refused() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"/>'
    with pytest.raises(BakingError, match="prefix"):
        bake_svg(svg, JWS)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>"""
PLAIN_DOCTYPE = b"""<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg"/>"""


@pytest.mark.parametrize("svg", [XXE, LAUGHS, PLAIN_DOCTYPE])
def test_doctypes_are_refused(svg: bytes) -> None:
    with pytest.raises(BakingError, match="DOCTYPE"):
        bake_svg(svg, JWS)
    with pytest.raises(BakingError, match="DOCTYPE"):
        extract_svg(svg)


@pytest.mark.parametrize(
    "svg",
    [
        b"<html/>",
        b"<svg/>",  # no SVG namespace
        b'<svg xmlns="http://www.w3.org/2000/svg">',
        b'<svg xmlns="http://www.w3.org/2000/svg">&undefined;</svg>',
        b"\xff\xfe<\x00s\x00v\x00g\x00/\x00>\x00",
        b'<?xml version="1.0" encoding="ISO-8859-1"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"",
    ],
)
def test_malformed_svgs_are_refused(svg: bytes) -> None:
    with pytest.raises(BakingError):
        bake_svg(svg, JWS)


def test_extract_svg_without_credential() -> None:
    with pytest.raises(BakingError, match="no baked credential"):
        extract_svg(SVG)
    empty = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:o="https://purl.imsglobal.org/ob/v3p0">'
        b"<o:credential> </o:credential></svg>"
    )
    with pytest.raises(BakingError, match="empty"):
        extract_svg(empty)


def test_svg_cannot_carry_non_xml_characters() -> None:
    with pytest.raises(BakingError, match="XML"):
        bake_svg(SVG, '{"name": "\ufffe"}')
