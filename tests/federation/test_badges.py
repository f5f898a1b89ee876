"""OB 3.0 credential builders and the defensive credential reader."""

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from federation.badges import (
    OB_CONTEXT,
    BadgeError,
    achievement,
    alignment,
    check_validity_window,
    evidence_item,
    open_badge_credential,
    profile,
    read_credential,
)
from federation.status_list import CREDENTIALS_V2, StatusEntry, status_entry

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
OB_VECTOR = VECTORS / "ob3-1edtech-eddsa-rdfc-2022"
CONTEXTS = Path(__file__).resolve().parents[2] / "federation" / "contexts"
BUNDLED = {
    CREDENTIALS_V2: CONTEXTS / "credentials-v2.jsonld",
    OB_CONTEXT: CONTEXTS / "ob-v3p0-context-3.0.3.json",
}
ISSUED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    document = json.loads(BUNDLED[url].read_text())
    return {"contextUrl": None, "documentUrl": url, "document": document}


def _vector_credential() -> dict[str, Any]:
    """The 1EdTech example, rebuilt with our builders."""
    teamwork = achievement(
        "https://example.com/achievements/21st-century-skills/teamwork",
        "Teamwork",
        "This badge recognizes the development of the capacity to collaborate within a group "
        "environment.",
        "Team members are nominated for this badge by their peers and recognized upon review by "
        "Example Corp management.",
        None,
    )
    return open_badge_credential(
        "http://example.com/credentials/3527",
        profile("https://example.edu/issuers/565049", "Example Corp", "https://www.imsglobal.org"),
        "did:example:ebfeb1f712ebc6f1c276e12ec21",
        teamwork,
        datetime(2010, 1, 1, tzinfo=UTC),
        name="Teamwork Badge",
    )


def _guildhall_credential() -> dict[str, Any]:
    """A credential as a Guildhall community issues it, with every optional part filled."""
    community = profile(
        "https://school.example/communities/makers",
        "Makers",
        "https://school.example/communities/makers",
        description="A community of practice for makers.",
        image_url="https://school.example/media/makers.png",
    )
    solder = achievement(
        "https://school.example/achievements/42",
        "Soldering",
        "Can solder through-hole components safely.",
        "Show three clean joints and explain the safety rules.",
        "https://school.example/media/badges/42.png",
        image_caption="A soldering iron on a circuit board",
        creator_profile=community,
        tags=["electronics", "safety"],
        alignments=[
            alignment(
                "Electronics basics",
                "https://framework.example/electronics/1",
                target_type="CFItem",
                target_code="E1",
            )
        ],
        achievement_type="Badge",
    )
    return open_badge_credential(
        "https://school.example/credentials/7",
        community,
        "https://school.example/members/ada",
        solder,
        ISSUED,
        name="Soldering — Ada",
        description="Awarded by the Makers community.",
        valid_until=ISSUED + timedelta(days=365),
        evidence=[
            evidence_item(
                "https://school.example/posts/99", "My first board", genre="Portfolio entry"
            )
        ],
        credential_status=status_entry("https://school.example/status/1", 1234),
    )


# Building ---------------------------------------------------------------------------------------


def test_builders_reproduce_the_1edtech_example() -> None:
    unsigned = json.loads((OB_VECTOR / "unsigned.json").read_text())
    built = _vector_credential()
    assert built == unsigned
    assert list(built) == list(unsigned)


def test_full_credential_has_the_ob3_shapes() -> None:
    doc = _guildhall_credential()
    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["validFrom"] == "2026-03-01T09:30:00Z"
    assert doc["validUntil"] == "2027-03-01T09:30:00Z"
    assert doc["issuer"]["type"] == ["Profile"]
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    badge = subject["achievement"]
    assert badge["type"] == ["Achievement"]
    assert badge["criteria"] == {
        "narrative": "Show three clean joints and explain the safety rules."
    }
    assert badge["image"] == {
        "id": "https://school.example/media/badges/42.png",
        "type": "Image",
        "caption": "A soldering iron on a circuit board",
    }
    assert badge["alignment"][0]["type"] == ["Alignment"]
    assert badge["tag"] == ["electronics", "safety"]
    assert doc["evidence"] == [
        {
            "id": "https://school.example/posts/99",
            "type": ["Evidence"],
            "name": "My first board",
            "genre": "Portfolio entry",
        }
    ]
    assert doc["credentialStatus"]["type"] == "BitstringStatusListEntry"


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaf_strings(item)]
    if isinstance(value, dict):
        return [
            leaf for key, item in value.items() if key != "@context" for leaf in _leaf_strings(item)
        ]
    return []


def test_every_built_value_survives_canonicalisation() -> None:
    # pyld silently drops terms the contexts do not define; such values would go unsigned.
    doc = _guildhall_credential()
    nquads = jsonld.normalize(
        doc,
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": _offline_loader,
        },
    )
    missing = [leaf for leaf in _leaf_strings(doc) if leaf not in nquads]
    assert missing == []


def test_builders_refuse_programming_errors() -> None:
    with pytest.raises(ValueError):
        achievement("https://a.example/1", "n", "d", "c", None, achievement_type="Sticker")
    assert achievement("https://a.example/1", "n", "d", "c", None, achievement_type="ext:Sticker")
    badge = achievement("https://a.example/1", "n", "d", "c", None)
    issuer = profile("https://a.example", "A")
    with pytest.raises(ValueError):
        open_badge_credential(
            "https://a.example/c",
            issuer,
            "https://b.example/u",
            badge,
            datetime(2024, 1, 1),
            name="x",
        )
    with pytest.raises(ValueError):
        open_badge_credential(
            "https://a.example/c", issuer, "https://b.example/u", badge, ISSUED,
            name="x", valid_until=ISSUED,
        )  # fmt: skip


# Reading ----------------------------------------------------------------------------------------


def test_read_the_1edtech_vector() -> None:
    for name in ("unsigned.json", "signed.json"):
        doc = json.loads((OB_VECTOR / name).read_text())
        summary = read_credential(doc, allow_http=True)
        assert summary.id == "http://example.com/credentials/3527"
        assert summary.name == "Teamwork Badge"
        assert summary.issuer_id == "https://example.edu/issuers/565049"
        assert summary.issuer_name == "Example Corp"
        assert summary.subject_id == "did:example:ebfeb1f712ebc6f1c276e12ec21"
        assert summary.achievement_name == "Teamwork"
        assert summary.criteria_narrative is not None
        assert summary.criteria_narrative.startswith("Team members are nominated")
        assert summary.image_url is None
        assert summary.valid_from == datetime(2010, 1, 1, tzinfo=UTC)
        assert summary.valid_until is None
        assert summary.evidence_urls == ()
        assert summary.status == ()


def test_the_vector_has_an_http_id_which_production_refuses() -> None:
    doc = json.loads((OB_VECTOR / "unsigned.json").read_text())
    with pytest.raises(BadgeError, match="https"):
        read_credential(doc)


def test_read_what_we_build() -> None:
    summary = read_credential(_guildhall_credential())
    assert summary.issuer_id == "https://school.example/communities/makers"
    assert summary.subject_id == "https://school.example/members/ada"
    assert summary.achievement_id == "https://school.example/achievements/42"
    assert summary.achievement_description == "Can solder through-hole components safely."
    assert summary.image_url == "https://school.example/media/badges/42.png"
    assert summary.image_caption == "A soldering iron on a circuit board"
    assert summary.valid_until == ISSUED + timedelta(days=365)
    assert summary.evidence_urls == ("https://school.example/posts/99",)
    assert summary.status == (StatusEntry("https://school.example/status/1", 1234, "revocation"),)


def test_lenient_forms_other_issuers_use() -> None:
    doc = _guildhall_credential()
    doc["type"] = ["VerifiableCredential", "AchievementCredential"]
    doc["id"] = "urn:uuid:f6ab24cd-86e8-4eaf-b8c6-ded74e8fd41c"
    doc["issuer"] = "did:web:school.example"
    doc["validFrom"] = "2026-03-01T10:30:00.123456789+01:00"
    doc["evidence"] = {"type": "Evidence", "id": "urn:uuid:a70ddc6a-4c4a-4bd8-8277-cb97c79f40c5"}
    doc["credentialStatus"] = [
        {"id": "https://school.example/revocations", "type": "1EdTechRevocationList"},
        status_entry("https://school.example/status/1", 5, "suspension"),
    ]
    badge = doc["credentialSubject"]["achievement"]
    badge["image"] = "data:image/png;base64,iVBORw0KGgo="
    badge["criteria"] = {"id": "https://school.example/achievements/42#criteria"}
    summary = read_credential(doc)
    assert summary.issuer_id == "did:web:school.example"
    assert summary.issuer_name is None
    assert summary.valid_from == ISSUED + timedelta(microseconds=123456)
    assert summary.evidence_urls == ()
    assert summary.status == (StatusEntry("https://school.example/status/1", 5, "suspension"),)
    assert summary.image_url == "data:image/png;base64,iVBORw0KGgo="
    assert summary.criteria_narrative is None
    assert summary.criteria_url == "https://school.example/achievements/42#criteria"


DELETE = object()


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_guildhall_credential())
    *parents, last = path.split(".")
    target: Any = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("@context", DELETE),
        ("@context", "https://www.w3.org/ns/credentials/v2"),
        ("@context", ["https://www.w3.org/2018/credentials/v1", OB_CONTEXT]),
        ("@context", [CREDENTIALS_V2]),
        ("@context", [CREDENTIALS_V2, OB_CONTEXT, {"name": "http://evil.example/name"}]),
        ("type", ["VerifiableCredential"]),
        ("type", "OpenBadgeCredential"),
        ("type", [["VerifiableCredential"], "OpenBadgeCredential"]),
        ("id", DELETE),
        ("id", "javascript:alert(1)"),
        ("id", "/credentials/7"),
        ("id", "https://user:pw@school.example/credentials/7"),
        ("id", "https://school.example/credentials/7 "),
        ("id", "https://" + "a" * 3000 + ".example/"),
        ("id", 7),
        ("id", "https://[::1/credentials/7"),
        ("name", DELETE),
        ("name", ""),
        ("name", {"@value": "x"}),
        ("issuer", DELETE),
        ("issuer", ["https://school.example"]),
        ("issuer.id", "ftp://school.example/"),
        ("issuer.name", 5),
        ("validFrom", DELETE),
        ("validFrom", "2026-03-01"),
        ("validFrom", "2026-03-01T09:30:00"),
        ("validFrom", "2026-13-01T09:30:00Z"),
        ("validFrom", "2026-03-01 09:30:00Z"),
        ("validFrom", 1767225600),
        ("validUntil", "2020-01-01T00:00:00Z"),
        ("credentialSubject", DELETE),
        ("credentialSubject", [{"id": "https://school.example/members/ada"}]),
        ("credentialSubject.type", ["Person"]),
        ("credentialSubject.id", DELETE),
        ("credentialSubject.id", "mailto:ada@school.example"),
        ("credentialSubject.achievement", DELETE),
        ("credentialSubject.achievement", "https://school.example/achievements/42"),
        ("credentialSubject.achievement.type", ["BadgeClass"]),
        ("credentialSubject.achievement.id", DELETE),
        ("credentialSubject.achievement.name", DELETE),
        ("credentialSubject.achievement.name", "   "),
        ("credentialSubject.achievement.description", DELETE),
        ("credentialSubject.achievement.criteria", DELETE),
        ("credentialSubject.achievement.criteria", {}),
        ("credentialSubject.achievement.criteria", "Do the thing"),
        ("credentialSubject.achievement.criteria.narrative", 3),
        ("credentialSubject.achievement.image.id", "javascript:alert(1)"),
        ("credentialSubject.achievement.image.id", "data:text/html;base64,PHNjcmlwdD4="),
        ("credentialSubject.achievement.image.caption", ["x"]),
        ("evidence", ["https://school.example/posts/99"]),
        ("evidence.0.type", ["Artifact"]),
        ("evidence.0.id", "javascript:alert(1)"),
        ("credentialStatus.statusListIndex", "-5"),
        ("credentialStatus.statusListCredential", "http://school.example/status/1"),
        ("credentialStatus", "https://school.example/status/1"),
    ],
)
def test_malformed_credentials_are_refused(path: str, value: Any) -> None:
    with pytest.raises(BadgeError) as caught:
        read_credential(_with(path, value))
    assert caught.value.reason


@pytest.mark.parametrize("doc", [None, [], "credential", 42])
def test_non_objects_are_refused(doc: Any) -> None:
    with pytest.raises(BadgeError):
        read_credential(doc)


def test_http_only_in_development() -> None:
    doc = _with("issuer.id", "http://localhost:8000/communities/makers")
    with pytest.raises(BadgeError):
        read_credential(doc)
    assert read_credential(doc, allow_http=True).issuer_id.startswith("http://localhost")


def test_validity_window() -> None:
    summary = read_credential(_guildhall_credential())
    check_validity_window(summary, ISSUED)
    check_validity_window(summary, ISSUED + timedelta(days=365))
    with pytest.raises(BadgeError, match="not valid before"):
        check_validity_window(summary, ISSUED - timedelta(seconds=1))
    with pytest.raises(BadgeError, match="expired"):
        check_validity_window(summary, ISSUED + timedelta(days=365, seconds=1))
    with pytest.raises(ValueError):
        check_validity_window(summary, datetime(2026, 6, 1))
    open_ended = read_credential(_with("validUntil", DELETE))
    check_validity_window(open_ended, datetime(2999, 1, 1, tzinfo=UTC))
