"""Federation policy: the node's mode, its domain rules, the decisions drawn from them, the log.

A decision is taken for a domain as the fediverse counts it: the URL authority, host plus a
non-default port. The same decision is enforced on all four paths: inbound POSTs (node.inbox),
outbound deliveries (node.delivery, at fan-out and again at send time), our own fetches
(node.remote_actors) and other servers' GETs (authorized fetch in web.activitypub).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, select, update

from federation.domains import DomainError, authority_of, host_of, matches_rule, normalize_rule
from node.errors import Forbidden, InvalidInput, NotFound
from node.runtime import Tx
from storage.models import (
    Actor,
    AuditEntry,
    Community,
    Delivery,
    DomainRule,
    FederationSetting,
    Follow,
)

MODES = ("open", "allowlist")
SEVERITIES = ("allow", "block", "limit")
CSV_HEADER = [
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
]
# Mastodon's DomainBlock severities (suspend, silence, noop) against ours. Mastodon has no "allow"
# in its block-list CSV; a `noop` row means "no restriction", which is what an allow rule is.
TO_MASTODON = {"block": "suspend", "limit": "silence", "allow": "noop"}
FROM_MASTODON = {value: key for key, value in TO_MASTODON.items()}
MAX_IMPORT_ROWS = 20_000  # Mastodon's Admin::ExportDomainBlocksController::ROWS_PROCESSING_LIMIT


@dataclass(frozen=True)
class Decision:
    """What the policy says about one domain, and why in words an administrator can act on."""

    permitted: bool
    reason: str
    limited: bool = False  # accepted, but kept off public timelines
    reject_media: bool = False
    reject_reports: bool = False


@dataclass(frozen=True)
class Rule:
    """A domain rule as decisions read it (a detached copy of a DomainRule row)."""

    domain: str
    severity: str
    reject_media: bool = False
    reject_reports: bool = False

    def specificity(self) -> tuple[int, int, int]:
        """Longer hosts, then rules naming a port, then exact rules win over wildcard ones."""
        bare = self.domain.removeprefix("*.")
        host = host_of(bare)
        return (len(host), int(len(bare) > len(host)), int(not self.domain.startswith("*.")))


@dataclass(frozen=True)
class Policy:
    """A snapshot of the mode and rules, read once and applied to many domains."""

    mode: str
    explicit: bool  # False: the mode was computed (no administrator has chosen one yet)
    rules: tuple[Rule, ...]
    local_domain: str
    cache_remote_media: bool = False  # the worker copies remote attachments (node.remote_media)

    def rule_for(self, authority: str) -> Rule | None:
        """The most specific rule covering a domain, if any."""
        matching = [rule for rule in self.rules if matches_rule(authority, rule.domain)]
        return max(matching, key=Rule.specificity) if matching else None

    def decide(self, authority: str) -> Decision:
        """The decision for a domain (a normalised URL authority)."""
        if authority == self.local_domain:
            return Decision(True, "this node")
        rule = self.rule_for(authority)
        if rule is not None and rule.severity == "block":
            return Decision(False, f"{authority} is blocked by the rule {rule.domain}")
        if rule is None and self.mode == "allowlist":
            return Decision(False, f"{authority} is not on this node's allow-list")
        flags = {
            "reject_media": bool(rule and rule.reject_media),
            "reject_reports": bool(rule and rule.reject_reports),
        }
        if rule is not None and rule.severity == "limit":
            return Decision(
                True, f"{authority} is limited by the rule {rule.domain}", True, **flags
            )
        return Decision(True, "allowed" if rule else "open federation", **flags)

    def decide_url(self, url: str) -> Decision:
        """The decision for the domain of a URL; a URL without a usable host is refused."""
        try:
            return self.decide(authority_of(url))
        except DomainError as exc:
            return Decision(False, exc.reason)

    def rejects_media(self, authority: str) -> bool:
        """Whether the rule for a domain says `reject media` (the most specific rule decides)."""
        rule = self.rule_for(authority)
        return rule is not None and rule.reject_media

    def hides_media_of(self, author_domain: str, url: str | None) -> bool:
        """Whether a remote file is hidden: its author's or its host's domain rejects media."""
        # Mastodon's skip_download? looks at the author's domain; a linked file would also make
        # readers' browsers contact its host, so that host's rule counts too.
        if self.rejects_media(author_domain):
            return True
        try:
            return url is not None and self.rejects_media(authority_of(url))
        except DomainError:
            return False


async def default_mode(tx: Tx) -> str:
    """The mode when none is stored: `allowlist` as soon as any community is a youth one."""
    youth = await tx.session.scalar(select(Community.id).where(Community.kind == "youth").limit(1))
    return "allowlist" if youth is not None else "open"


async def current(tx: Tx) -> Policy:
    """The policy in force now (read fresh, so a changed rule applies to the next decision)."""
    stored = await tx.session.get(FederationSetting, 1)
    chosen = stored.mode if stored is not None else None
    mode = chosen or await default_mode(tx)
    rows = await tx.session.scalars(select(DomainRule))
    rules = tuple(Rule(r.domain, r.severity, r.reject_media, r.reject_reports) for r in rows)
    cache = bool(stored and stored.cache_remote_media)
    return Policy(mode, chosen is not None, rules, tx.settings.domain, cache)


async def is_permitted(tx: Tx, authority: str) -> Decision:
    """The decision for one domain under the policy in force."""
    return (await current(tx)).decide(authority)


async def check_url(tx: Tx, url: str) -> None:
    """Forbidden unless the policy permits the domain of this URL."""
    decision = (await current(tx)).decide_url(url)
    if not decision.permitted:
        raise Forbidden(decision.reason)


async def limited_domains(tx: Tx) -> frozenset[str]:
    """The domains of remote actors known here that a `limit` rule keeps off public listings."""
    # The common case, no limit rule at all, costs one small query.
    any_limit = select(DomainRule.id).where(DomainRule.severity == "limit").limit(1)
    if await tx.session.scalar(any_limit) is None:
        return frozenset()
    policy = await current(tx)
    limits = [rule.domain for rule in policy.rules if rule.severity == "limit"]
    domains = await tx.session.scalars(
        select(Actor.domain).where(Actor.local.is_(False)).distinct()
    )
    # A more specific rule (allow good.example.org under limit example.org) still wins: decide.
    return frozenset(
        domain
        for domain in domains
        if any(matches_rule(domain, rule) for rule in limits) and policy.decide(domain).limited
    )


async def silenced_authors(tx: Tx, viewer: Actor | None) -> Select[int] | None:
    """The actors whose posts listings hide from a viewer (None: nobody is hidden).

    They are the actors of limited domains whom the viewer (None: a visitor) does not follow.
    """
    # Mastodon's silence: PublicFeed leaves silenced accounts out, and their statuses reach the
    # home feeds of their followers only (FanOutOnWriteService; StatusFilter#silenced_account?).
    limited = await limited_domains(tx)
    if not limited:
        return None
    silenced = select(Actor.id).where(Actor.local.is_(False), Actor.domain.in_(sorted(limited)))
    if viewer is None:
        return silenced
    followed = select(Follow.followed_id).where(
        Follow.follower_id == viewer.id, Follow.state == "accepted"
    )
    return silenced.where(Actor.id.not_in(followed))


async def media_policy(tx: Tx) -> Policy | None:
    """The policy when some rule rejects media (pages hide those attachments), else None."""
    found = await tx.session.scalar(
        select(DomainRule.id).where(DomainRule.reject_media.is_(True)).limit(1)
    )
    return None if found is None else await current(tx)


def _normalized(domain: str) -> str:
    try:
        rule = normalize_rule(domain)
    except DomainError as exc:
        raise InvalidInput(f"{domain!r} is not a domain: {exc.reason}") from exc
    if rule in ("*.", "") or len(rule) > 255:
        raise InvalidInput(f"{domain!r} is not a domain")
    return rule


async def _audit(tx: Tx, who: str, action: str, detail: str) -> None:
    tx.session.add(AuditEntry(who=who[:255], action=action, detail=detail, at=tx.now()))
    await tx.session.flush()


async def refuse_queued(tx: Tx) -> int:
    """Close queued deliveries the policy no longer permits; returns how many were refused."""
    policy = await current(tx)
    hosts = await tx.session.scalars(
        select(Delivery.host).where(Delivery.state == "queued").distinct()
    )
    refused = [host for host in hosts if not policy.decide(host).permitted]
    if not refused:
        return 0
    result = await tx.session.execute(
        update(Delivery)
        .where(Delivery.state == "queued", Delivery.host.in_(refused))
        .values(state="refused", finished_at=tx.now(), last_error="refused by federation policy")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def set_mode(tx: Tx, who: str, mode: str) -> None:
    """Choose the node's federation mode (`open` or `allowlist`) and log the change."""
    if mode not in MODES:
        raise InvalidInput(f"unknown federation mode {mode!r}: choose open or allowlist")
    stored = await _settings_row(tx)
    before = stored.mode or f"{await default_mode(tx)} (default)"
    stored.mode = mode
    await tx.session.flush()
    await _audit(tx, who, "mode", f"{before} -> {mode}")
    await refuse_queued(tx)


async def set_media_cache(tx: Tx, who: str, enabled: bool) -> None:
    """Turn the remote media cache on or off (it starts off) and log the change."""
    stored = await _settings_row(tx)
    before = "on" if stored.cache_remote_media else "off"
    stored.cache_remote_media = enabled
    await tx.session.flush()
    await _audit(tx, who, "media-cache", f"{before} -> {'on' if enabled else 'off'}")


async def _settings_row(tx: Tx) -> FederationSetting:
    """The settings row, created with every default (no mode chosen) when there is none."""
    stored = await tx.session.get(FederationSetting, 1, with_for_update=True)
    if stored is None:
        stored = FederationSetting(id=1, mode=None, cache_remote_media=False, updated_at=tx.now())
        tx.session.add(stored)
    stored.updated_at = tx.now()
    return stored


async def set_rule(
    tx: Tx,
    who: str,
    domain: str,
    severity: str,
    *,
    reject_media: bool = False,
    reject_reports: bool = False,
    public_comment: str = "",
    private_comment: str = "",
    obfuscate: bool = False,
) -> DomainRule:
    """Add or replace the rule for a domain (wildcards: `*.example.org`) and log the change."""
    if severity not in SEVERITIES:
        raise InvalidInput(f"unknown severity {severity!r}: choose allow, block or limit")
    normalized = _normalized(domain)
    if normalized == tx.settings.domain:
        raise InvalidInput("a rule cannot name this node itself")
    rule = await tx.session.scalar(select(DomainRule).where(DomainRule.domain == normalized))
    if rule is None:
        rule = DomainRule(domain=normalized, created_at=tx.now())
        tx.session.add(rule)
    rule.severity = severity
    rule.reject_media = reject_media
    rule.reject_reports = reject_reports
    rule.public_comment = public_comment
    rule.private_comment = private_comment
    rule.obfuscate = obfuscate
    rule.updated_at = tx.now()
    await tx.session.flush()
    flags = [
        name
        for name, on in (("reject media", reject_media), ("reject reports", reject_reports))
        if on
    ]
    await _audit(tx, who, severity, normalized + (f" ({', '.join(flags)})" if flags else ""))
    await refuse_queued(tx)
    return rule


async def remove_rule(tx: Tx, who: str, domain: str) -> None:
    """Delete the rule for a domain and log the change; NotFound when there is none."""
    normalized = _normalized(domain)
    result = await tx.session.execute(delete(DomainRule).where(DomainRule.domain == normalized))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"there is no rule for {normalized}")
    await _audit(tx, who, "remove", normalized)
    await refuse_queued(tx)  # removing an allow rule in allowlist mode closes that domain


async def rules(tx: Tx) -> list[DomainRule]:
    """Every domain rule, by domain."""
    return list(await tx.session.scalars(select(DomainRule).order_by(DomainRule.domain)))


async def audit_log(tx: Tx, limit: int = 100) -> list[AuditEntry]:
    """The latest policy changes, newest first."""
    return list(
        await tx.session.scalars(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
    )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def read_csv(text: str) -> list[dict[str, Any]]:
    """Rules read from Mastodon's domain-block CSV (`#domain,#severity,...`)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = set(reader.fieldnames or ())
    if "#domain" not in fields:
        # Mastodon's importer also reads a bare list of domains as suspensions.
        if reader.fieldnames and len(reader.fieldnames) == 1:
            domains = [reader.fieldnames[0], *(row[reader.fieldnames[0]] for row in reader)]
            return [{"domain": d.strip(), "severity": "block"} for d in domains if d.strip()]
        raise InvalidInput("not a domain-block CSV: the header must start with #domain")
    found: list[dict[str, Any]] = []
    for number, row in enumerate(reader, start=2):
        if len(found) >= MAX_IMPORT_ROWS:
            break
        domain = (row.get("#domain") or "").strip()
        if not domain:
            continue
        severity_text = (row.get("#severity") or "suspend").strip().lower()
        severity = FROM_MASTODON.get(severity_text, severity_text)
        if severity not in SEVERITIES:
            raise InvalidInput(f"line {number}: unknown severity {severity_text!r}")
        found.append(
            {
                "domain": domain,
                "severity": severity,
                "reject_media": _flag(row.get("#reject_media")),
                "reject_reports": _flag(row.get("#reject_reports")),
                "public_comment": (row.get("#public_comment") or "").strip(),
                "obfuscate": _flag(row.get("#obfuscate")),
            }
        )
    return found


async def import_csv(tx: Tx, who: str, text: str) -> int:
    """Add every rule of a domain-block CSV (replacing rules for the same domains); the count."""
    found = read_csv(text)
    for row in found:
        _normalized(row["domain"])  # refuse the whole file before changing anything
    for row in found:
        domain, severity = row.pop("domain"), row.pop("severity")
        await set_rule(tx, who, domain, severity, **row)
    await _audit(tx, who, "import", f"{len(found)} rules")
    return len(found)


async def export_csv(tx: Tx) -> str:
    """Every rule in Mastodon's domain-block CSV format (allow rules as `noop`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for rule in await rules(tx):
        writer.writerow(
            [
                rule.domain,
                TO_MASTODON[rule.severity],
                str(rule.reject_media).lower(),
                str(rule.reject_reports).lower(),
                rule.public_comment,
                str(rule.obfuscate).lower(),
            ]
        )
    return out.getvalue()
