"""Offline JSON-LD: bundled contexts, canonical N-Quads against published vectors, guards."""

import json
from pathlib import Path
from typing import Any

import pytest

from federation.jsonld import (
    BUNDLED_CONTEXTS,
    CONTEXTS_DIR,
    JsonLdError,
    StaticDocumentLoader,
    canonicalize,
    check_bounds,
    check_fully_defined,
    expand,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
W3C = VECTORS / "w3c-vc-di-eddsa" / "TestVectors"
OB3 = VECTORS / "ob3-1edtech-eddsa-rdfc-2022"
AS2 = "https://www.w3.org/ns/activitystreams"


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def note(**extra: Any) -> dict[str, Any]:
    return {
        "@context": AS2,
        "id": "https://school.example/posts/1",
        "type": "Note",
        "attributedTo": "https://school.example/members/ada",
        "content": "Hello",
        **extra,
    }


def test_every_shared_context_is_bundled_and_mapped() -> None:
    shared = {path.name for path in (VECTORS / "contexts").iterdir()}
    assert shared == set(BUNDLED_CONTEXTS.values())
    for name in shared:
        assert (CONTEXTS_DIR / name).read_bytes() == (VECTORS / "contexts" / name).read_bytes()


@pytest.mark.parametrize("url", sorted(BUNDLED_CONTEXTS))
def test_loader_serves_each_bundled_context(url: str) -> None:
    remote = StaticDocumentLoader()(url)
    assert remote["documentUrl"] == url
    assert "@context" in remote["document"]


def test_loader_hands_out_copies_so_callers_cannot_poison_the_cache() -> None:
    loader = StaticDocumentLoader()
    first = loader(AS2)
    first["document"]["@context"] = "tampered"
    assert loader(AS2)["document"]["@context"] != "tampered"


def test_loader_refuses_unknown_url_without_fetching() -> None:
    with pytest.raises(JsonLdError, match="not bundled"):
        StaticDocumentLoader()("https://evil.example/context.jsonld")


def test_canonicalize_surfaces_the_refusal_of_an_unbundled_context() -> None:
    document = {"@context": "https://evil.example/context.jsonld", "name": "x"}
    with pytest.raises(JsonLdError, match="https://evil.example/context.jsonld"):
        canonicalize(document)


def test_canonicalize_reproduces_w3c_rdfc_document() -> None:
    expected = (W3C / "eddsa-rdfc-2022" / "canonDocDataInt.txt").read_text("utf-8")
    assert canonicalize(load(W3C / "unsigned.json")) == expected


def test_canonicalize_reproduces_w3c_rdfc_proof_configuration() -> None:
    expected = (W3C / "eddsa-rdfc-2022" / "proofCanonDataInt.txt").read_text("utf-8")
    assert canonicalize(load(W3C / "eddsa-rdfc-2022" / "proofConfigDataInt.json")) == expected


def test_canonicalize_reproduces_ob3_document_with_its_xsd_https_quirk() -> None:
    canon = canonicalize(load(OB3 / "unsigned.json"))
    assert canon == (OB3 / "document-canon.txt").read_text("utf-8")
    # The OB 3.0 context types anyURI under https://www.w3.org/2001/XMLSchema#; the hashes need it.
    assert "<https://www.w3.org/2001/XMLSchema#anyURI>" in canon


def test_expand_uses_bundled_contexts() -> None:
    [node] = expand(note())
    assert node["@type"] == ["https://www.w3.org/ns/activitystreams#Note"]


def test_check_fully_defined_accepts_published_documents() -> None:
    check_fully_defined(load(W3C / "unsigned.json"))
    check_fully_defined(load(OB3 / "unsigned.json"))
    check_fully_defined(load(VECTORS / "fep-8b32-eddsa-jcs-2022" / "unsigned.json"))
    check_fully_defined(load(VECTORS / "fep-8b32-eddsa-jcs-2022" / "actor-cid-context.json"))


def test_check_fully_defined_rejects_term_the_context_drops() -> None:
    credential = {**load(OB3 / "unsigned.json"), "colour": "red"}
    with pytest.raises(JsonLdError, match="'colour'"):
        check_fully_defined(credential)


def test_check_fully_defined_rejects_term_mapped_to_null() -> None:
    document = note(secret="x")
    document["@context"] = [AS2, {"secret": None}]
    with pytest.raises(JsonLdError, match="mapped to null"):
        check_fully_defined(document)


def test_check_fully_defined_rejects_as2_blank_node_vocabulary_term() -> None:
    # AS2's `@vocab: "_:"` keeps the British spelling through expansion, but RDF then drops it.
    with pytest.raises(JsonLdError, match="'licence'"):
        check_fully_defined(note(licence="https://creativecommons.org/licenses/by/4.0/"))


def test_check_fully_defined_rejects_undefined_type() -> None:
    with pytest.raises(JsonLdError, match="'Nite'"):
        check_fully_defined({**note(), "type": "Nite"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "posts/1"), ("attributedTo", "../members/ada")],
)
def test_check_fully_defined_rejects_relative_iri(field: str, value: str) -> None:
    with pytest.raises(JsonLdError, match="relative IRI"):
        check_fully_defined({**note(), field: value})


def test_check_fully_defined_rejects_relative_credential_id() -> None:
    credential = {**load(OB3 / "unsigned.json"), "id": "credentials/3527"}
    with pytest.raises(JsonLdError, match="'credentials/3527'"):
        check_fully_defined(credential)


def test_pyld_crash_on_odd_input_is_reported_as_json_ld_error() -> None:
    # pyld 3.3 raises KeyError when `@vocab: null` meets a context without @vocab.
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", {"@vocab": None}]}
    with pytest.raises(JsonLdError):
        canonicalize({**document, "name": "x"})
    with pytest.raises(JsonLdError):
        check_fully_defined({**document, "name": "x"})


def test_canonicalize_refuses_oversized_document() -> None:
    document = note(content="x" * 2048)
    with pytest.raises(JsonLdError, match="over the limit of 1024"):
        canonicalize(document, max_bytes=1024)


def test_canonicalize_refuses_deep_nesting() -> None:
    nested: dict[str, Any] = {"type": "Note"}
    for _ in range(40):
        nested = {"type": "Note", "inReplyTo": nested}
    with pytest.raises(JsonLdError, match="deeper than 32"):
        canonicalize({"@context": AS2, **nested})


def test_check_bounds_stops_nesting_too_deep_for_the_json_encoder() -> None:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(JsonLdError, match="deeper than 32"):
        check_bounds({"a": nested})


def test_check_bounds_rejects_values_that_are_not_json() -> None:
    with pytest.raises(JsonLdError, match="not JSON"):
        check_bounds({"when": object()})


def test_check_bounds_accepts_document_within_limits() -> None:
    check_bounds(note(), max_bytes=1024, max_depth=2)
    with pytest.raises(JsonLdError, match="deeper than 1"):
        check_bounds({"a": [1]}, max_depth=1)
