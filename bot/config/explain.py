"""Turning pydantic's validation errors into a person's messages: file line, key path, what is allowed."""

from __future__ import annotations

import difflib
import re
import types
import typing
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from bot.config.accounts import AccountConfig
from bot.config.models import BotConfig
from bot.config.values import PATTERN_WORDS, _PathError
from bot.errors import ConfigProblem


def _key_lines(node: yaml.Node | None) -> dict[tuple[str | int, ...], int]:
    """Map each key path of the YAML document to its 1-based line."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
                lines[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    if node is not None:
        walk(node, ())
    return lines


def duplicate_keys(node: yaml.Node | None) -> list[tuple[str, int]]:
    """Keys written twice in one mapping (YAML would keep only the last): each with the line of its repeat."""
    found: list[tuple[str, int]] = []

    constructor = yaml.constructor.SafeConstructor()

    def walk(n: yaml.Node) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: set[tuple[type, object]] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    try:  # as YAML reads the key: 1 and "1" differ, yes and true are one
                        value = constructor.construct_object(k)
                    except yaml.YAMLError:
                        value = k.value
                    same = (type(value), value)
                    if same in seen:
                        found.append((k.value, k.start_mark.line + 1))
                    seen.add(same)
                walk(v)
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                walk(v)

    if node is not None:
        walk(node)
    return found


def yaml_words(exc: yaml.MarkedYAMLError) -> str:
    """A YAML syntax error in plain words, with its column: what is wrong and the usual fix."""
    problem = exc.problem or str(exc)
    col = f" (column {exc.problem_mark.column + 1})" if exc.problem_mark else ""
    char = re.match(r"found character '(.+)' that cannot start any token", problem)
    if char and char.group(1) == "\\t":
        said = "a tab: YAML indents with spaces only"
    elif char:
        said = (f"a value cannot start with {char.group(1)}: put it in quotes, e.g. \"{char.group(1)}…\"")
    elif problem.startswith("mapping values are not allowed"):
        said = ("a ':' that YAML cannot place: a value holding ': ' must be in quotes, or this line is indented "
                "more than the key above it")
    elif exc.problem_mark is not None and re.search(r":\s*\{", _line_at(exc)) and (
            "expected <block end>" in problem or "expected ',' or '}'" in problem or "mapping values" in problem):
        said = ("a value that starts with { is read by YAML as a mapping: put it in quotes, "
                "e.g. \"{title} {short_link}\"")
    elif "expected <block end>" in problem:
        said = "this line's indentation does not line up with the lines above it (indent with spaces, evenly)"
    elif "could not find expected ':'" in problem:
        said = "a key without ':' after it (or a line indented wrongly)"
    elif "unexpected end of stream" in problem and "quoted" in (exc.context or ""):
        said = "a quote that is never closed"
    elif "expected ',' or ']'" in problem:
        said = "a '[' list that is never closed with ']'"
    elif "expected ',' or '}'" in problem:
        said = "a '{' mapping that is never closed with '}'"
    elif problem.startswith("found undefined alias"):
        said = f"{problem[len('found '):]}: a value starting with * must be in quotes"
    else:
        said = problem
    return f"not valid YAML{col}: {said}"


def _line_at(exc: yaml.MarkedYAMLError) -> str:
    """The text of the lines where YAML found the problem, and the line before (where a flow value began)."""
    marks = [m for m in (exc.context_mark, exc.problem_mark) if m is not None and m.buffer]
    if not marks:
        return ""
    text = str(marks[-1].buffer).split("\n")
    rows = {r for m in marks for r in (m.line - 1, m.line)}
    return "\n".join(text[r] for r in sorted(rows) if 0 <= r < len(text))


def _line(lines: dict[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def _show(path: Sequence[str | int]) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def _data_path(loc: Sequence[str | int], data: Any) -> tuple[str | int, ...]:
    """pydantic's loc without the union tags it inserts (``accounts.0.console.template``)."""
    path: list[str | int] = []
    cur = data
    for seg in loc:
        if isinstance(cur, dict) and isinstance(seg, str) and seg not in cur and seg in (cur.get("platform"),
                                                                                         cur.get("type")):
            continue  # the discriminator's tag, not a key in the file
        path.append(seg)
        cur = _child(cur, seg)
    return tuple(path)


def _strip(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
            else:
                return tuple(args)
        else:
            return tp


def _model_at(path: Sequence[str | int], data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` of the data."""
    tp: Any = BotConfig
    cur = data
    for seg in path:
        tp = _strip(tp)
        if isinstance(tp, tuple):  # a union of account (or alert channel) models: pick by platform (or type)
            tp = _member(tp, cur)
            if tp is None:
                return None
        if isinstance(seg, int):
            if typing.get_origin(tp) is not list:
                return None
            tp = typing.get_args(tp)[0]
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and seg in tp.model_fields:
            tp = tp.model_fields[seg].annotation
        else:
            return None
        cur = _child(cur, seg)
    tp = _strip(tp)
    if isinstance(tp, tuple):
        tp = _member(tp, cur)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _member(members: tuple[Any, ...], data: Any) -> Any:
    """The member of a discriminated union that validates ``data``: by its ``platform`` or its ``type``."""
    if not isinstance(data, dict):
        return None
    for field in ("platform", "type"):
        if field not in data:
            continue
        found = next((m for m in members if _tag_of(m, field) == data.get(field)), None)
        if found is not None:
            return found
    return None


def _tag_of(model: Any, field_name: str) -> str | None:
    field = getattr(model, "model_fields", {}).get(field_name)
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if args else None


def _child(container: Any, seg: str | int) -> Any:
    """``container[seg]`` when the data has it, else None."""
    if isinstance(container, dict):
        return container.get(seg)
    if isinstance(container, list) and isinstance(seg, int) and 0 <= seg < len(container):
        return container[seg]
    return None


def _platform_of(model: Any) -> str | None:
    return _tag_of(model, "platform")


def platforms() -> list[str]:
    """The platform names an account may have."""
    members = _strip(AccountConfig)
    return [p for p in (_platform_of(m) for m in (members if isinstance(members, tuple) else (members,))) if p]


_SECRETISH = re.compile(r"token|secret|password|key|webhook", re.IGNORECASE)


def _explain(exc: ValidationError, data: Any, lines: dict[tuple[str | int, ...], int]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for err in exc.errors(include_url=False):
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _PathError):
            path = ctx_error.path
            problems.append(ConfigProblem(_show(path), ctx_error.message, _line(lines, path)))
            continue
        path = _data_path(err["loc"], data)
        kind = err["type"]
        if kind == "extra_forbidden":
            model = _model_at(path[:-1], data)
            allowed = ", ".join(model.model_fields) if model else "see config/bot.example.yaml"
            close = difflib.get_close_matches(str(path[-1]), list(model.model_fields), n=1) if model else []
            meant = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"unknown key {path[-1]!r}{meant}; allowed here: {allowed}"
        elif kind == "missing":
            msg = "required, but missing"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            ctx = err.get("ctx") or {}
            tag = str(ctx.get("discriminator", "'platform'")).strip("'")  # platform (accounts), type (channels)
            tags = str(ctx.get("expected_tags", "")).replace("'", "")
            allowed = ", ".join(platforms()) if tag == "platform" else tags
            if kind == "union_tag_invalid":
                msg = f"unknown {tag} {ctx.get('tag')!r}; allowed: {allowed}"
                path = (*path, tag)
            else:
                msg = f"missing {tag!r}; allowed: {allowed}"
        elif kind == "value_error":
            msg = str(ctx_error) if ctx_error else err["msg"]
        else:
            msg = PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern")), "") or _reword(err["msg"])
            if kind == "string_type" and isinstance(err.get("input"), dict) and len(err["input"]) == 1 \
                    and None in err["input"].values():
                msg += ("; a value that starts with { is read by YAML as a mapping: put it in quotes, "
                        "e.g. \"{title} {short_link}\"")
            last = path[-1] if path else ""
            if isinstance(err.get("input"), str | int | float) and not _SECRETISH.search(str(last)):
                msg += f", got {err['input']!r}"
        problems.append(ConfigProblem(_show(path), msg, _line(lines, path)))
    return problems


def _reword(msg: str) -> str:
    msg = msg.replace("Input should be", "must be").replace("String should", "must")
    msg = msg.replace("List should", "must").replace("Value error, ", "")
    return unicodedata.normalize("NFC", msg[:1].lower() + msg[1:])
