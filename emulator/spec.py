"""Request-body validation against Discord's published OpenAPI description.

limits.py knows the rules bots usually break; the spec knows every field's type, so a typo'd
key type or a malformed component fails here the way Discord would reject it (400/50035).
The spec is a data file outside the project (../shared/discord-api-spec/openapi.json): it is
loaded from there or from an explicit path, and validation is simply off when it is absent.
jsonschema (the test extra) is imported only when a spec is used: an installed bot's playground
has no spec and needs none; "auto" without jsonschema is off, an explicit path says to install it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import FormErrors

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

_SPEC_URI = "urn:discord-openapi"


def default_spec_path() -> Path:
    repo_root = Path(__file__).resolve().parents[1]
    return repo_root.parent / "shared" / "discord-api-spec" / "openapi.json"


def validation_available() -> bool:
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_spec_path(value: str | Path | None) -> Path | None:
    """ "auto" means the shared location if it exists (and jsonschema is installed); an
    explicit path must exist."""
    if value is None:
        return None
    if value == "auto":
        path = default_spec_path()
        return path if path.is_file() and validation_available() else None
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"OpenAPI spec not found at {path}")
    if not validation_available():
        raise ModuleNotFoundError(f"checking requests against {path} needs jsonschema: "
                                  "pip install 'heartstopper-bot[test]' (or jsonschema)")
    return path


@functools.lru_cache(maxsize=4)
def _registry(path: str) -> tuple[dict[str, Any], Registry]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    # The spec types snowflakes as numeric strings, but Discord also accepts JSON integers and
    # discord.py sends them (recipient_id, role ids...): accept both, like Discord does.
    schemas = spec.get("components", {}).get("schemas", {})
    if "SnowflakeType" in schemas:
        snowflake = schemas["SnowflakeType"]
        schemas["SnowflakeType"] = {"anyOf": [snowflake, {"type": "integer", "minimum": 0}]}
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return spec, Registry().with_resource(_SPEC_URI, resource)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.lru_cache(maxsize=256)
def _validator(path: str, method: str, template: str) -> Draft202012Validator | None:
    # Compiling is cheap but resolving the big spec is not; cache per operation, process-wide,
    # so every emulator instance in a test run shares the work.
    from jsonschema import Draft202012Validator

    spec, registry = _registry(path)
    op = spec.get("paths", {}).get(template, {}).get(method)
    if not op:
        return None
    content = (op.get("requestBody") or {}).get("content") or {}
    if "application/json" not in content:
        return None
    ref = f"{_SPEC_URI}#/" + _pointer(
        "paths", template, method, "requestBody", "content", "application/json", "schema"
    )
    return Draft202012Validator({"$ref": ref}, registry=registry)


class SpecValidator:
    def __init__(self, path: Path) -> None:
        self.path = path
        _registry(str(path))  # fail early on a broken file, and warm the cache

    def has_operation(self, method: str, template: str) -> bool:
        spec, _ = _registry(str(self.path))
        return method.lower() in spec.get("paths", {}).get(template, {})

    def validate(self, method: str, template: str, body: Any) -> dict[str, Any] | None:
        """Discord-shaped `errors` tree, or None when the body is valid (or not checkable)."""
        validator = _validator(str(self.path), method.lower(), template)
        if validator is None:
            return None
        errors = list(validator.iter_errors(body))
        if not errors:
            return None
        form = FormErrors()
        for err in errors[:10]:
            err = _deepest(err)
            code = f"SPEC_{str(err.validator).upper()}"
            form.add(tuple(err.absolute_path), code, err.message[:300])
        return form.tree


def _deepest(err: ValidationError) -> ValidationError:
    # anyOf/oneOf failures hide the useful message in their context.
    from jsonschema.exceptions import best_match

    while err.context:
        best = best_match(err.context)
        if best is None:
            break
        err = best
    return err
