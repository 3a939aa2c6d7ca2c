"""Post templates: ``{field}`` placeholders, checked when the config loads, rendered when a post is built."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

#: The fields a template may use, and what each holds.
FIELDS: dict[str, str] = {
    "title": "the article's headline, cleaned (cut at a word boundary with … when the post is too long)",
    "link": "the article's full link",
    "short_link": "the article's short link (for now the full link)",
    "excerpt": "the article's summary as plain text (shortened or dropped first when the post is too long)",
    "site_name": "site.name from the config",
}

DEFAULT_TEMPLATE = "{title}\n\n{short_link}"


def template_problems(template: str) -> list[str]:
    """What is wrong with a template, as messages that say what is allowed ([] when it is fine)."""
    allowed = ", ".join("{" + f + "}" for f in FIELDS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}"]
    problems = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in FIELDS:
            shown = "{" + field + "}" if field else "{}"
            problems.append(f"unknown field {shown}; allowed: {allowed}")
        elif spec or conversion:
            problems.append(f"field {{{field}}} takes no format or conversion; write it as {{{field}}}")
    if not template.strip():
        problems.append(f"must not be empty; use fields such as {allowed}")
    return problems


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a (valid) template. A line whose fields are all empty disappears; blank runs become one."""
    out: list[str] = []
    for line in template.split("\n"):
        names = [f for _, f, _, _ in string.Formatter().parse(line) if f is not None]
        text = line.format_map({f: values.get(f, "") for f in names})
        if names and not text.strip():
            continue
        out.append(text.rstrip())
    joined = "\n".join(out).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", joined)
