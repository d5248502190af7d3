"""Reading a config file safely: bounded in size, depth and alias expansion, strictly UTF-8.

A config is a small hand-written file, so anything far outside that shape is refused with one
line before it can cost time or memory: a binary or mis-encoded file, nesting deeper than any
config needs (PyYAML composes recursively: 20,000 levels end in ``RecursionError``), aliases that
expand to millions of values (an "alias bomb": the file is tiny, the expanded value is not, and
pydantic or an error message would walk all of it), and a key given twice (YAML keeps the last
one silently; the user meant one of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from cwparity.errors import ConfigError

#: far above any real config (the guide's is 3.5 KiB; 2,000 routes take ~65 KiB), and small
#: enough to be read and validated in about a second on a busy machine: composing and
#: constructing are pure Python (512 KiB, 15,700 routes: 1.5 s of CPU, measured)
MAX_BYTES = 256 * 1024
#: a config nests about 6 levels (routes.0.tolerances.count.slack)
MAX_DEPTH = 32
#: values after expanding every alias: a 2,000-route config has ~20,000
MAX_NODES = 200_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class LimitError(yaml.YAMLError):
    """The document is outside what a config can be; ``key`` is where it was found."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key, self.problem = key, problem


class _PythonParser(Reader, Scanner, Parser):
    """PyYAML's own event parser, where libyaml is not installed."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


try:  # libyaml parses events ~30 times faster; composing stays in Python, where it is bounded
    from yaml._yaml import CParser as _EventParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _EventParser = _PythonParser  # type: ignore[misc, assignment]


class BoundedLoader(Composer, _EventParser, SafeConstructor, Resolver):  # type: ignore[misc]
    """PyYAML's safe loader with a composer that measures every node as it composes it: depth,
    the size it expands to (an alias counts as everything it points at) and duplicate keys.
    (libyaml's own loader composes in C, recursively and unmeasured: only its events are used.)"""

    def __init__(self, stream: str) -> None:
        _EventParser.__init__(self, stream)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        Composer.__init__(self)
        self._path: list[str] = []
        self._size: dict[int, int] = {}
        self._height: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._path.append(_segment(parent, index))
        if len(self._path) > MAX_DEPTH:
            raise LimitError(self._key(), f"nested deeper than {MAX_DEPTH} levels")
        alias = self.check_event(yaml.AliasEvent)
        node = super().compose_node(parent, index)
        if alias and id(node) not in self._size:
            raise LimitError(self._key(), "an alias refers to the value it is inside of")
        if not alias:
            self._measure(node)
        self._path.pop()
        return node

    def _measure(self, node: Node) -> None:
        children = _children(node)
        size = 1 + sum(self._size[id(child)] for child in children)
        height = 1 + max((self._height[id(child)] for child in children), default=0)
        if size > MAX_NODES:
            raise LimitError(
                self._key(), f"more than {MAX_NODES:,} values (counting what aliases expand to)"
            )
        # the node itself is the path's last part; an alias's target brings its own height
        if height + len(self._path) - 1 > MAX_DEPTH:
            raise LimitError(self._key(), f"nested deeper than {MAX_DEPTH} levels (aliases too)")
        if isinstance(node, MappingNode):
            _reject_duplicate_keys(node, self._key())
        self._size[id(node)], self._height[id(node)] = size, height

    def _key(self) -> str:
        parts = [part for part in self._path if part]
        if len(parts) > 6:  # a deep path: where it starts says enough
            parts = [*parts[:4], "…"]
        return ".".join(parts) or "(top level)"


def _segment(parent: Node | None, index: Any) -> str:
    if isinstance(parent, SequenceNode):
        return str(index)
    if isinstance(parent, MappingNode):
        return printable_key(index.value) if isinstance(index, ScalarNode) else ""
    return ""


def printable_key(key: str, limit: int = 60) -> str:
    """A key as an error line can show it: control characters escaped, a long one cut short."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(key)[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _reject_duplicate_keys(node: MappingNode, where: str) -> None:
    seen: set[tuple[str, str]] = set()
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
            continue
        if (key.tag, key.value) in seen:
            line = key.start_mark.line + 1
            name = printable_key(key.value)
            full = name if where == "(top level)" else f"{where}.{name}"
            raise LimitError(full, f"given twice (again on line {line}): keep one")
        seen.add((key.tag, key.value))


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte-order mark allowed), or one line saying what it is."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file: {err.strerror or err}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_BYTES // 1024} KiB: too large for a config file"
        )
    if data.startswith(b"\x1f\x8b"):
        raise ConfigError(f"{path}: gzip-compressed, not YAML text: decompress it first")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: UTF-16 text: save the file as UTF-8")
    if (nul := data.find(b"\0")) >= 0:
        raise ConfigError(f"{path}: a binary file (a NUL byte at offset {nul}), not YAML text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        byte = data[err.start]
        raise ConfigError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{byte:02x}): save the file as UTF-8"
        ) from None


def load_yaml(path: Path) -> Any:
    """The file's one YAML document as plain data; every failure is one ``ConfigError`` line."""
    text = read_text(path)
    loader = None
    try:
        loader = BoundedLoader(text)
        return loader.get_single_data()
    except LimitError as err:
        raise ConfigError(f"{path}: key '{err.key}': {err.problem}") from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1 if isinstance(err.position, int) else "?"
        raise ConfigError(f"{path}: line {line}: a control character YAML does not allow") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: {_yaml_problem(err)}") from None
    except (ValueError, OverflowError) as err:
        # a scalar of a tagged type it cannot be (a date 2026-13-01, an !!int with 5,000 digits)
        problem = " ".join(str(err).split())[:200]
        raise ConfigError(f"{path}: a value YAML cannot read: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}: " if mark else ""
    problem = getattr(err, "problem", None) or getattr(err, "reason", None) or "not valid YAML"
    return where + " ".join(str(problem).split())
