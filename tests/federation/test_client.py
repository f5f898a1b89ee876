"""The safe client: content types read as JSON, redirects, bounded size, address checks."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from federation.client import FetchError, SafeClient, check_destination
from federation.media_types import AS2_ACCEPT

STATUS_URL = "https://issuer.example/communities/robotics/badges/status"
VC_JSON = "application/vc+ld+json"
LISTING = {"id": STATUS_URL, "type": ["VerifiableCredential", "BitstringStatusListCredential"]}


def answering(
    content_type: str, body: object = LISTING, seen: list[httpx.Request] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": content_type}
        )

    return answer


def client(handler: Callable[[httpx.Request], httpx.Response], **options: int) -> SafeClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return SafeClient(http, allow_private=True, **options)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/ld+json",
        "application/json; charset=utf-8",
        "application/jrd+json",
    ],
)
async def test_as2_json_and_jrd_are_read_by_default(content_type: str) -> None:
    final_url, document = await client(answering(content_type)).get_json(
        STATUS_URL, auth=lambda: None
    )
    assert final_url == STATUS_URL and document == LISTING


@pytest.mark.parametrize(
    "content_type", [VC_JSON, "application/vc", "text/html", "application/octet-stream", ""]
)
async def test_other_types_are_not_json_to_an_ordinary_fetch(content_type: str) -> None:
    with pytest.raises(FetchError, match="is not JSON"):
        await client(answering(content_type)).get_json(STATUS_URL, auth=lambda: None)


@pytest.mark.parametrize(
    "content_type", [VC_JSON, "application/vc+ld+json; charset=utf-8", "Application/VC+LD+JSON"]
)
async def test_a_status_list_credential_is_json_when_the_fetch_names_its_type(
    content_type: str,
) -> None:
    seen: list[httpx.Request] = []
    accept = f"{VC_JSON}, application/ld+json;q=0.9"
    final_url, document = await client(answering(content_type, seen=seen)).get_json(
        STATUS_URL, auth=lambda: None, accept=accept, json_types=(VC_JSON,)
    )
    assert document == LISTING and final_url == STATUS_URL
    assert seen[0].headers["accept"] == accept


async def test_naming_one_extra_type_opens_no_others() -> None:
    for content_type in ("text/html", "application/vc", "application/xml"):
        with pytest.raises(FetchError, match="is not JSON"):
            await client(answering(content_type)).get_json(
                STATUS_URL, auth=lambda: None, json_types=(VC_JSON,)
            )


async def test_object_fetches_ask_for_as2() -> None:
    seen: list[httpx.Request] = []
    await client(answering("application/activity+json", seen=seen)).get_json(
        STATUS_URL, auth=lambda: None
    )
    assert seen[0].headers["accept"] == AS2_ACCEPT


async def test_the_answer_must_be_a_json_object() -> None:
    with pytest.raises(FetchError, match="did not send a JSON object"):
        await client(answering(VC_JSON, body=[LISTING])).get_json(
            STATUS_URL, auth=lambda: None, json_types=(VC_JSON,)
        )

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{not json", headers={"content-type": VC_JSON})

    with pytest.raises(FetchError, match="invalid JSON"):
        await client(broken).get_json(STATUS_URL, auth=lambda: None, json_types=(VC_JSON,))


async def test_redirects_are_followed_and_each_hop_is_permitted() -> None:
    moved = "https://issuer.example/status/v2"

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == STATUS_URL:
            return httpx.Response(302, headers={"location": "/status/v2"})
        return answering(VC_JSON)(request)

    visited: list[str] = []

    def permit(url: str) -> str | None:
        visited.append(url)
        return None

    final_url, _ = await client(handler).get_json(
        STATUS_URL, auth=lambda: None, json_types=(VC_JSON,), permit=permit
    )
    assert final_url == moved and visited == [STATUS_URL, moved]

    def refuse_moved(url: str) -> str | None:
        return "blocked by policy" if url == moved else None

    with pytest.raises(FetchError, match="blocked by policy"):
        await client(handler).get_json(STATUS_URL, auth=lambda: None, permit=refuse_moved)


async def test_errors_and_oversized_answers_are_fetch_errors() -> None:
    def gone(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410)

    with pytest.raises(FetchError, match="answered 410") as raised:
        await client(gone).get_json(STATUS_URL, auth=lambda: None)
    assert raised.value.status == 410
    with pytest.raises(FetchError, match="too large"):
        await client(answering(VC_JSON), max_bytes=10).get_json(
            STATUS_URL, auth=lambda: None, json_types=(VC_JSON,)
        )


async def test_private_addresses_and_plain_http_are_refused_in_production() -> None:
    for url in ("http://issuer.example/status", "https://127.0.0.1/status", "ftp://x.example/"):
        with pytest.raises(FetchError):
            await check_destination(url, allow_private=False)
    await check_destination("http://127.0.0.1:8000/status", allow_private=True)


# --- get_media: a bounded binary GET for remote attachments -------------------------------------

MEDIA_URL = "https://files.example/media/fractions.png"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
IMAGES = ("image/png", "image/jpeg")


def serving(
    body: bytes, content_type: str, seen: list[httpx.Request] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    return answer


async def test_media_is_read_whole_with_its_bare_type_and_unsigned() -> None:
    seen: list[httpx.Request] = []
    url, media_type, body = await client(serving(PNG_BYTES, "Image/PNG; q=1", seen)).get_media(
        MEDIA_URL, max_bytes=1000, media_types=IMAGES
    )
    assert (url, media_type, body) == (MEDIA_URL, "image/png", PNG_BYTES)
    [request] = seen
    assert "signature" not in request.headers and "image/png" in request.headers["accept"]


async def test_media_of_another_type_or_over_the_cap_is_refused() -> None:
    with pytest.raises(FetchError, match="not an accepted file type"):
        await client(serving(b"<html>", "text/html")).get_media(
            MEDIA_URL, max_bytes=1000, media_types=IMAGES
        )
    with pytest.raises(FetchError, match="too large"):
        # The cap is the caller's (the node's upload limit), not the client's document limit.
        await client(serving(PNG_BYTES, "image/png")).get_media(
            MEDIA_URL, max_bytes=len(PNG_BYTES) - 1, media_types=IMAGES
        )


async def test_media_redirects_are_rechecked_on_every_hop() -> None:
    inside = "https://169.254.169.254/latest/meta-data"

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == MEDIA_URL:
            return httpx.Response(302, headers={"location": inside})
        return serving(PNG_BYTES, "image/png")(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    production = SafeClient(http, allow_private=False)

    async def public_dns(url: str, *, allow_private: bool) -> None:
        # The first hop's host is a public name; the redirect target is checked for real.
        if url != MEDIA_URL:
            await check_destination(url, allow_private=allow_private)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("federation.client.check_destination", public_dns)
        with pytest.raises(FetchError, match="private or reserved"):
            await production.get_media(MEDIA_URL, max_bytes=1000, media_types=IMAGES)
    visited: list[str] = []

    def refuse_second(url: str) -> str | None:
        visited.append(url)
        return "media from this domain is rejected" if url != MEDIA_URL else None

    with pytest.raises(FetchError, match="rejected"):
        await client(handler).get_media(
            MEDIA_URL, max_bytes=1000, media_types=IMAGES, permit=refuse_second
        )
    assert visited == [MEDIA_URL, inside]
