"""What X charges, pure: whether a post "has a URL" as X decides it, what a post costs, whether an account's
post carries its link (its link policy), and the budget's days and billing cycles. No I/O; ``now`` is passed.

Money is counted in micro-dollars (integers) so that sums are exact; ``usd`` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from bot.config import AccountConfig, XAccount

MICRO = 1_000_000


def micro(usd: float) -> int:
    """Dollars as micro-dollars."""
    return round(usd * MICRO)


def usd(amount: int) -> str:
    """Micro-dollars as a person reads them: ``$0.20``, ``$0.015`` (three decimals only when needed)."""
    places = 2 if amount % 10_000 == 0 else 3 if amount % 1_000 == 0 else 6
    return f"${amount / MICRO:,.{places}f}"


def has_url(text: str) -> bool:
    """Whether X counts the text as a post "with URL": twitter-text's URL extraction over the final text, so a
    headline naming ``example.com`` counts too."""
    from twitter_text import extract_urls

    return bool(extract_urls(text))


def post_charge(account: AccountConfig, text: str) -> tuple[int, str] | None:
    """What posting ``text`` costs the account, in micro-dollars, with X's name of that price ("Content: Create
    (with URL)"); None: a platform that does not charge."""
    if not isinstance(account, XAccount):
        return None
    if has_url(text):
        return micro(account.prices.post_with_url), "Content: Create (with URL)"
    return micro(account.prices.post), "Content: Create"


def post_cost(account: AccountConfig, text: str) -> int | None:
    """What posting ``text`` costs the account, in micro-dollars (None: a platform that does not charge)."""
    charge = post_charge(account, text)
    return None if charge is None else charge[0]


def request_cost(account: AccountConfig, request: str) -> tuple[int, str] | None:
    """What one of the bot's other requests costs the account: ``check`` (X's User: Read of GET /2/users/me)
    or ``delete`` (Interaction: Delete); with X's name of the price. None: free, or not X."""
    if not isinstance(account, XAccount):
        return None
    if request == "check":
        return micro(account.prices.user_read), "User: Read"
    if request == "delete":
        return micro(account.prices.delete), "Interaction: Delete"
    raise ValueError(request)


def carries_link(account: AccountConfig, priority: int) -> bool:
    """Whether a post of this priority carries the article's link (an X account's ``link`` policy)."""
    if not isinstance(account, XAccount) or account.link == "always":
        return True
    return account.link == "priority" and priority >= account.link_priority


def day_start(now: datetime, tz: tzinfo) -> datetime:
    """The start of ``now``'s day in the site's timezone."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def _cycle_day_in(year: int, month: int, cycle_day: int, tz: tzinfo) -> datetime:
    """The cycle's first day in that month: ``cycle_day``, or the month's last day when it has fewer days."""
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return datetime(year, month, min(cycle_day, last), tzinfo=tz)


def cycle_start(now: datetime, tz: tzinfo, cycle_day: int) -> datetime:
    """The start of the billing cycle ``now`` is in: the latest ``cycle_day`` (or a short month's last day) at
    midnight, site time."""
    local = now.astimezone(tz)
    start = _cycle_day_in(local.year, local.month, cycle_day, tz)
    if local < start:
        year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
        start = _cycle_day_in(year, month, cycle_day, tz)
    return start


def next_cycle(now: datetime, tz: tzinfo, cycle_day: int) -> datetime:
    start = cycle_start(now, tz, cycle_day)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return _cycle_day_in(year, month, cycle_day, tz)


@dataclass(frozen=True)
class Spend:
    """An account's spending as recorded: today, this billing cycle (micro-dollars)."""

    today: int
    cycle: int


@dataclass(frozen=True)
class BudgetWait:
    """Why a post of this cost waits for the budget, and until when."""

    why: str
    until: datetime


def budget_wait(account: AccountConfig, spend: Spend, cost: int, now: datetime, tz: tzinfo) -> BudgetWait | None:
    """Whether a post costing ``cost`` would take the account over its budget: until when it waits (the next
    billing cycle, or the next day, whichever it is over; the later when both), or None when it may go."""
    if not isinstance(account, XAccount):
        return None
    budget = account.budget
    month = micro(budget.per_month) if budget.per_month else None
    day = micro(budget.per_day) if budget.per_day else None
    if month is not None and spend.cycle + cost > month:
        until = next_cycle(now, tz, budget.cycle_day)
        return BudgetWait(budget_line(spend.cycle, month, cycle_words(budget.cycle_day), cost, f"{until:%Y-%m-%d}"),
                          until)
    if day is not None and spend.today + cost > day:
        until = next_day(now, tz)
        return BudgetWait(budget_line(spend.today, day, "today", cost, f"{until:%Y-%m-%d %H:%M}"), until)
    return None


def budget_line(spent: int, limit: int, period: str, cost: int | None, resets: str) -> str:
    """A budget as ``bot status`` and a waiting post say it: ``X budget: $39.80 of $40.00 this month, next post
    $0.20, resets 2027-01-01``."""
    return (f"X budget: {usd(spent)} of {usd(limit)} {period}" + (f", next post {usd(cost)}" if cost else "")
            + f", resets {resets}")


def next_day(now: datetime, tz: tzinfo) -> datetime:
    """The start of the next day in the site's timezone."""
    return datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz)


def cycle_words(cycle_day: int) -> str:
    """The billing cycle as a person says it: "this month" when it is the calendar month."""
    return "this month" if cycle_day == 1 else "this billing cycle"


def next_cost(account: AccountConfig, waiting: WaitingPost | None) -> int | None:
    """What the account's next waiting post will add to its spending: nothing when it was sent before (its cost
    is counted while its answer is awaited), else by its frozen text, else as its link policy will compose it
    (a headline naming a domain is found only once composed); None when nothing waits or X is not asked."""
    if not isinstance(account, XAccount) or waiting is None:
        return None
    if waiting.tried:
        return 0
    if waiting.text is not None:
        return post_cost(account, waiting.text)
    return micro(account.prices.post_with_url if carries_link(account, waiting.priority) else account.prices.post)


class WaitingPost(Protocol):
    """What :func:`next_cost` reads of a waiting post (``bot.store.spend.Waiting``)."""

    @property
    def text(self) -> str | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def tried(self) -> bool: ...


def has_budget(account: AccountConfig) -> bool:
    """Whether the account is an X account with a budget (a day's or a billing cycle's)."""
    return isinstance(account, XAccount) and bool(account.budget.per_day or account.budget.per_month)


def cheapest(account: AccountConfig) -> int | None:
    """The least a post of the account can cost (a budget with less room left takes none)."""
    if not isinstance(account, XAccount):
        return None
    return micro(min(account.prices.post, account.prices.post_with_url))
