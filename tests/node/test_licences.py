"""Licences: SPDX ids checked against the SPDX list, Creative Commons deeds and conditions."""

import pytest

from node.errors import InvalidInput
from node.licences import (
    FEATURED,
    attribution_line,
    featured,
    from_url,
    licence,
    optional_licence,
)


@pytest.mark.parametrize(
    ("spdx_id", "name", "url", "conditions"),
    [
        ("CC-BY-4.0", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/", {"BY"}),
        (
            "CC-BY-SA-4.0",
            "CC BY-SA 4.0",
            "https://creativecommons.org/licenses/by-sa/4.0/",
            {"BY", "SA"},
        ),
        (
            "CC-BY-NC-ND-4.0",
            "CC BY-NC-ND 4.0",
            "https://creativecommons.org/licenses/by-nc-nd/4.0/",
            {"BY", "NC", "ND"},
        ),
        ("CC-BY-3.0-DE", "CC BY 3.0 DE", "https://creativecommons.org/licenses/by/3.0/de/", {"BY"}),
        ("CC0-1.0", "CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/", set()),
        (
            "CC-PDM-1.0",
            "Public Domain Mark 1.0",
            "https://creativecommons.org/publicdomain/mark/1.0/",
            set(),
        ),
        ("MIT", "MIT", "https://spdx.org/licenses/MIT.html", set()),
        (
            "GPL-3.0-or-later",
            "GPL-3.0-or-later",
            "https://spdx.org/licenses/GPL-3.0-or-later.html",
            set(),
        ),
    ],
)
def test_licences_by_spdx_id(spdx_id: str, name: str, url: str, conditions: set[str]) -> None:
    item = licence(spdx_id)
    assert item.spdx_id == spdx_id
    assert item.name == name
    assert item.url == url
    assert item.conditions == conditions
    assert item.is_creative_commons == url.startswith("https://creativecommons.org/")


def test_ids_are_case_insensitive_and_canonicalised() -> None:
    assert licence(" cc-by-sa-4.0 ").spdx_id == "CC-BY-SA-4.0"
    assert licence("mit").spdx_id == "MIT"


def test_no_derivatives_forbids_adaptations() -> None:
    assert not licence("CC-BY-ND-4.0").allows_adaptations
    assert not licence("CC-BY-NC-ND-4.0").allows_adaptations
    assert licence("CC-BY-SA-4.0").allows_adaptations
    assert licence("CC0-1.0").allows_adaptations


@pytest.mark.parametrize(
    "spdx_id",
    ["CC-BY-5.0", "nonsense", "CC BY 4.0", "LicenseRef-school", "Classpath-exception-2.0"],
)
def test_unknown_ids_are_refused_by_name(spdx_id: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        licence(spdx_id)
    assert spdx_id in raised.value.reason


@pytest.mark.parametrize(
    "expression",
    ["MIT OR Apache-2.0", "CC-BY-4.0 AND MIT", "GPL-2.0-or-later WITH Classpath-exception-2.0"],
)
def test_expressions_are_refused(expression: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        licence(expression)
    assert "single licence" in raised.value.reason


@pytest.mark.parametrize("spdx_id", [None, "", "  ", "none", "None", "NONE"])
def test_no_licence_means_all_rights_reserved(spdx_id: str | None) -> None:
    assert optional_licence(spdx_id) is None


def test_optional_licence_still_checks_ids() -> None:
    assert optional_licence("CC-BY-4.0") == licence("CC-BY-4.0")
    with pytest.raises(InvalidInput):
        optional_licence("CC-BY-99")


def test_featured_licences_are_valid_and_start_with_creative_commons() -> None:
    items = featured()
    assert [item.spdx_id for item in items] == list(FEATURED)
    assert items[0].spdx_id == "CC-BY-4.0"
    assert all(item.is_creative_commons for item in items[:8])


@pytest.mark.parametrize("spdx_id", FEATURED + ("CC-BY-3.0-DE", "CC-BY-NC-SA-2.0"))
def test_urls_name_the_licence_they_came_from(spdx_id: str) -> None:
    assert from_url(licence(spdx_id).url) == licence(spdx_id)


@pytest.mark.parametrize(
    ("url", "spdx_id"),
    [
        ("http://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0"),  # PeerTube, older
        ("https://creativecommons.org/licenses/by/4.0", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by-nc/4.0/#ref", "CC-BY-NC-4.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0", "CC0-1.0"),
        ("https://spdx.org/licenses/MIT", "MIT"),
        ("https://spdx.org/licenses/Apache-2.0.html", "Apache-2.0"),
    ],
)
def test_remote_licence_urls_are_recognised(url: str, spdx_id: str) -> None:
    item = from_url(url)
    assert item is not None and item.spdx_id == spdx_id


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/licence",
        "https://creativecommons.org/licenses/by/9.9/",
        "https://creativecommons.org/licenses/by-xx/4.0/",
        "https://spdx.org/licenses/NotALicence.html",
        "",
    ],
)
def test_unknown_licence_urls_are_not_guessed(url: str) -> None:
    assert from_url(url) is None


def test_attribution_line_names_title_author_and_licence() -> None:
    assert (
        attribution_line("Fractions worksheet", "Alice", licence("CC-BY-SA-4.0"))
        == "Fractions worksheet by Alice, CC BY-SA 4.0"
    )
    assert attribution_line("", "Alice", licence("CC0-1.0")) == "By Alice, CC0 1.0"
    line = attribution_line("Notes", "Bob", None)
    assert line.startswith("Notes by Bob, ")
    assert "all rights reserved" in line


def test_deed_urls_with_a_language_are_recognised() -> None:
    from node.licences import from_url

    found = from_url("https://creativecommons.org/licenses/by-nc/4.0/deed.de")
    assert found is not None and found.spdx_id == "CC-BY-NC-4.0"
