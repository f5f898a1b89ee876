"""W3C Bitstring Status List v1.0: encoded lists, status list credentials and status entries."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# https://www.w3.org/TR/vc-bitstring-status-list/
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
# "Let minimumNumberOfEntries be 131,072" (Validate Algorithm); the bitstring is at least 16KB.
MIN_ENTRIES = 131072
# Decompressed bound against GZIP bombs: 16 MiB is 134 million entries, far above any real list.
MAX_BITSTRING_BYTES = 16 * 1024 * 1024
_INDEX = re.compile(r"(0|[1-9][0-9]*)")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class StatusListError(Exception):
    """A status list or status entry is malformed, or an index is out of range."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StatusEntry:
    """A parsed `BitstringStatusListEntry`: where a credential's status bit lives."""

    list_credential: str
    index: int
    purpose: str


def encode_bitstring(revoked_indices: set[int], size: int = MIN_ENTRIES) -> str:
    """Encode a bitstring of `size` bits with the given indices set, as `encodedList`."""
    if size < MIN_ENTRIES or size % 8:
        raise StatusListError(f"a bitstring must hold at least {MIN_ENTRIES} bits, in whole bytes")
    if size > MAX_BITSTRING_BYTES * 8:
        raise StatusListError("bitstring larger than the decompression bound")
    bits = bytearray(size // 8)
    for index in revoked_indices:
        if not 0 <= index < size:
            raise StatusListError(f"index {index} outside a list of {size} entries")
        # "the first index ... is located at the left-most bit in the bitstring": index 0 is
        # the most significant bit of byte 0.
        bits[index // 8] |= 0x80 >> (index % 8)
    # GZIP (RFC 1952) through zlib at its default level: an empty list then encodes to the
    # spec's example encodedList byte for byte.
    compressor = zlib.compressobj(wbits=31)
    compressed = compressor.compress(bytes(bits)) + compressor.flush()
    # encodedList is "Multibase-encoded base64url (with no padding)": multibase prefix 'u'.
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_bitstring(encoded: str, max_bytes: int = MAX_BITSTRING_BYTES) -> bytes:
    """Expand an `encodedList` into the raw bitstring, refusing anything above `max_bytes`."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (prefix 'u')")
    body = encoded[1:]
    if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
        raise StatusListError("encodedList is not base64url without padding")
    # GZIP of at most max_bytes is at most max_bytes plus stored-block overhead (RFC 1951
    # §3.2.4), so a longer input cannot be a list under the bound: refuse before decoding it.
    if len(body) > (max_bytes + max_bytes // 1000 + 1024) * 4 // 3:
        raise StatusListError("encodedList too long")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error as exc:
        raise StatusListError("encodedList is not base64url") from exc
    decompressor = zlib.decompressobj(wbits=31)
    try:
        bits = decompressor.decompress(compressed, max_bytes)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not GZIP data: {exc}") from exc
    if decompressor.unconsumed_tail:
        raise StatusListError(f"bitstring expands beyond {max_bytes} bytes")
    if not decompressor.eof or decompressor.unused_data:
        raise StatusListError("encodedList is not exactly one complete GZIP member")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    """Whether the status bit at `index` is 1 (index 0 is the left-most bit of the first byte)."""
    if not 0 <= index < len(bits) * 8:
        # The spec's RANGE_ERROR.
        raise StatusListError(f"status index {index} outside a list of {len(bits) * 8} entries")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_credential(
    id: str,
    issuer: str | dict[str, Any],
    valid_from: datetime,
    encoded_list: str,
    purpose: str = "revocation",
) -> dict[str, Any]:
    """An unsigned `BitstringStatusListCredential` publishing `encoded_list`."""
    return {
        "@context": [CREDENTIALS_V2],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _timestamp(valid_from),
        "credentialSubject": {
            # The spec's example names the list `<credential id>#list`.
            "id": f"{id}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
        },
    }


def status_entry(
    list_credential_url: str, index: int, purpose: str = "revocation"
) -> dict[str, Any]:
    """A `BitstringStatusListEntry` for a credential's `credentialStatus`."""
    if index < 0:
        raise ValueError("statusListIndex must be >= 0")
    return {
        # The entry's id "MUST NOT be the URL for the status list"; the spec's examples use a
        # fragment naming the index.
        "id": f"{list_credential_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        # "an arbitrary size integer greater than or equal to 0, expressed as a string in base 10"
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise StatusListError("type must be a string or a list of strings")


def read_status_entry(entry: Any) -> StatusEntry:
    """Parse a `BitstringStatusListEntry` from a credential's `credentialStatus`."""
    if not isinstance(entry, dict):
        raise StatusListError("credentialStatus entry must be an object")
    if "BitstringStatusListEntry" not in _types(entry.get("type")):
        raise StatusListError("credentialStatus entry is not a BitstringStatusListEntry")
    purpose = entry.get("statusPurpose")
    url = entry.get("statusListCredential")
    index = entry.get("statusListIndex")
    if not isinstance(purpose, str) or not purpose:
        raise StatusListError("statusPurpose must be a non-empty string")
    if not isinstance(url, str) or not url:
        raise StatusListError("statusListCredential must be a URL")
    if not isinstance(index, str) or not _INDEX.fullmatch(index) or len(index) > 20:
        raise StatusListError("statusListIndex must be a base-10 integer string")
    # statusSize > 1 changes how the index maps to bits; we only issue and read 1-bit entries.
    if entry.get("statusSize", 1) != 1:
        raise StatusListError("only statusSize 1 is supported")
    return StatusEntry(list_credential=url, index=int(index), purpose=purpose)


def check_status(list_credential: Any, entry: StatusEntry) -> bool:
    """Whether `entry`'s bit is set in a (separately verified) status list credential."""
    if not isinstance(list_credential, dict):
        raise StatusListError("status list credential must be an object")
    if "BitstringStatusListCredential" not in _types(list_credential.get("type")):
        raise StatusListError("not a BitstringStatusListCredential")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or "BitstringStatusList" not in _types(subject.get("type")):
        raise StatusListError("credentialSubject is not a BitstringStatusList")
    # "statusPurpose ... MUST be one or more strings"; the entry's purpose must be among them.
    purposes = subject.get("statusPurpose")
    if entry.purpose not in _types(purposes):
        raise StatusListError(f"status list does not serve purpose {entry.purpose!r}")
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise StatusListError("encodedList must be a string")
    bits = decode_bitstring(encoded)
    if len(bits) * 8 < MIN_ENTRIES:
        # The spec's STATUS_LIST_LENGTH_ERROR: short lists leak who holds which index.
        raise StatusListError(f"status list holds fewer than {MIN_ENTRIES} entries")
    return is_set(bits, entry.index)
