"""neonize's generated protobuf modules, without importing neonize itself (which loads its Go library)."""

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _proto_dir() -> str:
    """Where neonize keeps its generated modules (they import each other as top-level packages)."""
    spec = importlib.util.find_spec("neonize")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("neonize is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "proto")


def proto(name: str) -> ModuleType:
    """A generated module by its top-level name, e.g. "Neonize_pb2" or "waE2E.WAWebProtobufsE2E_pb2"."""
    # The same classes as neonize's own once it is loaded: neonize puts this directory on sys.path too.
    directory = _proto_dir()
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return importlib.import_module(name)
