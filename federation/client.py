"""A careful HTTP client for federation: signed, bounded, content-typed, and address-checked.

Remote servers are hostile by default, so every fetch and delivery is bounded in size and time,
redirects are followed by hand (each hop re-checked and re-signed), and in production private,
loopback, link-local and metadata addresses are refused after DNS resolution.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from federation.media_types import AS2_ACCEPT, JRD_JSON, is_activity_json, media_type_of

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "Guildhall/0.1 (+https://github.com/guildhall)"
JSON_TYPES = frozenset({"application/json", JRD_JSON})


class FetchError(Exception):
    """A remote request failed or its answer was unacceptable."""

    def __init__(self, reason: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Delivered:
    """The answer to a delivery POST."""

    status: int
    retry_after: str | None


AuthFactory = Callable[[], httpx.Auth | None]
# A caller's own veto on each URL a fetch visits (the node's federation policy): a reason to
# refuse, or None to go ahead. It runs on the first URL and again on every redirect hop.
Permit = Callable[[str], str | None]


def _is_forbidden_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to private ranges."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url[:200]}")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are refused")
    if allow_private:
        return
    if parts.scheme != "https":
        raise FetchError(f"plain http is refused outside development mode: {url[:200]}")
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or any(_is_forbidden_address(a) for a in addresses):
        # Resolving every address closes the "one public, one private" DNS trick; the
        # metadata address 169.254.169.254 is link-local and so refused here too.
        raise FetchError(f"{host} resolves to a private or reserved address")


class SafeClient:
    """Signed GETs and POSTs over one shared httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        allow_private: bool = False,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        timeout: float = 10.0,
    ) -> None:
        self.http = http
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def _read_bounded(self, response: httpx.Response, limit: int | None = None) -> bytes:
        limit = self.max_bytes if limit is None else limit
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"response too large ({declared} bytes)", response.status_code)
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError("response too large", response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    async def get_json(
        self,
        url: str,
        *,
        auth: AuthFactory,
        accept: str = AS2_ACCEPT,
        permit: Permit | None = None,
        json_types: Collection[str] = (),
    ) -> tuple[str, dict[str, Any]]:
        """The final URL and JSON object at `url`: AS2, JSON or JRD, or one of `json_types`."""
        # `json_types` widens one fetch only (application/vc+ld+json for a status list
        # credential), so object fetches never read a credential type as AS2. Media types
        # compare bare and lowercased (RFC 9110 §8.3.1); charset or profile parameters do not
        # matter here.
        accepted = JSON_TYPES | {media_type.lower() for media_type in json_types}
        for _hop in range(MAX_REDIRECTS + 1):
            refusal = permit(url) if permit is not None else None
            if refusal is not None:
                raise FetchError(refusal)
            await check_destination(url, allow_private=self.allow_private)
            try:
                request = self.http.build_request(
                    "GET",
                    url,
                    headers={"Accept": accept, "User-Agent": USER_AGENT},
                    timeout=self.timeout,
                )
                response = await self.http.send(
                    request, auth=auth() or httpx.USE_CLIENT_DEFAULT, stream=True
                )
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch {url[:200]}: {type(exc).__name__}") from exc
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchError(
                        f"{url[:200]} answered {response.status_code}",
                        response.status_code,
                        response.headers.get("retry-after"),
                    )
                content_type = response.headers.get("content-type")
                if not (is_activity_json(content_type) or media_type_of(content_type) in accepted):
                    raise FetchError(f"{url[:200]} is not JSON ({content_type})")
                body = await self._read_bounded(response)
            finally:
                await response.aclose()
            try:
                document = json.loads(body)
            except (ValueError, RecursionError) as exc:
                raise FetchError(f"{url[:200]} sent invalid JSON") from exc
            if not isinstance(document, dict):
                raise FetchError(f"{url[:200]} did not send a JSON object")
            return url, document
        raise FetchError(f"too many redirects from {url[:200]}")

    async def get_media(
        self,
        url: str,
        *,
        max_bytes: int,
        media_types: Collection[str],
        permit: Permit | None = None,
    ) -> tuple[str, str, bytes]:
        """The final URL, bare media type and bytes of a file: bounded, typed, every hop checked."""
        # Unsigned, as Mastodon's own media downloads are (MediaAttachment#download_file! uses a
        # plain Request): media often lives on a CDN or object store that knows no actors.
        wanted = {media_type.lower() for media_type in media_types}
        for _hop in range(MAX_REDIRECTS + 1):
            refusal = permit(url) if permit is not None else None
            if refusal is not None:
                raise FetchError(refusal)
            await check_destination(url, allow_private=self.allow_private)
            try:
                request = self.http.build_request(
                    "GET",
                    url,
                    headers={"Accept": ", ".join(sorted(wanted)), "User-Agent": USER_AGENT},
                    timeout=self.timeout,
                )
                response = await self.http.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch {url[:200]}: {type(exc).__name__}") from exc
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchError(
                        f"{url[:200]} answered {response.status_code}", response.status_code
                    )
                media_type = media_type_of(response.headers.get("content-type"))
                if media_type is None or media_type not in wanted:
                    raise FetchError(f"{url[:200]} is not an accepted file type ({media_type})")
                body = await self._read_bounded(response, max_bytes)
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch {url[:200]}: {type(exc).__name__}") from exc
            finally:
                await response.aclose()
            return url, media_type, body
        raise FetchError(f"too many redirects from {url[:200]}")

    async def get_text(self, url: str, *, accept: str) -> str:
        """A small text document (host-meta XRD); unsigned, bounded, no redirects."""
        await check_destination(url, allow_private=self.allow_private)
        try:
            async with self.http.stream(
                "GET",
                url,
                headers={"Accept": accept, "User-Agent": USER_AGENT},
                timeout=self.timeout,
            ) as response:
                if response.status_code != 200:
                    raise FetchError(
                        f"{url[:200]} answered {response.status_code}", response.status_code
                    )
                return (await self._read_bounded(response)).decode("utf-8", "replace")
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url[:200]}: {type(exc).__name__}") from exc

    async def post_activity(self, inbox: str, body: bytes, *, auth: httpx.Auth) -> Delivered:
        """POST a signed activity; a non-2xx answer is a FetchError carrying its status."""
        await check_destination(inbox, allow_private=self.allow_private)
        try:
            response = await self.http.post(
                inbox,
                content=body,
                headers={"Content-Type": "application/activity+json", "User-Agent": USER_AGENT},
                auth=auth,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot deliver to {inbox[:200]}: {type(exc).__name__}") from exc
        retry_after = response.headers.get("retry-after")
        if not 200 <= response.status_code < 300:
            raise FetchError(
                f"{inbox[:200]} answered {response.status_code}: {response.text[:200]}",
                response.status_code,
                retry_after,
            )
        return Delivered(response.status_code, retry_after)
