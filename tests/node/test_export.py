"""A member's archive is complete: every work signed, every file's bytes, every licence listed."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from federation import integrity
from federation.multikey import decode_public_key
from node import export, media, members, posts
from node import settings as node_settings
from node.cli import main
from node.runtime import open_node
from node.settings import Settings

WORKSHEET = b"%PDF-1.4 worksheet on fractions\n"
NOTES = b"Notes for teachers\n"


async def _ana_and_her_works(config: Settings) -> dict[str, Any]:
    node = await open_node(config)
    try:
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana", display_name="Ana Díaz")
            ben = await members.add(tx, "ben", display_name="Ben")
            pdf = await media.store(tx, ana.actor, "worksheet.pdf", WORKSHEET, licence="CC-BY-4.0")
            txt = await media.store(tx, ana.actor, "notes.txt", NOTES)
            lesson = await posts.create(
                tx,
                ana,
                posts.Draft(
                    text="Fractions with paper strips",
                    title="Fractions",
                    licence="CC-BY-SA-4.0",
                    attachments=(pdf, txt),
                ),
            )
            reply = await posts.create(
                tx, ana, posts.Draft(text="Works for decimals too", reply_to=lesson.uri)
            )
            await posts.create(tx, ben, posts.Draft(text="Ben's own", licence="CC0-1.0"))
            return {
                "lesson": lesson.key,
                "reply": reply.key,
                "pdf": f"files/{pdf.key}/worksheet.pdf",
                "txt": f"files/{txt.key}/notes.txt",
            }
    finally:
        await node.close()


async def _archive(config: Settings) -> bytes:
    node = await open_node(config)
    try:
        async with node.transaction() as tx:
            buffer = io.BytesIO()
            await export.write_archive(tx, await members.get(tx, "ana"), buffer)
            return buffer.getvalue()
    finally:
        await node.close()


def _check_archive(data: bytes, keys: dict[str, Any]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert names == {
            "actor.json",
            "outbox.json",
            "LICENSES.md",
            f"posts/{keys['lesson']}.json",
            f"posts/{keys['reply']}.json",
            keys["pdf"],
            keys["txt"],
        }
        actor = json.loads(archive.read("actor.json"))
        key = decode_public_key(actor["assertionMethod"][0]["publicKeyMultibase"])
        assert integrity.verify(actor, key)
        lesson = json.loads(archive.read(f"posts/{keys['lesson']}.json"))
        reply = json.loads(archive.read(f"posts/{keys['reply']}.json"))
        for note in (lesson, reply):
            assert note["attributedTo"] == actor["id"]
            assert integrity.verify(note, key).verification_method == actor["id"] + "#ed25519-key"
        assert lesson["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
        assert "license" not in reply  # the author's default: all rights reserved
        digests = {a["url"].rsplit("/", 1)[1]: a["digestMultibase"] for a in lesson["attachment"]}
        assert archive.read(keys["pdf"]) == WORKSHEET
        assert archive.read(keys["txt"]) == NOTES
        assert set(digests) == {"worksheet.pdf", "notes.txt"}
        outbox = json.loads(archive.read("outbox.json"))
        assert outbox["type"] == "OrderedCollection"
        for activity in outbox["orderedItems"]:
            assert integrity.verify(activity, key)
        licences = archive.read("LICENSES.md").decode()
    assert licences.startswith("# Works by Ana Díaz (@ana@")
    listed = [
        f"posts/{keys['lesson']}.json",
        f"posts/{keys['reply']}.json",
        keys["pdf"],
        keys["txt"],
    ]
    for path in listed:
        assert f"`{path}`" in licences
    assert "- Attribution: Fractions by Ana Díaz, CC BY-SA 4.0" in licences
    assert "- Licence: CC BY 4.0 <https://creativecommons.org/licenses/by/4.0/>" in licences
    assert "- Attribution: worksheet.pdf by Ana Díaz, CC BY 4.0" in licences
    assert "notes.txt by Ana Díaz, all rights reserved (licence not stated)" in licences
    assert f"- SHA-256: `{hashlib.sha256(WORKSHEET).hexdigest()}`" in licences
    assert "Ben's own" not in licences


def test_the_archive_holds_every_work_signed_every_file_and_licence(settings: Settings) -> None:
    keys = asyncio.run(_ana_and_her_works(settings))
    _check_archive(asyncio.run(_archive(settings)), keys)


def test_the_cli_writes_the_same_archive(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = asyncio.run(_ana_and_her_works(settings))
    config = tmp_path / "guildhall.toml"
    node_settings.write(settings, config)
    output = tmp_path / "ana.zip"
    assert main(["--config", str(config), "export", "member", "ana", "--output", str(output)]) == 0
    assert f"Wrote {output}: 4 works" in capsys.readouterr().out
    _check_archive(output.read_bytes(), keys)
    assert not list(tmp_path.glob("*.partial"))
    assert main(["--config", str(config), "export", "member", "nobody"]) == 2
    assert "no member called 'nobody'" in capsys.readouterr().err
