"""Discord's length and shape rules, checked before anything is stored.

These are the rules a bot most often breaks in production (an embed that grows past 6000
characters, a 101-character command description); Discord answers them with 400/50035, and so
does the emulator, with the same nested `errors` body. The OpenAPI check in spec.py covers the
general schema; this module covers what the spec does not express (totals, uniqueness, the
2000-character content limit, name rules).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .errors import FormErrors

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
ROW_ITEMS_MAX = 5
BUTTON_LABEL_MAX = 80
CUSTOM_ID_MAX = 100
SELECT_OPTIONS_MAX = 25
ALLOWED_MENTIONS_IDS_MAX = 100
COMPONENTS_V2_FLAG = 1 << 15

COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_STRING_VALUE_MAX = 100
COMMAND_TOTAL_CHARS_MAX = 4000
AUTOCOMPLETE_CHOICES_MAX = 25
MODAL_TITLE_MAX = 45

_NAME_EXTRA = set("-_'")


def valid_command_name(name: Any, *, chat_input: bool = True) -> bool:
    """`^[-_'\\p{L}\\p{N}]{1,32}$`, lowercase where a lowercase form exists (chat input only)."""
    if not isinstance(name, str) or not 1 <= len(name) <= COMMAND_NAME_MAX:
        return False
    if not chat_input:
        return True
    for ch in name:
        cat = unicodedata.category(ch)
        if ch not in _NAME_EXTRA and cat[0] not in ("L", "N"):
            return False
        if ch != ch.lower():
            return False
    return True


# -- messages ---------------------------------------------------------------------------------


def embed_size(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def check_embeds(errs: FormErrors, embeds: Any) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errs.add(("embeds",), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    errs.max_items(("embeds",), embeds, EMBEDS_MAX)
    for i, e in enumerate(embeds):
        p = ("embeds", i)
        errs.max_length((*p, "title"), e.get("title"), EMBED_TITLE_MAX)
        errs.max_length((*p, "description"), e.get("description"), EMBED_DESCRIPTION_MAX)
        fields = e.get("fields") or []
        errs.max_items((*p, "fields"), fields, EMBED_FIELDS_MAX)
        for j, f in enumerate(fields):
            fp = (*p, "fields", j)
            errs.length_between((*fp, "name"), f.get("name"), 1, EMBED_FIELD_NAME_MAX)
            errs.length_between((*fp, "value"), f.get("value"), 1, EMBED_FIELD_VALUE_MAX)
        errs.max_length(
            (*p, "footer", "text"), (e.get("footer") or {}).get("text"), EMBED_FOOTER_MAX
        )
        errs.max_length(
            (*p, "author", "name"), (e.get("author") or {}).get("name"), EMBED_AUTHOR_MAX
        )
    if sum(embed_size(e) for e in embeds if isinstance(e, dict)) > EMBED_TOTAL_MAX:
        errs.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
        )


def _walk_components(components: list[Any]):
    for c in components or []:
        if not isinstance(c, dict):
            continue
        yield c
        yield from _walk_components(c.get("components") or [])
        if isinstance(c.get("component"), dict):
            yield from _walk_components([c["component"]])
        if isinstance(c.get("accessory"), dict):
            yield from _walk_components([c["accessory"]])


def check_components(errs: FormErrors, components: Any, flags: int) -> None:
    if not components:
        return
    if not flags & COMPONENTS_V2_FLAG:
        errs.max_items(("components",), components, ACTION_ROWS_MAX)
        for i, row in enumerate(components):
            errs.max_items(
                ("components", i, "components"), row.get("components") or [], ROW_ITEMS_MAX
            )
    seen: set[str] = set()
    for c in _walk_components(components):
        cid = c.get("custom_id")
        if cid is not None:
            if not isinstance(cid, str) or not 1 <= len(cid) <= CUSTOM_ID_MAX:
                errs.add(("components",), "BASE_TYPE_BAD_LENGTH", "custom_id must be 1-100 long.")
            elif cid in seen:
                errs.add(
                    ("components",),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    f"Duplicate custom_id {cid!r}",
                )
            seen.add(cid)
        if c.get("type") == 2:
            errs.max_length(("components", "label"), c.get("label"), BUTTON_LABEL_MAX)
        if c.get("type") == 3:
            errs.max_items(("components", "options"), c.get("options") or [], SELECT_OPTIONS_MAX)


def check_allowed_mentions(errs: FormErrors, am: Any) -> None:
    if not isinstance(am, dict):
        return
    parse = am.get("parse") or []
    for kind in ("users", "roles"):
        ids = am.get(kind) or []
        errs.max_items(("allowed_mentions", kind), ids, ALLOWED_MENTIONS_IDS_MAX)
        if kind in parse and ids:
            errs.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.',
            )


def check_message(body: dict[str, Any], *, require_something: bool = True) -> FormErrors:
    """Rules shared by channel messages, interaction replies, follow-ups and edits."""
    errs = FormErrors()
    content = body.get("content")
    errs.max_length(("content",), content, CONTENT_MAX)
    check_embeds(errs, body.get("embeds"))
    flags = int(body.get("flags") or 0)
    check_components(errs, body.get("components"), flags)
    if flags & COMPONENTS_V2_FLAG:
        # Components v2 messages carry their text in components only.
        for key in ("content", "embeds"):
            if body.get(key):
                errs.add(
                    (key,),
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    "The 'content' and 'embeds' fields cannot be used with components v2",
                )
    check_allowed_mentions(errs, body.get("allowed_mentions"))
    return errs


def is_empty_message(body: dict[str, Any], attachments: int = 0) -> bool:
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or attachments
    )


# -- interaction callbacks --------------------------------------------------------------------


def check_autocomplete(data: dict[str, Any]) -> FormErrors:
    errs = FormErrors()
    choices = data.get("choices")
    if not isinstance(choices, list):
        errs.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
        return errs
    errs.max_items(("data", "choices"), choices, AUTOCOMPLETE_CHOICES_MAX)
    for i, ch in enumerate(choices):
        _check_choice(errs, ("data", "choices", i), ch)
    return errs


def check_modal(data: dict[str, Any]) -> FormErrors:
    errs = FormErrors()
    errs.length_between(("data", "title"), data.get("title"), 1, MODAL_TITLE_MAX)
    errs.length_between(("data", "custom_id"), data.get("custom_id"), 1, CUSTOM_ID_MAX)
    comps = data.get("components")
    if not isinstance(comps, list) or not 1 <= len(comps) <= 5:
        errs.add(
            ("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    return errs


def _check_choice(errs: FormErrors, path: tuple[str | int, ...], choice: Any) -> None:
    if not isinstance(choice, dict):
        errs.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return
    errs.length_between((*path, "name"), choice.get("name"), 1, CHOICE_NAME_MAX)
    value = choice.get("value")
    if isinstance(value, str):
        errs.max_length((*path, "value"), value, CHOICE_STRING_VALUE_MAX)
    elif not isinstance(value, int | float) or isinstance(value, bool):
        errs.add((*path, "value"), "BASE_TYPE_REQUIRED", "This field is required")


# -- application commands ---------------------------------------------------------------------


def _command_chars(node: dict[str, Any]) -> int:
    total = len(node.get("name") or "") + len(node.get("description") or "")
    for ch in node.get("choices") or []:
        total += len(str(ch.get("name") or "")) + len(str(ch.get("value") or ""))
    for opt in node.get("options") or []:
        total += _command_chars(opt)
    return total


def _check_options(errs: FormErrors, path: tuple[str | int, ...], options: Any, depth: int) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        errs.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    errs.max_items(path, options, COMMAND_OPTIONS_MAX)
    names: set[object] = set()  # every option's name as sent, valid or not
    seen_optional = False
    kinds = {
        ("sub" if o.get("type") in (1, 2) else "value") for o in options if isinstance(o, dict)
    }
    if len(kinds) > 1:
        errs.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive "
            "to all other types",
        )
    for i, opt in enumerate(options):
        p = (*path, i)
        if not isinstance(opt, dict):
            errs.add(p, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        otype = opt.get("type")
        name = opt.get("name")
        if not valid_command_name(name):
            errs.add(
                (*p, "name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                f"Command name is invalid: {name!r}",
            )
        elif name in names:
            errs.add(
                (*p, "name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(name)
        errs.length_between((*p, "description"), opt.get("description"), 1, COMMAND_DESCRIPTION_MAX)
        if not isinstance(otype, int) or not 1 <= otype <= 11:
            errs.add(
                (*p, "type"), "BASE_TYPE_CHOICES", f"Value must be one of 1..11, not {otype!r}."
            )
            continue
        if otype == 2 and depth > 0:
            errs.add(
                (*p, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command groups can only be nested in a command",
            )
        if otype == 1 and depth > 1:
            errs.add((*p, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Nested too deep")
        if otype in (1, 2):
            sub = opt.get("options") or []
            if otype == 2 and any(o.get("type") != 1 for o in sub if isinstance(o, dict)):
                errs.add(
                    (*p, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups may only contain sub-commands",
                )
            _check_options(errs, (*p, "options"), sub, depth + 1)
            continue
        if opt.get("required"):
            if seen_optional:
                errs.add(
                    (*p, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices")
        if choices:
            errs.max_items((*p, "choices"), choices, COMMAND_CHOICES_MAX)
            for j, ch in enumerate(choices):
                _check_choice(errs, (*p, "choices", j), ch)
            if opt.get("autocomplete"):
                errs.add(
                    (*p, "autocomplete"),
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete and choices are mutually exclusive",
                )
        if opt.get("autocomplete") and otype not in (3, 4, 10):
            errs.add(
                (*p, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                "Autocomplete is only for string, integer and number options",
            )


def check_command_list(commands: Any) -> FormErrors:
    errs = FormErrors()
    if not isinstance(commands, list):
        errs.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        return errs
    seen: set[tuple[int, str]] = set()
    per_type: dict[int, int] = {}
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, dict):
            errs.add((i,), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        check_command(errs, (i,), cmd)
        ctype = int(cmd.get("type") or 1)
        key = (ctype, str(cmd.get("name")))
        if key in seen:
            errs.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[1]}",
            )
        seen.add(key)
        per_type[ctype] = per_type.get(ctype, 0) + 1
    for ctype, count in per_type.items():
        limit = 100 if ctype == 1 else 5
        if count > limit:
            errs.add(
                (),
                "APPLICATION_COMMANDS_TOO_MANY",
                f"Too many commands of type {ctype}: max {limit}",
            )
    return errs


def check_command(errs: FormErrors, path: tuple[str | int, ...], cmd: dict[str, Any]) -> None:
    ctype = int(cmd.get("type") or 1)
    chat = ctype == 1
    if not valid_command_name(cmd.get("name"), chat_input=chat):
        errs.add(
            (*path, "name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            f"Command name is invalid: {cmd.get('name')!r}",
        )
    if chat:
        errs.length_between(
            (*path, "description"), cmd.get("description"), 1, COMMAND_DESCRIPTION_MAX
        )
        _check_options(errs, (*path, "options"), cmd.get("options"), 0)
        if _command_chars(cmd) > COMMAND_TOTAL_CHARS_MAX:
            errs.add(
                path,
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({COMMAND_TOTAL_CHARS_MAX})",
            )
    elif cmd.get("description"):
        errs.add(
            (*path, "description"),
            "APPLICATION_COMMAND_INVALID_DESCRIPTION",
            "Context menu commands cannot have a description",
        )
