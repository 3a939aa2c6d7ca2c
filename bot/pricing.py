"""What X charges, pure: whether a post "has a URL" as X decides it, what a post costs, whether an account's
post carries its link (its link policy), and the budget's days and billing cycles. No I/O; ``now`` is passed.

Money is counted in micro-dollars (integers) so that sums are exact; ``usd`` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

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


def post_cost(account: AccountConfig, text: str) -> int | None:
    """What posting ``text`` costs the account, in micro-dollars (None: a platform that does not charge)."""
    if not isinstance(account, XAccount):
        return None
    return micro(account.prices.post_with_url if has_url(text) else account.prices.post)


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


def cycle_start(now: datetime, tz: tzinfo, cycle_day: int) -> datetime:
    """The start of the billing cycle ``now`` is in: the last ``cycle_day`` of a month at midnight, site time."""
    local = now.astimezone(tz)
    year, month = local.year, local.month
    if local.day < cycle_day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return datetime(year, month, cycle_day, tzinfo=tz)


def next_cycle(now: datetime, tz: tzinfo, cycle_day: int) -> datetime:
    start = cycle_start(now, tz, cycle_day)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(year, month, cycle_day, tzinfo=tz)


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
    day, or the next billing cycle, whichever it is over), or None when it may go."""
    if not isinstance(account, XAccount):
        return None
    budget = account.budget
    month = micro(budget.per_month) if budget.per_month else None
    day = micro(budget.per_day) if budget.per_day else None
    if month is not None and spend.cycle + cost > month:
        until = next_cycle(now, tz, budget.cycle_day)
        return BudgetWait(f"X budget: {usd(spend.cycle)} of {usd(month)} this month, next post {usd(cost)}, "
                          f"resets {until:%Y-%m-%d}", until)
    if day is not None and spend.today + cost > day:
        until = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz)
        return BudgetWait(f"X budget: {usd(spend.today)} of {usd(day)} today, next post {usd(cost)}, "
                          f"resets {until:%Y-%m-%d %H:%M}", until)
    return None


def next_cost(account: AccountConfig, waiting: tuple[str | None, int] | None) -> int | None:
    """What the account's next waiting post will cost: by its frozen text, else as its link policy will compose
    it (a headline naming a domain is found only once composed); None when nothing waits or X is not asked."""
    if not isinstance(account, XAccount) or waiting is None:
        return None
    text, priority = waiting
    if text is not None:
        return post_cost(account, text)
    return micro(account.prices.post_with_url if carries_link(account, priority) else account.prices.post)


def cheapest(account: AccountConfig) -> int | None:
    """The least a post of the account can cost (a budget with less room left takes none)."""
    if not isinstance(account, XAccount):
        return None
    return micro(min(account.prices.post, account.prices.post_with_url))
