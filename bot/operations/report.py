"""What `bot status` shows: per feed, per account, the queue (and why each post waits: awaiting approval,
scheduled, held, a limit …), recent posts and problems. ``account_wait`` is the one answer to "why does this
account's post wait"; ``collect`` gathers plain data (for --json and the console); ``render`` lays it out for a
terminal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.clock import Clock
from bot.config import AccountConfig, BotConfig, XAccount
from bot.models import DeliveryState
from bot.policy import next_send
from bot.pricing import (
    MICRO,
    BudgetWait,
    budget_line,
    budget_wait,
    cycle_start,
    cycle_words,
    micro,
    next_cost,
    next_cycle,
    next_day,
    usd,
)
from bot.store import AccountState, DeliveryRow, Store


@dataclass(frozen=True)
class Wait:
    """Why an account's posts wait now, and until when."""

    why: str  #: in words: the account is held, the platform's rate limit, a limit reached, quiet hours
    until: datetime | None  #: None: until a person acts (a held account)
    held: bool = False
    forceable: bool = True  #: a post made by hand with --force goes now (never while a rate limit lasts)


def account_wait(account: AccountConfig, state: AccountState, sent: Sequence[datetime], now: datetime,
                 tz: tzinfo) -> Wait | None:
    """Why the account cannot send now (held; the platform's rate limit; its own limits or quiet hours, the
    later of the two when both apply), or None when it can. ``sent``: its posts of the last 24 hours."""
    if state.held:
        return Wait(f"the account is held: {state.held_reason}", None, held=True)
    wait = next_send(account, now, tz, sent)
    rate_limited = bool(state.not_before and state.not_before > now)
    if state.not_before and rate_limited and (wait is None or state.not_before > wait[0]):
        return Wait("the platform's rate limit", state.not_before, forceable=False)
    return None if wait is None else Wait(wait[1], wait[0], forceable=not rate_limited)


def _t(when: datetime | None, tz: Any) -> str | None:
    """A time as the report gives it: ISO 8601 in the site's timezone, with its offset."""
    return None if when is None else when.astimezone(tz).isoformat(timespec="seconds")


def _shown(when: str | None) -> str | None:
    """A report time as a terminal shows it: ``2026-11-29 09:00:00+0300``."""
    return None if when is None else datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M:%S%z")


def collect(config: BotConfig, store: Store, clock: Clock, limit: int = 10) -> dict[str, Any]:
    now, tz = clock.now(), config.site.tz
    feeds: list[dict[str, Any]] = []
    states = {s.id: s for s in store.feed_states()}
    for feed in config.feeds:
        s = states.get(feed.id)
        health = "never polled" if s is None or s.last_poll_at is None else "failing" if s.last_error else "ok"
        feeds.append({"id": feed.id, "url": feed.url, "state": health,
                      "last_poll": _t(s.last_poll_at, tz) if s else None,
                      "last_success": _t(s.last_success_at, tz) if s else None,
                      "last_error": s.last_error if s else None, "failures": s.failures if s else 0,
                      "next_try": _t(s.next_poll_at, tz) if s else None})
    accounts: list[dict[str, Any]] = []
    waits: dict[str, Wait | None] = {}
    for account in config.accounts:
        state = store.account_state(account.id)
        sent = store.sent_times(account.id, now - timedelta(days=1))
        wait = waits[account.id] = account_wait(account, state, sent, now, tz)
        accounts.append({
            "id": account.id, "platform": account.platform, "enabled": account.enabled,
            "posts_24h": len(sent), "per_day": account.limits.per_day,
            "held": state.held, "held_reason": state.held_reason,
            "next_send": "held" if state.held else _t(wait.until, tz) if wait else "now",
            "waits_for": None if wait is None or wait.held else wait.why,
        })
    for a, account in zip(accounts, config.accounts, strict=True):
        if isinstance(account, XAccount):
            a["spend"], budget = x_spend(account, store, now, tz)
            if budget and not a["held"] and a["next_send"] == "now":
                a["next_send"], a["waits_for"] = _t(budget.until, tz), budget.why
                waits[account.id] = Wait(budget.why, budget.until)  # its waiting posts wait for the budget
    queue: list[dict[str, Any]] = []
    retries: dict[str, list[tuple[datetime, str]]] = {}  # per account: its posts retrying after an error
    ready: set[str] = set()  # accounts with a waiting post that is not retrying after an error
    awaiting: dict[str, list[int]] = {}  # per account: its posts awaiting approval
    for row in store.deliveries(state=(DeliveryState.AWAITING_APPROVAL.value, DeliveryState.QUEUED.value)):
        if row.state == DeliveryState.AWAITING_APPROVAL:
            awaiting.setdefault(row.account_id, []).append(row.id)
            queue.append({"id": row.id, "account": row.account_id, "title": row.title, "priority": row.priority,
                          "state": row.state, "why": f"{row.note or 'awaiting approval'}: bot approve {row.id} or "
                                                     f"bot reject {row.id}", "due": None, "attempts": row.attempts,
                          "by": row.created_by})
            continue
        wait = waits.get(row.account_id)
        retrying = False
        if row.account_id not in waits:
            why, due = "its account is not in the config", None
        elif wait is not None and wait.held:
            why, due = wait.why, None
        elif row.not_before and row.not_before > now:
            why = f"retrying after: {row.last_error}" if row.last_error else \
                f"scheduled for {_shown(_t(row.not_before, tz))} by {row.created_by}" if _scheduled(row) else \
                (row.note or "not before")
            due = row.not_before
            retrying = bool(row.last_error)
        elif wait:
            why, due = wait.why, wait.until
        else:
            why, due = "due now", now
        if retrying and row.not_before and row.last_error:
            retries.setdefault(row.account_id, []).append((row.not_before, row.last_error))
        else:
            ready.add(row.account_id)
        queue.append({"id": row.id, "account": row.account_id, "title": row.title, "priority": row.priority,
                      "state": row.state, "why": why, "due": _t(due, tz), "attempts": row.attempts,
                      "by": row.created_by})
    # An account whose every waiting post is retrying after an error cannot send now, whatever its limits say.
    failing: set[str] = set()
    for a in accounts:
        if a["id"] in retries and a["id"] not in ready and not a["held"] and a["next_send"] == "now":
            due, error = min(retries[a["id"]])
            a["next_send"], a["waits_for"] = _t(due, tz), f"retrying after an error: {error}"
            failing.add(a["id"])
    recent = [{"id": r.id, "account": r.account_id, "state": r.state, "title": r.title, "url": r.remote_url,
               "sent": _t(r.sent_at, tz), "by": r.created_by, "note": r.note}
              for r in store.deliveries(newest_first=True, limit=limit)
              if r.state in (DeliveryState.SENT, DeliveryState.DELETED, DeliveryState.SKIPPED)]
    # What needs a person, first what stops posting: held accounts, failing feeds, accounts whose sends fail.
    problems: list[dict[str, Any]] = [
        {"kind": "account", "account": a["id"], "error": f"held: {a['held_reason']} (bot release {a['id']})"}
        for a in accounts if a["held"]]
    problems += [{"kind": "feed", "feed": f["id"], "error": f"failing ({f['failures']}×): {f['last_error']}; "
                                                            f"next try {_shown(f['next_try'])}"}
                 for f in feeds if f["state"] == "failing"]
    problems += [{"kind": "account", "account": a["id"], "error": f"cannot send: {a['waits_for']}; next try "
                                                                  f"{_shown(a['next_send'])}"}
                 for a in accounts if a["id"] in failing]
    problems += [{"kind": "approval", "account": account_id, "ids": ids,
                  "error": f"{len(ids)} post(s) await approval ({', '.join(f'#{i}' for i in ids)}): bot approve ID "
                           "or bot reject ID"} for account_id, ids in awaiting.items()]
    problems += [{"kind": "delivery", "id": r.id, "account": r.account_id, "state": r.state, "title": r.title,
                  "error": r.last_error or r.note}
                 for state in (DeliveryState.IN_DOUBT, DeliveryState.FAILED)
                 for r in store.deliveries(state=state.value, newest_first=True, limit=limit)]
    for w in store.withdrawn(limit):  # the site withdrew these articles: their posts are still out
        posts = [{"id": r.id, "account": r.account_id, "url": r.remote_url or r.remote_id,
                  "deleting": owed == "delete", "error": error} for r, owed, error in w.posts]
        all_going = all(p["deleting"] for p in posts)
        problems.append({
            "kind": "withdrawn", "article": w.article_id, "id": posts[0]["id"], "ids": [p["id"] for p in posts],
            "title": w.title, "link": w.link, "why": w.why, "at": _t(w.at, tz), "posts": posts,
            "deletable": not all_going,  # the one action that deletes them all is still owed
            "error": f"withdrawn ({w.why}) but {len(posts)} post(s) still out"
                     + ("" if all_going else f": bot withdraw {posts[0]['id']} deletes them all")})
    return {"now": _t(now, tz), "timezone": config.site.timezone, "database": store.shown, "feeds": feeds,
            "accounts": accounts,
            "queue": queue, "recent": recent, "problems": problems}


def _scheduled(row: DeliveryRow) -> bool:
    """Whether a waiting post's ``not_before`` is a person's schedule (a post made by hand for a time, not tried
    yet), not a retry's or a rate limit's."""
    return bool(row.created_by) and row.attempts == 0 and not row.last_error


def x_spend(account: XAccount, store: Store, now: datetime, tz: tzinfo) -> tuple[dict[str, Any], BudgetWait | None]:
    """What an X account spent (today, this billing cycle; posts sent whose answer is awaited counted), its
    budgets and what its next post would cost; and whether the budget makes it wait."""
    spend = store.x_spend(account, now, tz)
    cost = next_cost(account, store.next_waiting(account.id, now))
    budget = account.budget
    lines = []
    if budget.per_month:
        lines.append(budget_line(spend.cycle, micro(budget.per_month), cycle_words(budget.cycle_day), cost,
                                 f"{next_cycle(now, tz, budget.cycle_day):%Y-%m-%d}"))
    if budget.per_day:
        lines.append(budget_line(spend.today, micro(budget.per_day), "today", cost, f"{next_day(now, tz):%Y-%m-%d}"))
    wait = budget_wait(account, spend, cost, now, tz) if cost else None
    return {"today_usd": spend.today / MICRO, "cycle_usd": spend.cycle / MICRO,
            "today": usd(spend.today), "cycle": usd(spend.cycle),
            "cycle_start": _t(cycle_start(now, tz, budget.cycle_day), tz),
            "per_day_usd": budget.per_day, "per_month_usd": budget.per_month,
            "next_post_usd": None if cost is None else cost / MICRO, "budget": "; ".join(lines) or None,
            "wait": wait.why if wait else None, "resets": _t(wait.until, tz) if wait else None}, wait


def render(data: dict[str, Any]) -> str:
    """A terminal report. Arabic headlines are isolated (FSI … PDI) so each line keeps its own layout."""
    def iso(text: str | None) -> str:
        return f"\u2068{text}\u2069" if text else ""

    lines = [f"bot status at {_shown(data['now'])} ({data['timezone']}), database {data['database']}", "", "Feeds"]
    for f in data["feeds"]:
        state = f"error ({f['failures']}×): {f['last_error']}; next try {_shown(f['next_try'])}" \
            if f["state"] == "failing" else f["state"]
        lines.append(f"  {f['id']}: last poll {_shown(f['last_poll']) or 'never'}, last success "
                     f"{_shown(f['last_success']) or 'never'}: {state}")
    lines += ["", "Accounts"]
    for a in data["accounts"]:
        quota = f"{a['posts_24h']}/{a['per_day']}" if a["per_day"] else str(a["posts_24h"])
        held = f", HELD: {a['held_reason']}" if a["held"] else ""
        waits = f" ({a['waits_for']})" if a["waits_for"] else ""
        off = "" if a["enabled"] else ", disabled"
        when = a["next_send"] if a["next_send"] in ("now", "held") else _shown(a["next_send"])
        lines.append(f"  {a['id']} ({a['platform']}): {quota} posts in 24 h, next send {when}{waits}{held}{off}")
        if "spend" in a:
            spend = a["spend"]
            lines.append(f"    spent {spend['today']} today, {spend['cycle']} this billing cycle"
                         + (f"; {spend['budget']}" if spend["budget"] else ""))
    lines += ["", f"Queue ({len(data['queue'])})"]
    for q in data["queue"]:
        by = f", by {q['by']}" if q["by"] else ""
        due = _shown(q["due"]) or "-"
        lines.append(f"  #{q['id']} {q['account']}: {iso(q['title'])} — {q['why']}; due {due}{by}")
    lines += ["", "Recent"]
    for r in data["recent"]:
        by = f", by {r['by']}" if r["by"] else ""
        where = r["url"] or r["note"] or ""
        sent = _shown(r["sent"]) or ""
        lines.append(f"  #{r['id']} {r['account']} {r['state']} {sent}: {iso(r['title'])} {where}{by}")
    lines += ["", f"Problems ({len(data['problems'])})"]
    for p in data["problems"]:
        if p["kind"] == "delivery":
            lines.append(f"  #{p['id']} {p['account']} {p['state']}: {iso(p['title'])} — {p['error']}")
        elif p["kind"] == "withdrawn":
            lines.append(f"  withdrawn: {iso(p['title'])} — {p['error']}")
            for post in p["posts"]:
                state = "being deleted" if post["deleting"] else \
                    f"could not be deleted: {post['error']}" if post["error"] else "flagged"
                lines.append(f"    #{post['id']} {post['account']}: {post['url'] or '?'} ({state})")
        else:
            lines.append(f"  {p['kind']} {p.get('account') or p.get('feed')}: {p['error']}")
    return "\n".join(lines) + "\n"
