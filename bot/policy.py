"""Posting policy, pure: which account takes which article (filters), which of its posts wait for a person's
approval, how urgent it is (priority), and when an account may send next (limits, quiet hours). No I/O; ``now``
is always passed in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta, tzinfo

from bot.compose.hashtags import same_name
from bot.config import AccountConfig
from bot.models import Article
from bot.platforms.base import EDITABLE_PLATFORMS
from bot.store.records import Correcting


def _has_any(names: Sequence[str], wanted: Sequence[str]) -> bool:
    return any(same_name(n, w) for n in names for w in wanted)


def skip_reason(account: AccountConfig, article: Article, now: datetime, tz: tzinfo | None = None) -> str | None:
    """Why this account does not take this article (None: it does). Times in it are in ``tz`` (the site's),
    with the offset."""
    for kind, names, rule in (("category", article.category_names, account.categories),
                              ("tag", article.tag_names, account.tags)):
        if rule.include and not _has_any(names, rule.include):
            return f"not in an included {kind} ({', '.join(rule.include)})"
        if rule.exclude and _has_any(names, rule.exclude):
            return f"in an excluded {kind} ({', '.join(n for n in names if _has_any([n], rule.exclude))})"
    if account.title_matches and not re.search(account.title_matches, article.title):
        return f"the title does not match title_matches {account.title_matches!r}"
    if account.title_excludes and re.search(account.title_excludes, article.title):
        return f"the title matches title_excludes {account.title_excludes!r}"
    if account.max_article_age and article.published and now - article.published > account.max_article_age:
        published = article.published.astimezone(tz) if tz else article.published
        return f"older than max_article_age when first seen (published {published:%Y-%m-%d %H:%M%z})"
    return None


def edit_action(account: AccountConfig) -> tuple[str, str]:
    """What the account does with a correction on the site of an article it posted (update, repost or ignore),
    and the config that says so: ``on_edit``, or ``on_edit_fallback`` where ``on_edit`` is update and the
    platform does not let posts be edited."""
    if account.on_edit == "update" and account.platform not in EDITABLE_PLATFORMS:
        return account.on_edit_fallback, (f"{account.platform} does not let posts be edited: on_edit_fallback: "
                                          f"{account.on_edit_fallback}")
    return account.on_edit, f"on_edit: {account.on_edit}"


def corrections_for(accounts: Sequence[AccountConfig], article: Article, now: datetime,
                    tz: tzinfo | None = None) -> list[Correcting]:
    """What each account does with a correction of this article (as it is now): a repost only where the account
    still takes the article (its filters), and waits for approval where its ``approval:`` says so."""
    out = []
    for account in accounts:
        action, why = edit_action(account)
        if action == "repost" and skip_reason(account, article, now, tz) is not None:
            action, why = "ignore", f"{why}, but the corrected article is not one it takes"
        out.append(Correcting(account.id, account.platform, action, why,
                              approval_reason(account, article) if action in ("repost", "update") else None))
    return out


def approval_reason(account: AccountConfig, article: Article) -> str | None:
    """Why the account's post of this article waits for a person's approval (``approval:``), or None when it
    does not: every post of the account does, or the article has one of the categories or tags named (as a
    WordPress feed gives them: labels, both at once)."""
    rule = account.approval
    if rule.all:
        return "every post of this account"
    for kind, names, wanted in (("category", article.category_names, rule.categories),
                                ("tag", article.tag_names, rule.tags)):
        hits = [n for n in names if _has_any([n], wanted)]
        if hits:
            return f"{kind} {', '.join(hits)}"
    return None


def needs_approval(account: AccountConfig, article: Article) -> bool:
    """Whether the account's post of this article waits for a person's approval before it goes."""
    return approval_reason(account, article) is not None


def priority_of(account: AccountConfig, article: Article) -> int:
    """The highest priority the account gives any of the article's categories or tags (default 0)."""
    names = (*article.category_names, *article.tag_names)
    return max((p for name, p in account.priority.items() if _has_any(names, [name])), default=0)


def quiet_until(quiet_hours: str | None, now: datetime, tz: tzinfo) -> datetime | None:
    """The end of the quiet period ``now`` falls in (``"01:00-06:00"`` in the site's timezone), or None."""
    if not quiet_hours:
        return None
    start_s, end_s = quiet_hours.split("-")
    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start <= end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=tz)


def next_send(
    account: AccountConfig, now: datetime, tz: tzinfo, sent: Sequence[datetime],
) -> tuple[datetime, str] | None:
    """When the account may send next and why it waits, or None when it may send now. ``sent`` holds the
    times of its posts in the last 24 hours."""
    waits: list[tuple[datetime, str]] = []
    limits = account.limits
    recent = sorted(t for t in sent if t > now - timedelta(days=1))
    if limits.per_day and len(recent) >= limits.per_day:
        waits.append((recent[-limits.per_day] + timedelta(days=1), f"{limits.per_day} posts a day reached"))
    last_hour = [t for t in recent if t > now - timedelta(hours=1)]
    if limits.per_hour and len(last_hour) >= limits.per_hour:
        waits.append((last_hour[-limits.per_hour] + timedelta(hours=1), f"{limits.per_hour} posts an hour reached"))
    if limits.min_interval and recent and recent[-1] + limits.min_interval > now:
        waits.append((recent[-1] + limits.min_interval, f"min_interval {limits.min_interval} since the last post"))
    quiet = quiet_until(account.quiet_hours, now, tz)
    if quiet:
        waits.append((quiet, f"quiet hours {account.quiet_hours}"))
    return max(waits) if waits else None
