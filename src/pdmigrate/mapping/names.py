"""Field-name equivalence (landing rules §6): reuse an account's field instead of a duplicate.

``Insurance_Provider__c``, ``insurance provider`` and ``Insurance Provider`` are the
same field: drop ``__c``, split on ``_`` and camelCase, ``Pct`` = ``%``, compare word
sets ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def name_words(name: str) -> frozenset[str]:
    """The word set of a field name as §6 compares it."""
    text = re.sub(r"__c$", "", name.strip(), flags=re.IGNORECASE)
    text = _CAMEL.sub(" ", text).replace("_", " ").casefold()
    words = re.findall(r"[0-9a-z]+|%|#", text)
    return frozenset("%" if w in {"pct", "percent"} else w for w in words)


def equivalent_name(name: str, existing: Iterable[str]) -> str | None:
    """The existing field name equivalent to ``name`` (exact spelling first), else None."""
    names = list(existing)
    if name in names:
        return name
    wanted = name_words(name)
    for candidate in names:
        if wanted and name_words(candidate) == wanted:
            return candidate
    return None
