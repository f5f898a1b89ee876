"""The background worker: handles received activities and sends queued deliveries."""

from __future__ import annotations

import asyncio
import logging

from node import delivery, identity, inbox, remote_media
from node.runtime import Node

IDLE_PAUSE = 1.0
log = logging.getLogger("guildhall.worker")


async def run_once(node: Node) -> int:
    """One pass over both queues; returns how many items were taken (tests call this)."""
    handled = await inbox.process_due(node)
    sent = await delivery.deliver_due(node)
    # Profile links due for their periodic rel="me" re-check; one indexed query when none are.
    checked = await identity.check_due(node)
    # Remote attachments queued while the media cache is on; one indexed query when none are.
    cached = await remote_media.cache_due(node)
    return handled + sent + checked + cached


async def run_until_stopped(node: Node, stop: asyncio.Event) -> None:
    """Work until `stop` is set, pausing briefly whenever both queues are empty."""
    while not stop.is_set():
        try:
            busy = await run_once(node)
        except Exception:  # the loop survives anything one pass throws, and says so
            log.exception("worker pass failed")
            busy = 0
        if not busy:
            try:
                await asyncio.wait_for(stop.wait(), timeout=IDLE_PAUSE)
            except TimeoutError:
                pass
