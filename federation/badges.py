"""Open Badges 3.0 documents: building unsigned credentials and reading hostile ones."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from federation.status_list import CREDENTIALS_V2, StatusEntry, StatusListError, read_status_entry

# https://www.imsglobal.org/spec/ob/v3p0/ ; the context is bundled in federation/contexts/.
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS = [CREDENTIALS_V2, OB_CONTEXT]
# Reading accepts any 3.0.x context; verifying a proof needs that exact context bundled.
_OB_CONTEXT_FAMILY = re.compile(
    r"https://purl\.imsglobal\.org/spec/ob/v3p0/context-3\.0\.\d+\.json"
)

# The OB 3.0 AchievementType enumeration; extension values are "ext:" followed by a name.
ACHIEVEMENT_TYPES = frozenset(
    {
        "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree",
        "Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion",
        "Certification", "CommunityService", "Competency", "Course", "CoCurricular", "Degree",
        "Diploma", "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment",
        "JourneymanCertificate", "LearningProgram", "License", "Membership",
        "ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate",
        "MasterDegree", "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
    }
)  # fmt: skip
_EXTENSION_TYPE = re.compile(r"ext:[A-Za-z0-9._-]+")

# VC DM 2.0 §4.6: validFrom/validUntil are XML Schema dateTimeStamp, i.e. RFC 3339 with an offset.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%#?/=&-]+")
_URN_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# OB 3.0 Image.id "MAY be a Data URI"; only raster and SVG images, which browsers never run.
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+")
_MAX_IRI = 2048


class BadgeError(Exception):
    """A credential that does not have the shape of an OB 3.0 OpenBadgeCredential."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CredentialSummary:
    """What a person needs to see of a badge, read from a shape-checked credential."""

    id: str
    name: str
    issuer_id: str
    issuer_name: str | None
    subject_id: str
    achievement_id: str
    achievement_name: str
    achievement_description: str
    criteria_narrative: str | None
    criteria_url: str | None
    image_url: str | None
    image_caption: str | None
    valid_from: datetime
    valid_until: datetime | None
    evidence_urls: tuple[str, ...]
    status: tuple[StatusEntry, ...]


# Building ---------------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image(url: str, caption: str | None) -> dict[str, Any]:
    image: dict[str, Any] = {"id": url, "type": "Image"}
    if caption:
        image["caption"] = caption
    return image


def profile(
    id: str,
    name: str,
    url: str | None = None,
    *,
    description: str | None = None,
    image_url: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """An OB 3.0 `Profile` (an issuer, or an achievement's creator)."""
    document: dict[str, Any] = {"id": id, "type": ["Profile"], "name": name}
    if url:
        document["url"] = url
    if description:
        document["description"] = description
    if image_url:
        document["image"] = _image(image_url, None)
    if email:
        document["email"] = email
    return document


def alignment(
    target_name: str,
    target_url: str,
    *,
    target_type: str | None = None,
    target_code: str | None = None,
    target_description: str | None = None,
    target_framework: str | None = None,
) -> dict[str, Any]:
    """An OB 3.0 `Alignment` to a competency, standard or framework item."""
    document: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": target_name,
        "targetUrl": target_url,
    }
    optional = {
        "targetType": target_type,
        "targetCode": target_code,
        "targetDescription": target_description,
        "targetFramework": target_framework,
    }
    document.update({key: value for key, value in optional.items() if value})
    return document


def evidence_item(
    id: str,
    name: str | None = None,
    *,
    description: str | None = None,
    narrative: str | None = None,
    genre: str | None = None,
    audience: str | None = None,
) -> dict[str, Any]:
    """An OB 3.0 `Evidence` entry pointing at an artifact (a portfolio post)."""
    document: dict[str, Any] = {"id": id, "type": ["Evidence"]}
    optional = {
        "name": name,
        "description": description,
        "narrative": narrative,
        "genre": genre,
        "audience": audience,
    }
    document.update({key: value for key, value in optional.items() if value})
    return document


def achievement(
    id: str,
    name: str,
    description: str,
    criteria_narrative: str,
    image_url: str | None,
    *,
    image_caption: str | None = None,
    creator_profile: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
    alignments: Sequence[dict[str, Any]] = (),
    achievement_type: str | None = None,
) -> dict[str, Any]:
    """An OB 3.0 `Achievement` (the badge class a credential awards)."""
    if achievement_type is not None and not (
        achievement_type in ACHIEVEMENT_TYPES or _EXTENSION_TYPE.fullmatch(achievement_type)
    ):
        raise ValueError(f"unknown achievementType {achievement_type!r}")
    document: dict[str, Any] = {"id": id, "type": ["Achievement"]}
    if achievement_type:
        document["achievementType"] = achievement_type
    document["name"] = name
    document["description"] = description
    document["criteria"] = {"narrative": criteria_narrative}
    if image_url:
        document["image"] = _image(image_url, image_caption)
    if creator_profile:
        document["creator"] = creator_profile
    if tags:
        document["tag"] = list(tags)
    if alignments:
        document["alignment"] = list(alignments)
    return document


def open_badge_credential(
    id: str,
    issuer_profile: dict[str, Any],
    subject_id: str,
    achievement: dict[str, Any],
    valid_from: datetime,
    *,
    name: str,
    description: str | None = None,
    valid_until: datetime | None = None,
    evidence: Sequence[dict[str, Any]] = (),
    credential_status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An unsigned OB 3.0 `OpenBadgeCredential` awarding `achievement` to `subject_id`."""
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("validUntil must come after validFrom")
    document: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile,
        "validFrom": _timestamp(valid_from),
    }
    if valid_until is not None:
        document["validUntil"] = _timestamp(valid_until)
    document["name"] = name
    if description:
        document["description"] = description
    document["credentialSubject"] = {
        "id": subject_id,
        "type": ["AchievementSubject"],
        "achievement": achievement,
    }
    if evidence:
        document["evidence"] = list(evidence)
    if credential_status is not None:
        document["credentialStatus"] = credential_status
    return document


# Reading ----------------------------------------------------------------------------------------


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadgeError(f"{what} must be an object")
    return value


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    """A property that holds one object or an array of them (absent is empty)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_object(item, what) for item in items]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadgeError(f"{what} must be a non-empty string")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _require_type(document: dict[str, Any], what: str, *accepted: str) -> None:
    value = document.get("type")
    types = [value] if isinstance(value, str) else value
    if not isinstance(types, list) or not all(isinstance(item, str) for item in types):
        raise BadgeError(f"{what}.type must be a string or a list of strings")
    if not set(types) & set(accepted):
        raise BadgeError(f"{what}.type must include {' or '.join(accepted)}")


def _web_url(value: Any, what: str, allow_http: bool) -> str:
    """An absolute https URL (http too in development), without credentials in it."""
    if not isinstance(value, str) or len(value) > _MAX_IRI or re.search(r"[\s\x00-\x1f]", value):
        raise BadgeError(f"{what} must be a URL")
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # an unbalanced IPv6 bracket
        raise BadgeError(f"{what} must be a URL") from exc
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise BadgeError(f"{what} must be an {' or '.join(schemes)} URL")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise BadgeError(f"{what} must name a host and no credentials")
    return value


def _identifier(value: Any, what: str, allow_http: bool) -> str:
    """An id: a web URL, a DID or a `urn:uuid:` (VC DM 2.0 §4.4 allows any URL)."""
    if isinstance(value, str) and (_DID.fullmatch(value) or _URN_UUID.fullmatch(value)):
        return value
    return _web_url(value, what, allow_http)


def _is_web_url(value: str, allow_http: bool) -> bool:
    try:
        _web_url(value, "", allow_http)
    except BadgeError:
        return False
    return True


def _datetime(value: Any, what: str) -> datetime:
    """An RFC 3339 date-time with an offset, as VC DM 2.0 requires for validity dates."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise BadgeError(f"{what} must be an RFC 3339 date-time with a time zone")
    date, time, fraction, offset = match.groups()
    # datetime parses microseconds at most; finer digits carry no meaning for validity.
    micro = f".{fraction[:6]}" if fraction else ""
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{date}T{time}{micro}{offset}")
    except ValueError as exc:
        raise BadgeError(f"{what} is not a valid date-time") from exc


def _read_image(value: Any, allow_http: bool) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    image = {"id": value} if isinstance(value, str) else _object(value, "achievement.image")
    url = image.get("id")
    if not (isinstance(url, str) and _DATA_IMAGE.fullmatch(url)):
        url = _web_url(url, "achievement.image.id", allow_http)
    return url, _optional_text(image.get("caption"), "achievement.image.caption")


def _read_status(value: Any, allow_http: bool) -> tuple[StatusEntry, ...]:
    entries = []
    for item in _objects(value, "credentialStatus"):
        # VC DM 2.0 §4.10: a verifier processes the status types it understands; older 1EdTech
        # types (1EdTechRevocationList) are left to whoever understands them.
        types = item.get("type")
        if types != "BitstringStatusListEntry" and not (
            isinstance(types, list) and "BitstringStatusListEntry" in types
        ):
            continue
        try:
            entry = read_status_entry(item)
        except StatusListError as exc:
            raise BadgeError(f"credentialStatus: {exc.reason}") from exc
        _web_url(entry.list_credential, "statusListCredential", allow_http)
        entries.append(entry)
    return tuple(entries)


def read_credential(doc: Any, *, allow_http: bool = False) -> CredentialSummary:
    """Check an OpenBadgeCredential's shape and summarise it; raises BadgeError on bad input."""
    document = _object(doc, "credential")
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not all(isinstance(item, str) for item in contexts):
        raise BadgeError("@context must be a list of context URLs")
    # VC DM 2.0 §4.3: "The value of the @context property MUST be an ordered set where the first
    # item is a URL with the value https://www.w3.org/ns/credentials/v2".
    if not contexts or contexts[0] != CREDENTIALS_V2:
        raise BadgeError(f"@context must start with {CREDENTIALS_V2}")
    if not any(_OB_CONTEXT_FAMILY.fullmatch(item) for item in contexts):
        raise BadgeError("@context must include an Open Badges 3.0 context")
    _require_type(document, "credential", "VerifiableCredential")
    # The OB 3.0 context defines AchievementCredential as an alias of OpenBadgeCredential.
    _require_type(document, "credential", "OpenBadgeCredential", "AchievementCredential")

    issuer = document.get("issuer")
    if isinstance(issuer, str):
        issuer_id, issuer_name = _identifier(issuer, "issuer", allow_http), None
    else:
        issuer_object = _object(issuer, "issuer")
        issuer_id = _identifier(issuer_object.get("id"), "issuer.id", allow_http)
        issuer_name = _optional_text(issuer_object.get("name"), "issuer.name")

    subject = _object(document.get("credentialSubject"), "credentialSubject")
    _require_type(subject, "credentialSubject", "AchievementSubject")
    badge = _object(subject.get("achievement"), "credentialSubject.achievement")
    _require_type(badge, "achievement", "Achievement")
    criteria = _object(badge.get("criteria"), "achievement.criteria")
    narrative = _optional_text(criteria.get("narrative"), "criteria.narrative")
    criteria_url = criteria.get("id")
    if criteria_url is not None:
        criteria_url = _web_url(criteria_url, "criteria.id", allow_http)
    elif narrative is None:
        raise BadgeError("achievement.criteria needs a narrative or an id")
    image_url, image_caption = _read_image(badge.get("image"), allow_http)

    evidence_urls = []
    for item in _objects(document.get("evidence"), "evidence"):
        _require_type(item, "evidence", "Evidence")
        if item.get("id") is not None:
            evidence_id = _identifier(item["id"], "evidence.id", allow_http)
            # Only web pages are links a reader can follow; urn:uuid and DID ids are not.
            if _is_web_url(evidence_id, allow_http):
                evidence_urls.append(evidence_id)

    valid_from = _datetime(document.get("validFrom"), "validFrom")
    valid_until = None
    if document.get("validUntil") is not None:
        valid_until = _datetime(document["validUntil"], "validUntil")
        if valid_until < valid_from:
            raise BadgeError("validUntil is before validFrom")

    return CredentialSummary(
        id=_identifier(document.get("id"), "id", allow_http),
        name=_text(document.get("name"), "name"),
        issuer_id=issuer_id,
        issuer_name=issuer_name,
        subject_id=_identifier(subject.get("id"), "credentialSubject.id", allow_http),
        achievement_id=_identifier(badge.get("id"), "achievement.id", allow_http),
        achievement_name=_text(badge.get("name"), "achievement.name"),
        achievement_description=_text(badge.get("description"), "achievement.description"),
        criteria_narrative=narrative,
        criteria_url=criteria_url,
        image_url=image_url,
        image_caption=image_caption,
        valid_from=valid_from,
        valid_until=valid_until,
        evidence_urls=tuple(evidence_urls),
        status=_read_status(document.get("credentialStatus"), allow_http),
    )


def check_validity_window(summary: CredentialSummary, now: datetime) -> None:
    """Raise BadgeError unless `now` lies within the credential's validFrom/validUntil."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if now < summary.valid_from:
        raise BadgeError(f"credential is not valid before {summary.valid_from.isoformat()}")
    if summary.valid_until is not None and now > summary.valid_until:
        raise BadgeError(f"credential expired at {summary.valid_until.isoformat()}")
