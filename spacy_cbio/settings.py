"""Typed settings blocks: one pydantic model per ``[block]`` of a settings file.

Settings files are confection configs (spaCy's ``.cfg`` format). Each block the
code reads is described by a :class:`SettingsModel` subclass: its fields are the
known keys, their types and defaults. :func:`load_block` reads one block of a file
and :func:`validate_block` checks an already-parsed dict; both raise ONE
:class:`SettingsError` that names the file, the block and the key, what was
expected and what was given, e.g.::

    configs/pretrain/tiny.cfg: [training] lr: expected a valid number, got 'abc' (str)
    configs/pretrain/tiny.cfg: [training] lrr: unknown key (known: adam_epsilon, batch_size, ...)

Types are strict: a quoted ``"12"`` or ``true`` is no integer, but an integer is a
valid number (``lr = 1`` is ``1.0``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["SettingsModel", "SettingsError", "load_block", "load_config", "validate_block"]

M = TypeVar("M", bound="SettingsModel")
PathLike = Union[str, Path]


class SettingsModel(BaseModel):
    """Base of every settings block: unknown keys are errors, types are strict (an int is a valid float)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True, frozen=False)

    def __getitem__(self, key: str) -> Any:
        """Read access by key (``profile["training"]["lr"]``) for scripts written against the old dicts."""
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)


class SettingsError(ValueError):
    """A settings file (or block) does not validate; the message names the file, block and key."""

    def __init__(self, message: str, source: str = "", section: Optional[str] = None,
                 problems: Sequence[str] = ()):
        super().__init__(message)
        self.source = source
        self.section = section
        self.problems = list(problems)


def _known_keys(model_cls: Type[BaseModel], path: Sequence[Union[str, int]]) -> Optional[List[str]]:
    """Field names of the (nested) model at ``path`` below ``model_cls``, if it is one."""
    cls: Any = model_cls
    for part in path:
        fields = getattr(cls, "model_fields", None)
        if not fields or part not in fields:
            return None
        cls = fields[part].annotation
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return sorted(cls.model_fields)
    return None


def _expected(error: Dict[str, Any]) -> str:
    msg = str(error.get("msg", ""))
    if error.get("type") == "value_error" and msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if error.get("type") == "assertion_error" and msg.startswith("Assertion failed, "):
        return msg[len("Assertion failed, "):]
    if msg.startswith("Input should be "):
        return "expected " + msg[len("Input should be "):]
    return msg[:1].lower() + msg[1:]


def _where(section: Optional[str], loc: Sequence[Union[str, int]]) -> Tuple[str, Optional[str]]:
    """``("[training]", "lr")`` for a loc below ``section``; a whole-file loc starts with the block."""
    parts = [str(p) for p in loc]
    if section:
        block, keys = section, parts
    elif parts:
        block, keys = parts[0], parts[1:]
    else:
        return "", None
    if not keys:
        return f"[{block}]", None
    # nested blocks ([variants.wide]) and the key in them
    return f"[{'.'.join([block, *keys[:-1]])}]", keys[-1]


def _problem(error: Dict[str, Any], model_cls: Type[BaseModel], section: Optional[str]) -> str:
    loc = tuple(error.get("loc", ()))
    block, key = _where(section, loc)
    if error.get("type") == "extra_forbidden":
        known = _known_keys(model_cls, loc[:-1])
        listed = f" (known: {', '.join(known)})" if known else ""
        if key is None:  # an unknown block in a whole-file model
            return f"{block}: unknown block{listed}"
        return f"{block} {key}: unknown key{listed}"
    if error.get("type") == "missing":
        return f"{block} {key}: missing (required)" if key else f"{block}: missing (required)"
    label = f"{block} {key}" if key else block
    value = error.get("input")
    if error.get("type") == "model_type" or error.get("type") == "dict_type":
        return f"{label}: expected a block of keys, got {value!r}"
    return f"{label}: {_expected(error)}, got {value!r} ({type(value).__name__})"


def validate_block(data: Mapping[str, Any], model_cls: Type[M], *, source: str,
                   section: Optional[str]) -> M:
    """``data`` (one parsed ``[section]``, or a whole file's blocks if ``section`` is None) as a ``model_cls``.

    RAISES: :class:`SettingsError` naming ``source``, the block and key of every problem.
    """
    if isinstance(data, model_cls):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump()
    try:
        return model_cls.model_validate(_plain(data))
    except ValidationError as err:
        problems = [_problem(e, model_cls, section) for e in err.errors(include_url=False)]
        head = f"{source}: " if source else ""
        if len(problems) == 1:
            message = head + problems[0]
        else:
            message = head + f"{len(problems)} problems in the settings:\n" + "\n".join(f"  {p}" for p in problems)
        raise SettingsError(message, source=source, section=section, problems=problems) from None


def _plain(value: Any) -> Any:
    """confection's Config (a dict subclass) and its sub-blocks as plain dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def load_config(path: PathLike, overrides: Optional[Dict[str, Any]] = None, interpolate: bool = True):
    """The parsed confection config of ``path`` (FileNotFoundError if missing)."""
    from confection import Config

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: settings file not found")
    return Config().from_disk(path, overrides=overrides or {}, interpolate=interpolate)


def load_block(path: PathLike, section: Optional[str], model_cls: Type[M],
               overrides: Optional[Dict[str, Any]] = None, *, interpolate: bool = True) -> M:
    """Read ``path`` (confection ``.cfg``, ``overrides`` like ``{"training.lr": 0.1}``) and validate
    its ``[section]`` (missing: all defaults) as ``model_cls``; ``section=None`` validates the
    whole file (a model whose fields are blocks).

    RAISES: FileNotFoundError; :class:`SettingsError` naming the file, block and key.
    """
    config = load_config(path, overrides, interpolate=interpolate)
    data = config if section is None else config.get(section, {})
    if section is not None and not isinstance(data, Mapping):
        raise SettingsError(f"{path}: [{section}] must be a block of keys, not {data!r}", source=str(path),
                            section=section)
    return validate_block(data, model_cls, source=str(path), section=section)
