"""Post templates: ``{field}`` placeholders, checked when the config loads, rendered when a post is built.

The nine placeholders of WP Twitter Auto Publish work too, so an operator can paste the old format
unchanged; they are turned into the fields below when the config loads.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

#: The fields a template may use, and what each holds.
FIELDS: dict[str, str] = {
    "title": "the headline, cleaned (cut at a word boundary with … when the post is too long)",
    "link": "the article's full link (with UTM parameters when configured)",
    "short_link": "the article's short link (see short_link), else its full link",
    "excerpt": "the summary as plain text (shortened, then dropped, before the title is cut)",
    "hashtags": "hashtags from categories and tags (see hashtags); the first to go when room is short",
    "site_name": "site.name",
    "author": "the author's name",
    "date": "the publication time in the site's timezone (see date_format)",
    "categories": "the article's categories, separated by ، ",
    "id": "WordPress's post id (from a ?p=ID guid or the REST API), or empty",
}

#: WP Twitter Auto Publish's placeholders → our fields.
ALIASES: dict[str, str] = {
    "POST_TITLE": "title",
    "PERMALINK": "link",
    "POST_EXCERPT": "excerpt",
    "POST_CONTENT": "excerpt",
    "BLOG_TITLE": "site_name",
    "USER_NICENAME": "author",
    "USER_DISPLAY_NAME": "author",
    "POST_ID": "id",
    "POST_PUBLISH_DATE": "date",
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
        if field not in FIELDS and field not in ALIASES:
            shown = "{" + field + "}" if field else "{}"
            problems.append(f"unknown field {shown}; allowed: {allowed} "
                            f"(or WP Twitter Auto Publish's {{POST_TITLE}}, {{PERMALINK}}, …)")
        elif spec or conversion:
            problems.append(f"field {{{field}}} takes no format or conversion; write it as {{{field}}}")
    if not template.strip():
        problems.append(f"must not be empty; use fields such as {allowed}")
    return problems


def canonical(template: str) -> str:
    """A (valid) template with the plugin's placeholders replaced by our fields."""
    out = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is not None:
            out.append("{" + ALIASES.get(field, field) + "}")
    return "".join(out)


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
