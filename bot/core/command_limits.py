"""Discord's rules for command definitions, checked on the payloads we would sync.

Used by the tests (every cog's commands) so an over-long description fails here, not at sync.
"""

from __future__ import annotations

import re
from typing import Any

NAME = re.compile(r"^[-_'\w]{1,32}$")  # \w covers \p{L}\p{N} and _ for str patterns
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_GLOBAL_COMMANDS = 100


def definition_problems(payload: dict[str, Any], where: str = "") -> list[str]:
    """Every rule a command (or option) payload breaks, as readable lines."""
    problems: list[str] = []
    name = payload.get("name", "")
    here = f"{where}/{name}" if where else f"/{name}"
    kind = payload.get("type", 1)
    if not NAME.match(name) or (kind in (1, None) and name != name.lower()):
        problems.append(f"{here}: name must be 1-32 lowercase letters, digits, - _ '")
    description = payload.get("description", "")
    if (kind in (1, None) or "options" in payload or where) and not 1 <= len(description) <= 100:
        problems.append(f"{here}: description must be 1-100 characters (is {len(description)})")
    options = payload.get("options") or []
    if len(options) > MAX_OPTIONS:
        problems.append(f"{here}: {len(options)} options; the limit is {MAX_OPTIONS}")
    seen: set[str] = set()
    for option in options:
        if option.get("name") in seen:
            problems.append(f"{here}: option {option.get('name')!r} is defined twice")
        seen.add(option.get("name"))
        problems.extend(definition_problems(option, here))
    choices = payload.get("choices") or []
    if len(choices) > MAX_CHOICES:
        problems.append(f"{here}: {len(choices)} choices; the limit is {MAX_CHOICES}")
    for choice in choices:
        if not 1 <= len(choice.get("name", "")) <= 100:
            problems.append(f"{here}: choice name {choice.get('name')!r} must be 1-100 chars")
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            problems.append(f"{here}: choice value {value!r} is over 100 characters")
    required_seen_optional = False
    for option in options:
        if option.get("type") in (1, 2):
            continue
        if not option.get("required"):
            required_seen_optional = True
        elif required_seen_optional:
            problems.append(f"{here}: required option {option['name']!r} after an optional one")
    return problems
