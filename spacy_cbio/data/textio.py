"""Strict text reading: UTF-8 only, errors name the file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Union

from .errors import DataError


def read_utf8(path: Union[str, Path], allow_empty: bool = False) -> str:
    """Read ``path`` as UTF-8 without newline translation (offsets stay exact).

    Raises ``DataError`` naming the file and line for non-UTF-8 bytes, and for an
    empty file unless ``allow_empty``.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data and not allow_empty:
        raise DataError(path, "empty file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            path, f"not valid UTF-8 (byte {data[err.start]:#04x} at offset {err.start})", line
        ) from None
    if not allow_empty and not text.strip():
        raise DataError(path, "file holds only whitespace")
    return text
