"""A bundle: the .bpmn, .dmn and form .json files deployed together.

Paths are kept relative and in POSIX form so that a bundle read from disk, an
upload or the database hashes the same way everywhere.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.errors import ModelInvalid, Problem

BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")


@dataclass(frozen=True)
class Bundle:
    files: dict[str, bytes]

    def with_suffix(self, suffix: str) -> dict[str, bytes]:
        return {
            path: content for path, content in sorted(self.files.items()) if path.endswith(suffix)
        }

    def find_form(self, reference: str) -> str | None:
        """Resolve a task's form reference: an exact relative path, else a unique file name."""
        if reference in self.files:
            return reference
        matches = [p for p in self.files if PurePosixPath(p).name == reference]
        return matches[0] if len(matches) == 1 else None


def read_bundle(directory: Path, max_bytes: int) -> Bundle:
    if not directory.is_dir():
        raise ModelInvalid([Problem(str(directory), None, "", "not a directory")])
    files: dict[str, bytes] = {}
    total = 0
    root = directory.resolve()
    for path in sorted(directory.rglob("*")):
        if path.suffix not in BUNDLE_SUFFIXES or not (path.is_file() or path.is_symlink()):
            continue
        relative = path.relative_to(directory).as_posix()
        if path.is_symlink() or not path.resolve().is_relative_to(root):
            # a link could hand the deploy any file the server may read
            raise ModelInvalid([Problem(relative, None, "", "a link is not a bundle file")])
        total += path.stat().st_size  # counted before reading: a huge file is never loaded
        if total > max_bytes:
            raise ModelInvalid([Problem(relative, None, "", f"bundle exceeds {max_bytes} bytes")])
        files[relative] = path.read_bytes()
    if not any(p.endswith(".bpmn") for p in files):
        raise ModelInvalid([Problem(str(directory), None, "", "bundle holds no .bpmn file")])
    return Bundle(files)


def bundle_from_uploads(uploads: Iterable[tuple[str, bytes]], max_bytes: int) -> Bundle:
    """A bundle from uploaded files; a name that could escape the bundle is refused, not cleaned."""
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    total = 0
    for name, content in uploads:
        path = _safe_relative_path(name)
        if path is None:
            problems.append(Problem("(upload)", None, "", "a file name is not a relative path"))
            continue
        if not path.endswith(BUNDLE_SUFFIXES):
            problems.append(Problem(path, None, "", "only .bpmn, .dmn and .json files belong"))
        elif path in files:
            problems.append(Problem(path, None, "", "the same file name is uploaded twice"))
        total += len(content)
        files[path] = content
    if total > max_bytes:
        problems.append(Problem("(upload)", None, "", f"bundle exceeds {max_bytes} bytes"))
    if not problems and not any(p.endswith(".bpmn") for p in files):
        problems.append(Problem("(upload)", None, "", "bundle holds no .bpmn file"))
    if problems:
        raise ModelInvalid(problems)
    return Bundle(files)


def _safe_relative_path(name: str) -> str | None:
    if not name or len(name) > 300 or "\\" in name or any(ord(c) < 32 for c in name):
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return path.as_posix()


def pack_files(files: dict[str, bytes]) -> bytes:
    """Store source files as one gzip'd JSON document (all BPMN/DMN/forms are text)."""
    text = {path: content.decode("utf-8") for path, content in sorted(files.items())}
    return gzip.compress(json.dumps(text, sort_keys=True).encode("utf-8"), mtime=0)


def unpack_files(packed: bytes) -> dict[str, bytes]:
    text = json.loads(gzip.decompress(packed))
    return {path: content.encode("utf-8") for path, content in text.items()}
