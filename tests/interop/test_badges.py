"""Open Badges across two real nodes: issued on one, verified on the other and by the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.interop.conftest import Nodes, cli, eventually, get_json

pytestmark = pytest.mark.federation


def test_a_badge_issued_on_one_node_verifies_on_another_and_offline(
    nodes: Nodes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    school = nodes.start("school")
    ngo = nodes.start("ngo")
    image = tmp_path / "badge.png"
    picture = io.BytesIO()
    Image.new("RGB", (48, 48), (30, 140, 60)).save(picture, format="PNG")
    image.write_bytes(picture.getvalue())
    assert cli(school, "community", "add", "maths", "--title", "Maths Circle") == 0
    assert cli(ngo, "member", "add", "ana", "--display-name", "Ana") == 0
    assert (
        cli(
            school, "badge", "define", "maths", "proofs", "--name", "Proof Writer",
            "--criteria", "Three checked proofs.", "--image", str(image),
            "--image-license", "CC-BY-4.0", "--image-author", "Mira",
        )
        == 0
    )  # fmt: skip
    capsys.readouterr()
    handle = f"@ana@{ngo.settings.domain}"
    evidence = ngo.url + "/members/ana"
    assert cli(school, "badge", "award", "maths", "proofs", handle, "--evidence", evidence) == 0
    credential_url = capsys.readouterr().out.strip()
    assert credential_url.startswith(school.url + "/credentials/")

    # The award note reaches the other node, which verifies the credential before showing it.
    eventually(lambda: "Proof Writer" in httpx.get(ngo.url + "/members/ana/badges").text)
    received = httpx.get(ngo.url + "/members/ana/badges").text
    award_path = received.split('href="/awards/', 1)[1].split('"', 1)[0]
    page = httpx.get(f"{ngo.url}/awards/{award_path}").text
    assert "The signature checks out" in page and "not revoked" in page

    credential = httpx.get(credential_url)
    assert credential.headers["content-type"].startswith("application/vc+ld+json")
    assert credential.json()["credentialSubject"]["id"] == ngo.url + "/members/ana"
    saved = tmp_path / "credential.json"
    saved.write_bytes(credential.content)
    assert cli(school, "badge", "verify", str(saved), "--dev") == 0
    out = capsys.readouterr().out
    assert "Valid: Maths Circle" in out and "'Proof Writer'" in out and "not revoked" in out

    award_key = credential_url.rsplit("/", 1)[1]
    baked = tmp_path / "badge-baked.png"
    baked.write_bytes(httpx.get(f"{school.url}/awards/{award_key}/badge.png").content)
    assert cli(ngo, "badge", "verify", str(baked), "--dev") == 0
    capsys.readouterr()

    issuer = tmp_path / "issuer.json"
    issuer.write_text(json.dumps(get_json(school.url + "/communities/maths")))
    assert (
        cli(ngo, "badge", "verify", str(saved), "--offline", "--issuer-document", str(issuer)) == 2
    )
    assert "must be an https URL" in capsys.readouterr().err  # http ids need --dev
    args = ("--offline", "--dev", "--issuer-document", str(issuer))
    assert cli(ngo, "badge", "verify", str(saved), *args) == 0
    assert "Status: not checked" in capsys.readouterr().out

    forged = {**credential.json(), "name": "Grand Master"}
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(forged))
    assert cli(ngo, "badge", "verify", str(tampered), "--dev") == 2
    assert "signature invalid" in capsys.readouterr().err

    assert cli(school, "badge", "revoke", credential_url, "--reason", "copied proofs") == 0
    capsys.readouterr()
    assert cli(ngo, "badge", "verify", str(saved), "--dev") == 2
    assert "revoked" in capsys.readouterr().err
    # The Delete of the award note reaches the other node: the badge leaves ana's profile there.
    eventually(lambda: "Proof Writer" not in httpx.get(ngo.url + "/members/ana/badges").text)
    page = httpx.get(f"{ngo.url}/awards/{award_path}").text
    assert "revoked by Maths Circle: its status list says so" in page
