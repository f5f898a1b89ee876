"""node.policy: modes, wildcard rules, the default for youth nodes, CSV, the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from node import communities, members, policy
from node.errors import InvalidInput, NotFound
from node.runtime import Node, Tx
from storage.models import Actor, Delivery, OutboxActivity


def snapshot(mode: str, *rules: tuple[str, str]) -> policy.Policy:
    return policy.Policy(mode, True, tuple(policy.Rule(d, s) for d, s in rules), "school.example")


def test_open_mode_permits_everything_but_blocked_domains_and_their_subdomains() -> None:
    rules = snapshot("open", ("bad.example", "block"), ("noisy.example", "limit"))
    assert rules.decide("social.example").permitted
    assert not rules.decide("bad.example").permitted
    assert not rules.decide("a.b.bad.example").permitted  # Mastodon: a block covers subdomains
    assert rules.decide("notbad.example").permitted  # a suffix is not a subdomain
    limited = rules.decide("noisy.example")
    assert limited.permitted and limited.limited
    assert rules.decide("school.example").permitted  # ourselves, always


def test_allowlist_mode_permits_only_listed_domains() -> None:
    rules = snapshot("allowlist", ("partner.example", "allow"), ("*.district.example", "limit"))
    assert rules.decide("partner.example").permitted
    assert rules.decide("www.partner.example").permitted
    assert rules.decide("north.district.example").permitted
    assert rules.decide("north.district.example").limited
    assert not rules.decide("district.example").permitted  # the wildcard covers subdomains only
    refused = rules.decide("social.example")
    assert not refused.permitted and "allow-list" in refused.reason


def test_the_most_specific_rule_wins_and_ports_make_distinct_domains() -> None:
    rules = snapshot(
        "open",
        ("example.org", "block"),
        ("good.example.org", "allow"),
        ("127.0.0.1:8001", "block"),
    )
    assert not rules.decide("example.org").permitted
    assert rules.decide("good.example.org").permitted
    assert not rules.decide("other.example.org").permitted
    assert not rules.decide("127.0.0.1:8001").permitted
    assert rules.decide("127.0.0.1:8002").permitted  # another node on the same address
    assert not rules.decide_url("http://127.0.0.1:8001/inbox").permitted
    assert not rules.decide_url("not a url").permitted


async def test_the_default_mode_is_allowlist_once_a_youth_community_exists(node: Node) -> None:
    async with node.transaction() as tx:
        assert (await policy.current(tx)).mode == "open"
        await communities.add(tx, "club", title="Club", kind="youth")
    async with node.transaction() as tx:
        current = await policy.current(tx)
        assert (current.mode, current.explicit) == ("allowlist", False)
        await policy.set_mode(tx, "ana", "open")  # an administrator's choice beats the default
    async with node.transaction() as tx:
        current = await policy.current(tx)
        assert (current.mode, current.explicit) == ("open", True)
        with pytest.raises(InvalidInput):
            await policy.set_mode(tx, "ana", "closed")


async def test_every_change_is_audited_and_rules_are_normalised(node: Node) -> None:
    async with node.transaction() as tx:
        await policy.set_rule(tx, "ana", "Bad.Example.", "block", reject_media=True)
        await policy.set_rule(tx, "ana", "*.District.example", "allow")
        await policy.set_rule(tx, "ana", "bad.example", "limit")  # replaces the block
        await policy.set_mode(tx, "cli:root", "allowlist")
        await policy.remove_rule(tx, "ana", "*.district.example")
        with pytest.raises(NotFound):
            await policy.remove_rule(tx, "ana", "never.example")
        with pytest.raises(InvalidInput):
            await policy.set_rule(tx, "ana", "school.example", "block")  # ourselves
        with pytest.raises(InvalidInput):
            await policy.set_rule(tx, "ana", "bad example", "block")
    async with node.transaction() as tx:
        assert [(r.domain, r.severity) for r in await policy.rules(tx)] == [
            ("bad.example", "limit")
        ]
        log = [(e.who, e.action, e.detail) for e in reversed(await policy.audit_log(tx))]
        assert log == [
            ("ana", "block", "bad.example (reject media)"),
            ("ana", "allow", "*.district.example"),
            ("ana", "limit", "bad.example"),
            ("cli:root", "mode", "open (default) -> allowlist"),
            ("ana", "remove", "*.district.example"),
        ]


MASTODON_EXPORT = """#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate
spam.example,suspend,false,false,Spam,false
loud.example,silence,true,true,"Loud, often",true
friend.example,noop,false,false,,false
"""


async def test_mastodon_csv_imports_and_exports_unchanged(node: Node) -> None:
    async with node.transaction() as tx:
        assert await policy.import_csv(tx, "ana", MASTODON_EXPORT) == 3
    async with node.transaction() as tx:
        found = {r.domain: r for r in await policy.rules(tx)}
        assert found["spam.example"].severity == "block"
        assert found["loud.example"].severity == "limit"
        assert found["loud.example"].reject_media and found["loud.example"].obfuscate
        assert found["loud.example"].public_comment == "Loud, often"
        assert found["friend.example"].severity == "allow"
        exported = await policy.export_csv(tx)
    assert exported.splitlines()[0] == ",".join(policy.CSV_HEADER)
    assert sorted(exported.splitlines()[1:]) == sorted(MASTODON_EXPORT.splitlines()[1:])


async def test_a_bad_csv_changes_nothing(node: Node) -> None:
    async with node.transaction() as tx:
        with pytest.raises(InvalidInput):
            await policy.import_csv(
                tx, "ana", "#domain,#severity\nok.example,suspend\n,\nx y,suspend\n"
            )
        with pytest.raises(InvalidInput):
            await policy.import_csv(tx, "ana", "#domain,#severity\nok.example,banish\n")
        with pytest.raises(InvalidInput):
            await policy.import_csv(tx, "ana", "name,kind\na,b\n")
    async with node.transaction() as tx:
        assert await policy.rules(tx) == []


async def _queue_to(tx: Tx, sender: Actor, inboxes: list[str]) -> None:
    activity = OutboxActivity(
        uri=sender.uri + "/activities/1",
        actor_id=sender.id,
        type="Create",
        object_uri=None,
        public=True,
        raw={},
        created_at=tx.now(),
    )
    tx.session.add(activity)
    await tx.session.flush()
    for inbox in inboxes:
        host = inbox.split("/")[2]
        tx.session.add(
            Delivery(
                activity_id=activity.id,
                inbox_uri=inbox,
                host=host,
                state="queued",
                attempts=0,
                next_attempt_at=tx.now(),
                created_at=tx.now(),
            )
        )
    await tx.session.flush()


async def test_blocking_a_domain_refuses_what_is_already_queued_for_it(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        await _queue_to(tx, ana.actor, ["https://bad.example/inbox", "https://ok.example/inbox"])
        await policy.set_rule(tx, "ana", "bad.example", "block")
    async with node.transaction() as tx:
        states = dict((await tx.session.execute(select(Delivery.host, Delivery.state))).all())
    assert states == {"bad.example": "refused", "ok.example": "queued"}
