"""The credential-shape rules of :mod:`lime_repl.outputs.redact`: where they come from, and how they stay cheap.

The rules are the ``denylist`` regular expressions of the high-signal
``detect-secrets`` plugins (Yelp) and its keyword rule, after four shapes of
lime's own (:data:`EXTRA_SHAPES`). Two costs are kept out of a process that
only runs a ``!`` line:

* importing ``detect-secrets`` (about 0.1 s: it imports ``requests``). The
  rules' sources are kept in a JSON cache (:func:`use_rules_cache`; lime's is
  ``redact-rules.json`` in its cache directory), keyed by the plugin files'
  names, sizes and mtimes and the Python version, and rewritten when those
  change. The rules are stored base64-encoded, so that their text (a literal
  ``BEGIN RSA PRIVATE KEY``) is not in lime's files for a secret scanner to
  flag. A cache that cannot be read or written is ignored;
* compiling some forty regular expressions. Each rule carries the literals
  one of which every match must contain (:func:`required_literals`, read
  from the pattern's parse tree); a rule whose literals are all absent from
  a text cannot match it and is neither compiled nor run. A case-insensitive
  rule is filtered only on ASCII text (lower-cased), where lower-casing is
  exactly how such a rule compares; on other text it always runs.

This module imports nothing from lime.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sys
from typing import Any

__all__ = ["EXTRA_SHAPES", "Rule", "load_rules", "required_literals", "use_rules_cache"]

#: Shapes ``detect-secrets`` does not match whole; tried before its rules.
EXTRA_SHAPES = (
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
    r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}",
    r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}",
    r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
)

#: The ``detect-secrets`` plugin modules whose ``denylist`` rules are used (high signal only:
#: no entropy, IP address or bare hex/alphanumeric-run detectors).
PLUGINS = (
    "aws",
    "azure_storage_key",
    "basic_auth",
    "discord",
    "github_token",
    "gitlab_token",
    "jwt",
    "npm",
    "openai",
    "private_key",
    "pypi_token",
    "sendgrid",
    "slack",
    "square_oauth",
    "stripe",
    "telegram_token",
)

#: Plugins whose rules with a capture group capture the secret itself (elsewhere a group is a prefix).
_SECRET_GROUP_PLUGINS = frozenset({"aws", "basic_auth", "npm"})
#: Bumped when what the rules cache holds changes.
_CACHE_VERSION = 3
_CACHE_PATH: str | os.PathLike[str] | None = None
_CACHE_WRITE = True  # whether load_rules may write the cache file (use_rules_cache)
_RULES: list[Rule] | None = None


class Rule:
    """One credential shape: its pattern (compiled when first needed), the group replaced, its literals.

    ``group`` 0 replaces the whole match. ``literals``: every match contains
    one of them (ASCII and lower-cased for a case-insensitive pattern:
    :func:`required_literals`), or None when no such literal is known (the
    rule always runs).
    """

    __slots__ = ("_compiled", "flags", "group", "literals", "nocase", "source")

    def __init__(self, source: str, flags: int, group: int, literals: list[str] | None) -> None:
        self.source, self.flags, self.group = source, flags, group
        self.nocase = bool(flags & re.IGNORECASE)
        self.literals = literals
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled pattern (compiled on first use)."""
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled

    def may_match(self, text: str) -> bool:
        """False only when the pattern cannot match ``text`` (none of its literals is in it)."""
        literals = self.literals
        if not literals:
            return True
        if self.nocase:
            if not text.isascii():
                return True
            text = text.lower()
        return any(lit in text for lit in literals)


def use_rules_cache(path: str | os.PathLike[str] | None, *, write: bool = True) -> None:
    """Keep the ``detect-secrets`` rules in the JSON file ``path`` between processes (None: read the package).

    For the whole process (the rules are loaded once per process); call it before the first redaction.
    ``write=False`` reads the file when it is there and current, and never writes it (an import writes
    no file but its session's).
    """
    global _CACHE_PATH, _CACHE_WRITE
    _CACHE_PATH, _CACHE_WRITE = path, write


def load_rules() -> list[Rule]:
    """The shape rules, built once per process: :data:`EXTRA_SHAPES`, the plugins' denylists, the keyword rules."""
    global _RULES
    if _RULES is not None:
        return _RULES
    cache = _CACHE_PATH
    key = _plugins_key() if cache is not None else None
    stored = _read_cache(cache, key) if cache is not None and key is not None else None
    if stored is None:
        sources = [(p, 0, 0) for p in EXTRA_SHAPES] + [(rx.pattern, rx.flags, g) for rx, g in _package()]
        stored = []
        for source, flags, group in sources:
            literals, flags = required_literals(source, flags)
            stored.append((source, flags, group, literals))
        if cache is not None and key is not None and _CACHE_WRITE:
            _write_cache(cache, key, stored)
    _RULES = [Rule(*item) for item in stored]
    return _RULES


def required_literals(pattern: str, flags: int = 0) -> tuple[list[str] | None, int]:
    """``(literals, flags)``: strings one of which every match of ``pattern`` contains (None when none is
    known), and the pattern's flags with its inline global flags (``(?i)``) added.

    Read from the parse tree of Python's own ``re`` parser: the longest run
    of literal characters that every match must pass through, at the top
    level or inside a group, a repeat of at least once, or every branch of
    an alternation (then one literal per branch). A group that changes the
    flags gives nothing. For a case-insensitive pattern each literal is cut
    to its longest ASCII run, lower-cased: on ASCII text an ASCII pattern
    character matches only its ASCII case variants, while a non-ASCII one
    may match an ASCII character (``ſ`` matches ``s``). On any failure
    (another Python's parser) the literals are None: the rule then always runs.
    """
    try:
        from re import _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern, flags)
        flags = parsed.state.flags
        found = _required(parsed.data, _parser)
    except Exception:  # an internal parser: anything unexpected means "no literal known"
        return None, flags
    if found and flags & re.IGNORECASE:
        found = [max(re.findall(r"[\x00-\x7f]+", lit), key=len, default="").lower() for lit in found]
    return (found if found and all(found) else None), flags


def _required(items: Any, p: Any) -> list[str] | None:
    """The best "one of these literals" requirement of a sequence of parse items (None: none)."""
    candidates: list[list[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is p.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append(["".join(run)])
            run = []
        found: list[str] | None = None
        if op is p.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            found = None if add_flags or del_flags else _required(sub.data, p)
        elif op in (p.MAX_REPEAT, p.MIN_REPEAT, getattr(p, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
            found = _required(av[2].data, p)
        elif op is p.BRANCH:
            branches = [_required(branch.data, p) for branch in av[1]]
            if all(branches):
                found = [lit for branch in branches for lit in branch or ()]
        if found:
            candidates.append(found)
    if run:
        candidates.append(["".join(run)])
    # The best requirement is the one whose shortest literal is longest (the rarest in ordinary text).
    return max(candidates, key=lambda c: min(map(len, c)), default=None)


def _package() -> list[tuple[re.Pattern[str], int]]:
    """The plugins' denylists and the keyword rules, from the ``detect-secrets`` package itself."""
    import importlib

    rules: list[tuple[re.Pattern[str], int]] = []
    for name in PLUGINS:
        module = importlib.import_module(f"detect_secrets.plugins.{name}")
        for value in vars(module).values():
            denylist = getattr(value, "denylist", None)
            if isinstance(value, type) and denylist and value.__module__ == module.__name__:
                # A rule with a capture group names the secret by it (e.g. the password of a URL).
                grouped = name in _SECRET_GROUP_PLUGINS
                rules.extend((rx, 1 if grouped and rx.groups else 0) for rx in denylist)
    from detect_secrets.plugins import keyword

    rules.extend(keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items())
    return rules


def _plugins_key() -> list[Any] | None:
    """What the cached rules were built from: Python's version, each plugin file's name, size and mtime."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("detect_secrets")  # finds the package without running it
        if spec is None or not spec.submodule_search_locations:
            return None
        plugins = os.path.join(list(spec.submodule_search_locations)[0], "plugins")
        key: list[Any] = [_CACHE_VERSION, list(sys.version_info[:2]), plugins]
        for name in (*PLUGINS, "keyword", "base"):
            st = os.stat(os.path.join(plugins, f"{name}.py"))
            key.append([name, st.st_size, st.st_mtime_ns])
    except (ImportError, OSError, ValueError):
        return None
    return key


_Stored = tuple[str, int, int, "list[str] | None"]


def _read_cache(path: str | os.PathLike[str], key: list[Any]) -> list[_Stored] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("key") != key:
            return None
        rules: list[_Stored] = []
        for source, flags, group, literals in json.loads(base64.b64decode(data["rules"], validate=True)):
            if literals is not None and not (
                isinstance(literals, list) and all(isinstance(x, str) for x in literals)
            ):
                return None
            rules.append((str(source), int(flags), int(group), literals))
        return rules
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cache(path: str | os.PathLike[str], key: list[Any], rules: list[_Stored]) -> None:
    """Write the cache atomically (a temporary file renamed over it), owner-only; errors are ignored."""
    target = os.fspath(path)
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target) or ".", mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            # base64: the rules' text (a literal "BEGIN RSA PRIVATE KEY") must not make a secret scanner
            # flag lime's own cache, nor a search of the profile for a secret find it
            encoded = base64.b64encode(json.dumps(rules).encode("utf-8")).decode("ascii")
            json.dump({"key": key, "rules": encoded}, handle)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
