"""HTTP Signatures: signing requests (draft-cavage) and verifying them (draft-cavage, RFC 9421)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item

from federation.digests import DigestError, check_content_digest, check_digest, digest_header

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
Headers = Mapping[str, str] | Iterable[tuple[str, str]]

# Mastodon app/lib/signed_request.rb: CLOCK_SKEW_MARGIN, the implicit 5 minutes of validity after
# `created` (or Date) when no `expires` is given, and EXPIRATION_WINDOW_LIMIT.
CLOCK_SKEW = timedelta(hours=1)
DEFAULT_LIFETIME = timedelta(minutes=5)
MAX_LIFETIME = timedelta(hours=12)

# Bounds on attacker-controlled input, checked before any parsing or key fetching.
MAX_SIGNATURE_FIELD = 8192
MAX_COVERED = 32
MAX_KEY_ID = 2048
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192

REQUEST_TARGET = "(request-target)"
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_DRAFT_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
# RFC 9421 §6.2.2 registry entries we verify.
_RFC9421_ALGORITHMS = frozenset({"rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519"})
_TOKEN = r"[0-9A-Za-z!#$%&'*+.^_`|~-]+"
# draft-cavage-http-signatures-12 §2.1: `name=value` pairs, value a token or a quoted string;
# whitespace around "=" and "," is tolerated as Mastodon's SignatureParamsParser does.
_DRAFT_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:({_TOKEN})|"((?:[^"\\]|\\.)*)")\s*(?:,|$)')


class SignatureError(Exception):
    """An HTTP signature that is missing, malformed, too weak, stale or does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedRequest:
    """A parsed request signature: the claimed key and the exact bytes the signature must cover."""

    key_id: str
    scheme: Literal["draft-cavage", "rfc9421"]
    # As declared; None when the signer left the algorithm to the key (RFC 9421 without `alg`).
    algorithm: str | None
    covered: tuple[str, ...]
    signature: bytes
    # Candidate signature bases, the canonical one first (see _read_draft for the second).
    bases: tuple[bytes, ...]
    created: datetime | None
    expires: datetime | None


def load_public_key_pem(pem: str | bytes) -> PublicKey:
    """Load an RSA or Ed25519 public key from PEM (an actor's `publicKeyPem`)."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError("public key is not a valid PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError(f"unsupported public key type {type(key).__name__}")
    return key


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
) -> dict[str, str]:
    """Return the headers completed with Host, Date, Digest and a draft-cavage Signature."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parts = urlsplit(url)
    replaced = {"signature", "digest"} if body is not None else {"signature"}
    signed = {name: value for name, value in headers.items() if name.lower() not in replaced}
    present = {name.lower() for name in signed}
    if "host" not in present:
        signed["Host"] = _authority(parts.scheme, parts.netloc)
    if "date" not in present:
        signed["Date"] = format_datetime(now.astimezone(UTC), usegmt=True)
    # Mastodon signs every header it sets except User-Agent and Accept-Encoding, in this order:
    # app/lib/request.rb set_common_headers!, set_digest!, then Content-Type (delivery) or
    # Accept (fetch) from add_headers.
    names = [REQUEST_TARGET, "host", "date"]
    if body is not None:
        signed["Digest"] = digest_header(body)
        names.append("digest")
        if "content-type" in present:
            names.append("content-type")
    elif "accept" in present:
        names.append("accept")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    fields = _fields(signed)
    lines = [
        f"{REQUEST_TARGET}: {method.lower()} {target}"
        if name == REQUEST_TARGET
        else f"{name}: {fields[name]}"
        for name in names
    ]
    signature = private_key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    signed["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return signed


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HttpSignatureAuth(httpx.Auth):
    """Sign every request with an actor's key, the way Mastodon signs deliveries and fetches."""

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: rsa.RSAPrivateKey,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.key_id = key_id
        self.private_key = private_key
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add Date, Digest (when there is a body) and Signature, then send the request."""
        body = request.content
        signed = sign_request(
            request.method,
            str(request.url),
            dict(request.headers),
            body if body or request.method not in _BODYLESS else None,
            self.key_id,
            self.private_key,
            self.clock(),
        )
        for name, value in signed.items():
            if request.headers.get(name) != value:
                request.headers[name] = value
        yield request


def read_signed_request(
    method: str, path_with_query: str, headers: Headers, *, scheme: str = "https"
) -> SignedRequest:
    """Parse a request's signature and build its signature base, without judging its strength."""
    fields = _fields(headers)
    for name in ("signature", "signature-input"):
        if len(fields.get(name, "")) > MAX_SIGNATURE_FIELD:
            raise SignatureError(f"{name} header is larger than {MAX_SIGNATURE_FIELD} bytes")
    # Mastodon app/lib/signed_request.rb: Signature-Input means RFC 9421, otherwise draft-cavage.
    if "signature-input" in fields:
        signed = _read_rfc9421(method, path_with_query, fields, scheme)
    elif "signature" in fields:
        signed = _read_draft(method, path_with_query, fields)
    else:
        raise SignatureError("request is not signed")
    if not signed.key_id or len(signed.key_id) > MAX_KEY_ID:
        raise SignatureError("key id is missing or too long")
    return signed


def parse_signature_request(
    method: str,
    path_with_query: str,
    headers: Headers,
    body: bytes,
    now: datetime,
    *,
    scheme: str = "https",
) -> SignedRequest:
    """Parse an inbound request's signature and apply Mastodon's rules, before any key fetch."""
    fields = _fields(headers)
    signed = read_signed_request(method, path_with_query, fields, scheme=scheme)
    _require_strength(signed, method, body)
    _check_body_digest(signed, fields, body)
    _check_clock(signed, now)
    return signed


def verify(signed: SignedRequest, public_key: PublicKey) -> None:
    """Check the signature with the signer's public key; raise SignatureError unless it matches."""
    if isinstance(public_key, rsa.RSAPublicKey) and not (
        MIN_RSA_BITS <= public_key.key_size <= MAX_RSA_BITS
    ):
        raise SignatureError(f"RSA keys of {public_key.key_size} bits are not accepted")
    for check in _checks(signed, public_key):
        for base in signed.bases:
            try:
                check(signed.signature, base)
            except InvalidSignature:
                continue
            return
    raise SignatureError(f"signature does not verify with key {signed.key_id}")


async def verify_with_refetch(
    signed: SignedRequest, fetch_key: Callable[[str, bool], Awaitable[PublicKey]]
) -> PublicKey:
    """Verify with the cached key, then once with a refetched one (the key may have rotated)."""
    # Mastodon app/controllers/concerns/signature_verification.rb: on failure, actor_refresh_key!
    # and verify a second time; never more, so a bad signature costs at most one fetch.
    key = await fetch_key(signed.key_id, False)
    try:
        verify(signed, key)
        return key
    except SignatureError:
        fresh = await fetch_key(signed.key_id, True)
    verify(signed, fresh)
    return fresh


def _fields(headers: Headers) -> dict[str, str]:
    """Lowercase names; repeated fields joined with ", " (draft-cavage §2.3, RFC 9421 §2.1)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name.lower(), []).append(value.strip())
    return {name: ", ".join(values) for name, values in fields.items()}


def _authority(scheme: str, netloc: str) -> str:
    """The host[:port] of a URL, lowercased, without userinfo or the scheme's default port."""
    authority = netloc.rpartition("@")[2].lower()
    default = {"https": ":443", "http": ":80"}.get(scheme.lower())
    if default and authority.endswith(default):
        authority = authority.removesuffix(default)
    return authority


def _timestamp(value: int | str, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError(f"signature parameter {name} is not a valid timestamp") from None


def _http_date(value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise SignatureError(f"Invalid Date header: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decode_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise SignatureError("signature is not valid base64") from None


def _parse_draft_params(value: str) -> dict[str, str]:
    # Mastodon tolerates old node-http-signature's "Signature " prefix (SignatureParamsParser).
    text = value.removeprefix("Signature ").strip()
    params: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _DRAFT_PARAM.match(text, position)
        if match is None or match.end() == position:
            raise SignatureError("Error parsing signature parameters")
        name, token, quoted = match.groups()
        if name in params:
            # draft-cavage-http-signatures-12 §2.2: duplicated parameters must fail.
            raise SignatureError(f"signature parameter {name} is duplicated")
        params[name] = token if token is not None else re.sub(r"\\(.)", r"\1", quoted)
        position = match.end()
    return params


def _read_draft(method: str, path_with_query: str, fields: dict[str, str]) -> SignedRequest:
    params = _parse_draft_params(fields["signature"])
    if not params.get("keyId") or not params.get("signature"):
        raise SignatureError("Incompatible request signature: keyId and signature are required")
    # Mastodon: no algorithm means hs2019, whose default coverage is "(created)" instead of "date".
    algorithm = params.get("algorithm")
    effective = (algorithm or "hs2019").lower()
    if effective not in _DRAFT_ALGORITHMS:
        raise SignatureError(f"Unsupported signature algorithm {algorithm!r} (rsa-sha256, hs2019)")
    covered = tuple(
        params.get("headers", "(created)" if effective == "hs2019" else "date").lower().split()
    )
    if not covered or len(covered) > MAX_COVERED:
        raise SignatureError(f"signature must cover between 1 and {MAX_COVERED} headers")
    created = expires = None
    if "created" in params:
        created = _timestamp(params["created"], "created")
    if "expires" in params:
        expires = _timestamp(params["expires"], "expires")
    if effective != "hs2019" or created is None:
        created = _http_date(fields["date"]) if "date" in fields else None

    def base(target: str) -> bytes:
        lines = []
        for name in covered:
            if name == REQUEST_TARGET:
                lines.append(f"{REQUEST_TARGET}: {method.lower()} {target}")
            elif name in ("(created)", "(expires)"):
                # draft-cavage-http-signatures-12 §2.3: not allowed with rsa-* algorithms.
                parameter = name.strip("()")
                if effective != "hs2019":
                    raise SignatureError(f"Invalid pseudo-header {name} for {effective}")
                if parameter not in params:
                    raise SignatureError(f"Pseudo-header {name} used but {parameter} missing")
                lines.append(f"{name}: {params[parameter]}")
            elif name in fields:
                lines.append(f"{name}: {fields[name]}")
            else:
                raise SignatureError(f"signed header {name} is missing from the request")
        return "\n".join(lines).encode()

    bases = [base(path_with_query)]
    path = path_with_query.partition("?")[0]
    if REQUEST_TARGET in covered and path != path_with_query:
        # Mastodon app/lib/signed_request.rb verified?: older Mastodon versions left the query
        # string out of (request-target), so Mastodon still accepts such signatures.
        bases.append(base(path))
    return SignedRequest(
        key_id=params["keyId"],
        scheme="draft-cavage",
        algorithm=algorithm,
        covered=covered,
        signature=_decode_signature(params["signature"]),
        bases=tuple(bases),
        created=created,
        expires=expires,
    )


def _sfv_dictionary(value: str, name: str) -> Dictionary:
    dictionary = Dictionary()
    try:
        dictionary.parse(value.encode("latin-1"))
    except (ValueError, UnicodeEncodeError):
        raise SignatureError(f"{name} header is not a valid RFC 8941 dictionary") from None
    return dictionary


def _read_rfc9421(
    method: str, path_with_query: str, fields: dict[str, str], scheme: str
) -> SignedRequest:
    inputs = _sfv_dictionary(fields["signature-input"], "Signature-Input")
    signatures = _sfv_dictionary(fields.get("signature", ""), "Signature")
    # RFC 9421 §4.1: several signatures may travel together; we check the first labelled pair.
    label = next((label for label in inputs if label in signatures), None)
    if label is None:
        raise SignatureError("no Signature matches a Signature-Input label")
    member, value = inputs[label], signatures[label]
    if not isinstance(member, InnerList) or not isinstance(value, Item):
        raise SignatureError("Signature-Input must be an inner list and Signature a byte sequence")
    if not isinstance(value.value, bytes):
        raise SignatureError("Signature must be a byte sequence")
    params = dict(member.params)
    key_id, algorithm = params.get("keyid"), params.get("alg")
    if not isinstance(key_id, str):
        raise SignatureError("Incompatible request signature: keyid is required")
    if algorithm is not None and algorithm not in _RFC9421_ALGORITHMS:
        raise SignatureError(f"Unsupported signature algorithm {algorithm!r}")
    if len(member) > MAX_COVERED:
        raise SignatureError(f"signature must cover at most {MAX_COVERED} components")
    path, _, query = path_with_query.partition("?")
    authority = _authority(scheme, fields.get("host", ""))
    # RFC 9421 §2.2 derived components.
    derived = {
        "@method": method.upper(),
        "@target-uri": f"{scheme.lower()}://{authority}{path_with_query}",
        "@authority": authority,
        "@scheme": scheme.lower(),
        "@request-target": path_with_query,
        "@path": path or "/",
        "@query": f"?{query}",
    }
    covered: list[str] = []
    lines: list[str] = []
    for item in member:
        name = item.value
        if type(name) is not str:  # RFC 9421 §2: component identifiers are sf-strings
            raise SignatureError("covered components must be strings")
        if item.params:
            raise SignatureError(f"component parameters on {name!r} are not supported")
        if name in covered:
            raise SignatureError(f"component {name!r} is covered twice")  # RFC 9421 §2.5
        if name.startswith("@"):
            if name not in derived:
                raise SignatureError(f"derived component {name!r} is not supported")
            component = derived[name]
        elif name in fields:
            component = fields[name]
        else:
            raise SignatureError(f"signed header {name} is missing from the request")
        covered.append(name)
        lines.append(f"{item}: {component}")
    # RFC 9421 §2.3: the last line is the serialised Signature-Input member itself.
    lines.append(f'"@signature-params": {member}')
    for name in ("created", "expires"):
        if name in params and type(params[name]) is not int:
            raise SignatureError(f"signature parameter {name} is not an integer")
    created = expires = None
    if "created" in params:
        created = _timestamp(params["created"], "created")
    elif "date" in covered:
        created = _http_date(fields["date"])
    if "expires" in params:
        expires = _timestamp(params["expires"], "expires")
    return SignedRequest(
        key_id=key_id,
        scheme="rfc9421",
        algorithm=algorithm,
        covered=tuple(covered),
        signature=value.value,
        bases=("\n".join(lines).encode(),),
        created=created,
        expires=expires,
    )


def _require_strength(signed: SignedRequest, method: str, body: bytes) -> None:
    """Mastodon's verify_signature_strength!, with host and the target always required."""
    covered = set(signed.covered)
    needs_digest = method.upper() == "POST" or bool(body)
    if signed.scheme == "draft-cavage":
        if REQUEST_TARGET not in covered:
            raise SignatureError("the signature must cover (request-target)")
        if "host" not in covered:
            raise SignatureError("the signature must cover the Host header")
        if not covered & {"date", "(created)"}:
            raise SignatureError("the signature must cover the Date header or (created)")
        if needs_digest and "digest" not in covered:
            raise SignatureError(
                "the signature must cover the Digest header of a request with a body"
            )
        return
    if "@method" not in covered or not covered & {"@target-uri", "@path", "@request-target"}:
        raise SignatureError("the signature must cover @method and @target-uri (or @path)")
    if not covered & {"@target-uri", "@authority", "host"}:
        raise SignatureError("the signature must cover @authority (or @target-uri)")
    if signed.created is None:
        raise SignatureError("the signature must carry a created parameter or cover Date")
    if needs_digest and "content-digest" not in covered:
        raise SignatureError(
            "the signature must cover the Content-Digest header of a request with a body"
        )


def _check_body_digest(signed: SignedRequest, fields: dict[str, str], body: bytes) -> None:
    try:
        if signed.scheme == "draft-cavage" and "digest" in signed.covered:
            check_digest(fields["digest"], body)
        elif signed.scheme == "rfc9421" and "content-digest" in signed.covered:
            check_content_digest(fields["content-digest"], body)
    except DigestError as error:
        raise SignatureError(error.reason) from None


def _check_clock(signed: SignedRequest, now: datetime) -> None:
    """Mastodon's matches_time_window?: a one-hour skew either way around created..expires."""
    if signed.created is None:
        raise SignatureError("the request carries neither a Date header nor a created time")
    expires = min(
        signed.expires or signed.created + DEFAULT_LIFETIME, signed.created + MAX_LIFETIME
    )
    if signed.created > now + CLOCK_SKEW or now > expires + CLOCK_SKEW:
        raise SignatureError("Signed request date outside acceptable time window")


def _pkcs1_sha256(key: rsa.RSAPublicKey) -> Callable[[bytes, bytes], None]:
    return lambda signature, data: key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def _pss_sha512(key: rsa.RSAPublicKey) -> Callable[[bytes, bytes], None]:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)  # RFC 9421 §3.3.1
    return lambda signature, data: key.verify(signature, data, pss, hashes.SHA512())


def _checks(signed: SignedRequest, key: PublicKey) -> list[Callable[[bytes, bytes], None]]:
    """The signature schemes to try for this algorithm and key, or SignatureError on a mismatch."""
    default = "hs2019" if signed.scheme == "draft-cavage" else ""
    algorithm = (signed.algorithm or default).lower()
    if isinstance(key, ed25519.Ed25519PublicKey):
        if algorithm in ("", "hs2019", "ed25519"):
            return [key.verify]
    elif algorithm in ("rsa-sha256", "hs2019", "rsa-v1_5-sha256"):
        # Mastodon verifies hs2019 as RSASSA-PKCS1-v1_5 with SHA-256, like rsa-sha256.
        return [_pkcs1_sha256(key)]
    elif algorithm == "rsa-pss-sha512":
        return [_pss_sha512(key)]
    elif not algorithm:
        # RFC 9421 §3.2 leaves the algorithm to the key. Mastodon and Fedify sign without `alg`
        # using rsa-v1_5-sha256; the RFC's own examples use rsa-pss-sha512.
        return [_pkcs1_sha256(key), _pss_sha512(key)]
    raise SignatureError(
        f"key type {type(key).__name__} does not match algorithm {algorithm or 'unspecified'}"
    )
