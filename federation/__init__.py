"""A stateless ActivityPub protocol library: signatures, JSON-LD, vocabulary, proofs, badges."""
