"""Checks a Bot API call (or an object we build) against the derived spec facts."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("bot_api_spec.json")
_SCALARS = {"Integer", "Float", "String", "Boolean", "True", "InputFile"}


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def method_names() -> set[str]:
    return set(spec()["methods"])


def _check_scalar(kind: str, value: Any) -> bool:
    if kind == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "String":
        return isinstance(value, str)
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind == "True":
        return value is True
    return True  # InputFile: an upload, a file_id or a URL


def check_value(kinds: list[str], value: Any, path: str, problems: list[str]) -> None:
    """Record in ``problems`` why ``value`` matches none of ``kinds``."""
    attempts: list[list[str]] = []
    for kind in kinds:
        found: list[str] = []
        _check_one(kind, value, path, found)
        if not found:
            return
        attempts.append(found)
    problems.extend(min(attempts, key=len) if attempts else [f"{path}: no type"])


def _check_one(kind: str, value: Any, path: str, problems: list[str]) -> None:
    if kind.startswith("Array of "):
        if not isinstance(value, list):
            problems.append(f"{path}: expected an array")
            return
        inner = kind.removeprefix("Array of ")
        for i, item in enumerate(value):
            _check_one(inner, item, f"{path}[{i}]", problems)
        return
    if kind in _SCALARS:
        if not _check_scalar(kind, value):
            problems.append(f"{path}: expected {kind}, got {type(value).__name__}")
        return
    check_object(kind, value, path, problems)


def check_object(type_name: str, value: Any, path: str, problems: list[str]) -> None:
    declared = spec()["types"].get(type_name)
    if declared is None:
        problems.append(f"{path}: unknown type {type_name}")
        return
    if declared["subtypes"]:
        check_value(declared["subtypes"], value, path, problems)
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a {type_name} object")
        return
    fields = declared["fields"]
    for name, field in fields.items():
        if field["required"] and name not in value:
            problems.append(f"{path}.{name}: required field of {type_name} missing")
    for name, item in value.items():
        if name not in fields:
            problems.append(f"{path}.{name}: {type_name} has no such field")
            continue
        check_value(fields[name]["types"], item, f"{path}.{name}", problems)


def decode_param(kinds: list[str], raw: Any) -> Any:
    """Form fields arrive as strings; objects and arrays as JSON text."""
    if not isinstance(raw, str):
        return raw  # an uploaded file, or a JSON body's native value
    if kinds == ["String"]:
        return raw
    if "Integer" in kinds or "Float" in kinds:
        try:
            return int(raw)
        except ValueError:
            try:
                return float(raw) if "Float" in kinds else raw
            except ValueError:
                return raw
    if kinds == ["Boolean"] or kinds == ["True"]:
        return {"true": True, "false": False}.get(raw.lower(), raw)
    if any(k not in _SCALARS for k in kinds):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


# Parameters PTB 22.8 sends where the method has none, because its shared send/edit path
# fills in the Defaults' parse_mode. Telegram ignores unknown parameters; so does the fake
# for exactly these, and flags every other unknown parameter (usually a typo).
TOLERATED_EXTRAS = {("editMessageReplyMarkup", "parse_mode")}


def check_call(method: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Decode the raw parameters of a call and list what breaks the spec."""
    declared = spec()["methods"].get(method)
    if declared is None:
        return params, [f"{method}: no such Bot API method"]
    problems: list[str] = []
    decoded: dict[str, Any] = {}
    for name, field in declared["params"].items():
        if field["required"] and name not in params:
            problems.append(f"{method}: required parameter {name} missing")
    for name, raw in params.items():
        field = declared["params"].get(name)
        if field is None and (method, name) in TOLERATED_EXTRAS:
            continue
        if field is None:
            problems.append(f"{method}: unknown parameter {name}")
            decoded[name] = raw
            continue
        value = decode_param(field["types"], raw)
        decoded[name] = value
        check_value(field["types"], value, f"{method}.{name}", problems)
    return decoded, problems


def required_booleans(type_name: str) -> dict[str, bool]:
    """False for every required Boolean field: what a freshly made admin record carries."""
    fields = spec()["types"][type_name]["fields"]
    return {name: False for name, f in fields.items()
            if f["required"] and f["types"] == ["Boolean"]}
