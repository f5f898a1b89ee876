"""Bitstring Status List v1.0: encoding, bit order, bounds, credentials and entries."""

import base64
import gzip
import os
import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from federation.status_list import (
    MIN_ENTRIES,
    StatusEntry,
    StatusListError,
    check_status,
    decode_bitstring,
    encode_bitstring,
    is_set,
    read_status_entry,
    status_entry,
    status_list_credential,
)

# "Example BitstringStatusListCredential" in https://www.w3.org/TR/vc-bitstring-status-list/
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def _encode_raw(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(raw)).rstrip(b"=").decode()


def test_spec_example_decodes_to_an_empty_16kb_list() -> None:
    bits = decode_bitstring(SPEC_EMPTY_LIST)
    assert len(bits) == 16 * 1024
    assert not any(bits)


def test_empty_list_reproduces_the_spec_example_byte_for_byte() -> None:
    assert encode_bitstring(set()) == SPEC_EMPTY_LIST


def test_round_trip_sets_exactly_the_given_indices() -> None:
    revoked = {0, 7, 8, 9, 4242, MIN_ENTRIES - 1}
    bits = decode_bitstring(encode_bitstring(revoked))
    assert len(bits) == MIN_ENTRIES // 8
    assert {i for i in range(MIN_ENTRIES) if is_set(bits, i)} == revoked


def test_index_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    bits = decode_bitstring(encode_bitstring({0, 9}))
    assert bits[0] == 0b1000_0000
    assert bits[1] == 0b0100_0000
    # And reading follows the same order on a list we did not encode ourselves.
    foreign = bytearray(MIN_ENTRIES // 8)
    foreign[2] = 0b0010_0001
    decoded = decode_bitstring(_encode_raw(bytes(foreign)))
    assert [i for i in range(16, 24) if is_set(decoded, i)] == [18, 23]


def test_larger_list_and_random_contents_round_trip() -> None:
    size = MIN_ENTRIES * 4
    revoked = {int.from_bytes(os.urandom(4), "big") % size for _ in range(500)}
    bits = decode_bitstring(encode_bitstring(revoked, size=size))
    assert len(bits) * 8 == size
    assert all(is_set(bits, i) for i in revoked)
    assert sum(bin(byte).count("1") for byte in bits) == len(revoked)


@pytest.mark.parametrize("size", [MIN_ENTRIES - 8, MIN_ENTRIES + 1, 0])
def test_encode_refuses_short_or_ragged_lists(size: int) -> None:
    with pytest.raises(StatusListError):
        encode_bitstring(set(), size=size)


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES])
def test_encode_refuses_out_of_range_indices(index: int) -> None:
    with pytest.raises(StatusListError):
        encode_bitstring({index})


def test_is_set_raises_range_error() -> None:
    with pytest.raises(StatusListError):
        is_set(bytes(2), 16)
    with pytest.raises(StatusListError):
        is_set(bytes(2), -1)


def test_gzip_bomb_is_refused_without_expanding_it() -> None:
    bomb = _encode_raw(bytes(64 * 1024 * 1024))
    assert len(bomb) < 200_000
    with pytest.raises(StatusListError, match="beyond"):
        decode_bitstring(bomb)
    with pytest.raises(StatusListError, match="beyond"):
        decode_bitstring(SPEC_EMPTY_LIST, max_bytes=1024)


@pytest.mark.parametrize(
    "encoded",
    [
        SPEC_EMPTY_LIST[1:],  # no multibase prefix
        "z" + SPEC_EMPTY_LIST[1:],  # wrong multibase
        SPEC_EMPTY_LIST + "==",  # padding
        "u" + base64.urlsafe_b64encode(zlib.compress(bytes(16384))).rstrip(b"=").decode(),
        SPEC_EMPTY_LIST[:-6],  # truncated member
        _encode_raw(bytes(16384)) + "AAAA",  # trailing data after the member
        "u",
        "u!!!!",
    ],
)
def test_malformed_encoded_lists_are_refused(encoded: str) -> None:
    with pytest.raises(StatusListError):
        decode_bitstring(encoded)


def test_status_list_credential_shape() -> None:
    issued = datetime(2021, 4, 5, 16, 27, 40, tzinfo=timezone(timedelta(hours=2)))
    doc = status_list_credential(
        "https://example.com/credentials/status/3", "did:example:12345", issued, SPEC_EMPTY_LIST
    )
    # The spec's example, field for field.
    assert doc == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "https://example.com/credentials/status/3",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:example:12345",
        "validFrom": "2021-04-05T14:27:40Z",
        "credentialSubject": {
            "id": "https://example.com/credentials/status/3#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": SPEC_EMPTY_LIST,
        },
    }


def test_status_entry_matches_the_spec_example_and_reads_back() -> None:
    entry = status_entry("https://example.com/credentials/status/3", 94567)
    assert entry == {
        "id": "https://example.com/credentials/status/3#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://example.com/credentials/status/3",
    }
    assert read_status_entry(entry) == StatusEntry(
        "https://example.com/credentials/status/3", 94567, "revocation"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"type": "StatusList2021Entry"},
        {"statusListIndex": 94567},
        {"statusListIndex": "-1"},
        {"statusListIndex": "0x10"},
        {"statusListIndex": "007"},
        {"statusListIndex": "9" * 40},
        {"statusListCredential": None},
        {"statusPurpose": ""},
        {"statusSize": 2},
    ],
)
def test_malformed_status_entries_are_refused(change: dict[str, object]) -> None:
    entry = status_entry("https://example.com/status/3", 94567) | change
    with pytest.raises(StatusListError):
        read_status_entry(entry)


def test_check_status_reads_the_entry_bit() -> None:
    url = "https://school.example/status/1"
    now = datetime.now(UTC)
    doc = status_list_credential(url, "https://school.example/actor", now, encode_bitstring({5}))
    assert check_status(doc, read_status_entry(status_entry(url, 5))) is True
    assert check_status(doc, read_status_entry(status_entry(url, 6))) is False
    with pytest.raises(StatusListError, match="purpose"):
        check_status(doc, StatusEntry(url, 5, "suspension"))
    with pytest.raises(StatusListError):
        check_status(doc, StatusEntry(url, MIN_ENTRIES, "revocation"))


def test_check_status_refuses_short_lists_and_wrong_types() -> None:
    url = "https://school.example/status/1"
    now = datetime.now(UTC)
    short = status_list_credential(url, "https://school.example/actor", now, _encode_raw(bytes(8)))
    with pytest.raises(StatusListError, match="fewer"):
        check_status(short, StatusEntry(url, 0, "revocation"))
    good = status_list_credential(url, "https://school.example/actor", now, encode_bitstring(set()))
    wrong = good | {"type": ["VerifiableCredential"]}
    with pytest.raises(StatusListError):
        check_status(wrong, StatusEntry(url, 0, "revocation"))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        status_list_credential("https://a.example/s", "https://a.example", datetime(2024, 1, 1), "")
