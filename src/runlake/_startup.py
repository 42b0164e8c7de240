"""Start-up costs a command need not pay.

pyarrow imports pandas (about 0.25 s of CPU) the first time it converts any value, only to
ask whether the value is a pandas object, whenever pandas is installed in the environment
(as it is for most analysts). runlake's commands never hand pyarrow a pandas object, so
:func:`skip_pandas_probe` answers that first question with "no pandas" in the processes of
a command (the command itself and its worker pool), never in a program that imports
runlake as a library.

Explicit pandas work (``Table.to_pandas``, ``Table.from_pandas``) still imports pandas when
something asks for it: pyarrow tries again each time pandas is required.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["skip_pandas_probe"]


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas":
            raise ModuleNotFoundError("pandas is not loaded by a runlake command")
        return None


def skip_pandas_probe() -> None:
    """Let pyarrow's first conversion in this process find no pandas (see the module)."""
    if "pandas" in sys.modules:  # loaded already: nothing to save
        return
    import pyarrow as pa  # noqa: PLC0415 -- only the commands that use it call this

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([])  # pyarrow's one probe: it remembers the answer
    finally:
        sys.meta_path.remove(finder)
