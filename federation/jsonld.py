"""Offline JSON-LD over bundled contexts: document loader, safety guards, canonical N-Quads."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyld import jsonld as pyld_jsonld

CONTEXTS_DIR = Path(__file__).parent / "contexts"

# Context URL -> bundled file. Only the exact URLs whose published text we ship: an alias such as
# the unversioned OB 3.0 `context.json` may be repointed upstream, and hashes would silently differ.
BUNDLED_CONTEXTS: Mapping[str, str] = {
    "https://www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "https://w3id.org/security/v1": "security-v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://www.w3.org/ns/cid/v1": "cid-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
}

DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_DEPTH = 32

# Never dereferenced: a base under the reserved `.invalid` TLD (RFC 2606) so that any IRI the guard
# finds below it must have been relative in the input.
_SENTINEL_BASE = "https://relative-iri.invalid/"
# https://www.w3.org/ns/activitystreams maps `@vocab` to `_:`, so AS2 expands undefined terms to
# blank-node IRIs, which RDF serialisation then drops without a word.
_BLANK_PREFIX = "_:"


class JsonLdError(Exception):
    """A JSON-LD document that cannot be processed safely or offline."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StaticDocumentLoader:
    """A pyld document loader that serves bundled contexts and refuses every other URL."""

    def __init__(
        self,
        contexts: Mapping[str, str] = BUNDLED_CONTEXTS,
        directory: Path = CONTEXTS_DIR,
    ) -> None:
        self._contexts = dict(contexts)
        self._directory = directory
        self._parsed: dict[str, Any] = {}

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return the pyld remote document for a bundled context URL."""
        filename = self._contexts.get(url)
        if filename is None:
            raise JsonLdError(f"context {url!r} is not bundled; contexts are never fetched")
        if url not in self._parsed:
            self._parsed[url] = json.loads((self._directory / filename).read_text("utf-8"))
        # pyld may annotate what it is handed; keep the cached copy pristine.
        document = copy.deepcopy(self._parsed[url])
        return {"contextUrl": None, "documentUrl": url, "document": document}


def check_bounds(
    document: Any, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> None:
    """Raise JsonLdError if a document is larger than max_bytes or nests deeper than max_depth."""
    # Depth first, iteratively: json.dumps and pyld both recurse and would overflow the stack.
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise JsonLdError(f"document nests deeper than {max_depth} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    try:
        size = len(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise JsonLdError(f"document is not JSON: {exc}") from exc
    if size > max_bytes:
        raise JsonLdError(f"document is {size} bytes, over the limit of {max_bytes}")


@contextmanager
def _pyld_errors() -> Iterator[None]:
    """Turn pyld failures into JsonLdError, surfacing our loader's refusal when it is the cause."""
    try:
        yield
    except pyld_jsonld.JsonLdError as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, JsonLdError):
                raise cause from exc
            cause = cause.__cause__
        code = f" ({exc.code})" if exc.code else ""
        raise JsonLdError(f"JSON-LD processing failed: {exc.args[0]}{code}") from exc
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        # pyld 3.3 has crash paths on odd but valid input (`"@vocab": null` with no @vocab set
        # raises KeyError); inbound documents are untrusted, so report them as unprocessable.
        raise JsonLdError(f"JSON-LD processor failed on this document: {exc!r}") from exc


def expand(document: Mapping[str, Any], loader: StaticDocumentLoader | None = None) -> list[Any]:
    """Expand a JSON-LD document offline with the bundled contexts."""
    options = {"documentLoader": loader or StaticDocumentLoader()}
    with _pyld_errors():
        result: list[Any] = pyld_jsonld.expand(dict(document), options)
    return result


def canonicalize(
    document: Mapping[str, Any],
    loader: StaticDocumentLoader | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of a bounded JSON-LD document."""
    check_bounds(document, max_bytes, max_depth)
    options = {
        # pyld's default is URGNA2012; URDNA2015 is the algorithm RDFC-1.0 standardised, and pyld
        # rejects the name "RDFC-1.0".
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader or StaticDocumentLoader(),
    }
    with _pyld_errors():
        result: str = pyld_jsonld.normalize(dict(document), options)
    return result


def check_fully_defined(
    document: Mapping[str, Any], loader: StaticDocumentLoader | None = None
) -> None:
    """Raise JsonLdError if expansion would drop a term or resolve a relative IRI against a base."""
    # pyld has no safe mode (https://www.w3.org/TR/json-ld11-api/ has none to copy): anything it
    # drops is left out of the canonical form, so it would be unsigned, and a relative IRI would be
    # resolved against pyld's made-up base http://example.org/base/.
    dropped: list[str | None] = []
    options = {"documentLoader": loader or StaticDocumentLoader(), "base": _SENTINEL_BASE}
    with _pyld_errors():
        expanded = pyld_jsonld.expand(dict(document), options, on_property_dropped=dropped.append)
    if dropped:
        # pyld reports a term that the context maps to null as None.
        names = ", ".join(sorted(repr(n) if n else "a term mapped to null" for n in dropped))
        raise JsonLdError(f"terms not defined by the context would be dropped: {names}")
    for kind, iri in _iris(expanded):
        if iri.startswith(_SENTINEL_BASE):
            raise JsonLdError(f"relative IRI {iri.removeprefix(_SENTINEL_BASE)!r} in {kind}")
        if kind != "@id" and iri.startswith(_BLANK_PREFIX):
            term = iri.removeprefix(_BLANK_PREFIX)
            raise JsonLdError(f"{kind} term {term!r} is not defined by the context")


def _iris(expanded: Any) -> Iterator[tuple[str, str]]:
    """Yield (role, IRI) for every property, @id and @type in expanded JSON-LD."""
    stack: list[Any] = [expanded]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            if "@value" in value:
                # A typed literal's datatype is an IRI too; its value is data, not structure.
                if isinstance(value.get("@type"), str):
                    yield "@type", value["@type"]
                continue
            for key, item in value.items():
                if key == "@id" and isinstance(item, str):
                    yield "@id", item
                elif key == "@type":
                    for type_iri in item if isinstance(item, list) else [item]:
                        yield "@type", type_iri
                elif not key.startswith("@"):
                    yield "property", key
                    stack.append(item)
                else:
                    stack.append(item)
