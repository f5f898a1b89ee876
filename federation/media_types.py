"""ActivityStreams 2.0 media types and HTTP content negotiation between AS2 JSON and HTML."""

from __future__ import annotations

from dataclasses import dataclass, field

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"
LD_JSON = "application/ld+json"
# https://www.w3.org/TR/activitypub/#retrieving-objects
LD_JSON_AS2 = f'{LD_JSON}; profile="{AS2_CONTEXT}"'
JSON = "application/json"
JRD_JSON = "application/jrd+json"
XRD_XML = "application/xrd+xml"
HTML = "text/html"

# What we send as Accept on outbound object fetches (Mastodon sends the same pair).
AS2_ACCEPT = f"{LD_JSON_AS2}, {ACTIVITY_JSON}"

_AS2_TYPES = frozenset({ACTIVITY_JSON, LD_JSON})
_HTML_TYPES = frozenset({HTML, "application/xhtml+xml"})


@dataclass(frozen=True)
class MediaRange:
    """One parsed element of an Accept or Content-Type header."""

    type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0


def _split_unquoted(value: str, separator: str) -> list[str]:
    """Split on a separator outside double quotes (RFC 9110 §5.6.4 quoted-string)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


def parse_media_range(value: str) -> MediaRange | None:
    """Parse one `type/subtype; k=v` element; None when it is not a media type."""
    pieces = _split_unquoted(value, ";")
    media_type = pieces[0].strip().lower()
    if media_type.count("/") != 1 or " " in media_type:
        return None
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        name, sep, raw = piece.partition("=")
        if not sep:
            continue
        name = name.strip().lower()
        if name == "q":
            try:
                q = min(max(float(raw.strip()), 0.0), 1.0)
            except ValueError:
                q = 0.0
        else:
            params[name] = _unquote(raw)
    return MediaRange(media_type, params, q)


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an Accept header into media ranges, skipping malformed elements."""
    ranges = []
    for element in _split_unquoted(header, ","):
        if element.strip():
            parsed = parse_media_range(element)
            if parsed is not None:
                ranges.append(parsed)
    return ranges


def _is_as2(media: MediaRange) -> bool:
    if media.type == ACTIVITY_JSON:
        return True
    if media.type == LD_JSON:
        # The AP spec asks for the AS2 profile; Mastodon (config/initializers/mime_types.rb)
        # also answers bare application/ld+json with AS2, and a profile list may hold several IRIs.
        profile = media.params.get("profile")
        return profile is None or AS2_CONTEXT in profile.split()
    return False


def wants_activity_json(accept_header: str | None) -> bool:
    """Whether a request's Accept header prefers AS2 JSON over HTML."""
    if not accept_header:
        return False
    as2_q = -1.0
    html_q = -1.0
    for media in parse_accept(accept_header):
        if _is_as2(media):
            as2_q = max(as2_q, media.q)
        elif media.type in _HTML_TYPES:
            html_q = max(html_q, media.q)
    # Wildcards never select AS2: browsers send `*/*;q=0.8` and must get HTML. Only clients
    # that name an AS2 type ask for it, so on a tie between AS2 and HTML, AS2 wins.
    return as2_q > 0.0 and as2_q >= html_q


def is_activity_json(content_type: str | None) -> bool:
    """Whether a Content-Type header names an AS2 document."""
    if not content_type:
        return False
    media = parse_media_range(content_type)
    if media is None:
        return False
    # Mastodon's JsonLdHelper#expected_type? accepts activity+json and ld+json whatever the profile;
    # some servers (GoToSocial, Pleroma) omit the profile when they answer ld+json.
    return media.type in _AS2_TYPES


def media_type_of(content_type: str | None) -> str | None:
    """The bare, lowercased media type of a Content-Type header, or None."""
    if not content_type:
        return None
    media = parse_media_range(content_type)
    return None if media is None else media.type
