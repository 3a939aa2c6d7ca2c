"""twitter-text's conformance file (../shared/contracts/twitter-text-validate.yml) as pytest cases:
``CONFORMANCE`` (its path) and ``conformance_cases``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from .paths import CONTRACTS

CONFORMANCE = CONTRACTS / "twitter-text-validate.yml"


def conformance_cases(*sections: str, section_in_id: bool = True) -> list[Any]:
    """One ``pytest.param`` per case of these sections, named by its description (after its section's name
    unless told). Without the file, one ``None`` case: the test then skips with ``need_shared(CONFORMANCE)``."""
    if not CONFORMANCE.exists():
        return [pytest.param(None, id="conformance-file-absent")]
    tests = yaml.safe_load(CONFORMANCE.read_text(encoding="utf-8"))["tests"]
    return [pytest.param(case, id=f"{section}: {case['description']}" if section_in_id else case["description"])
            for section in sections for case in tests[section]]
