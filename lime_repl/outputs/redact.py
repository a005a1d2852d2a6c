"""Secret redaction of every text lime stores (DESIGN.md section 2, "Security").

A pure module: a :class:`Redactor` maps a text to the same text with secrets
replaced by ``[REDACTED]``. Two kinds of secret are recognised:

* the *value* of every environment variable whose name looks secret (it
  contains ``TOKEN``, ``KEY``, ``SECRET``, ``PASSWORD`` or ``CREDENTIAL``,
  case-insensitive) and that is at least :data:`MIN_SECRET_CHARS` (8)
  characters long, so that short values such as ``1`` or ``true`` do not
  blank out ordinary output. :meth:`Redactor.learn` adds the values of an
  environment seen later (the persistent shell reports its environment after
  every command, so ``export MY_TOKEN=…`` is known from that command on), and
  a value once learnt is never forgotten;
* strings shaped like a known kind of credential. The shapes are the rules of
  the ``detect-secrets`` package (Yelp): its keyword detector (a quoted value
  after ``password``, ``secret``, ``api_key`` … ) and its high-signal token
  detectors (AWS ``AKIA…``, GitHub ``ghp_…``, GitLab, Slack, Stripe, OpenAI,
  JWT, Discord, Telegram, PyPI, npm, SendGrid, Square, Azure storage keys, the
  password of a ``scheme://user:password@`` URL, private key headers). Three
  shapes that package does not match whole are added here: GitHub's
  fine-grained ``github_pat_…``, the ``sk-…`` key family (OpenAI, Anthropic
  ``sk-ant-…``), whole PEM private key blocks and whole three-part JWTs.

``detect-secrets`` is imported on the first redaction, never at start-up; with a
rules cache (:func:`use_rules_cache`; lime's is ``redact-rules.json`` in its
cache directory) only when its plugin files changed since the cache was written.
Redaction runs on the full text before it is capped (see
:mod:`lime_repl.outputs.capping` and :mod:`lime_repl.outputs.guard`), so a
key that straddles a cut is still seen whole. Only the log is redacted: the terminal shows the real output.
``redact = false`` in ``config.toml`` turns it off (the caller checks the
setting). This module imports nothing from lime.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "MIN_SECRET_CHARS",
    "REDACTED",
    "SECRET_NAME",
    "Redactor",
    "is_secret_name",
    "redact",
    "secret_values",
    "use_rules_cache",
]

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8

#: A variable whose name contains one of these words (any case) holds a secret.
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)

#: Shapes ``detect-secrets`` does not match whole; tried before its rules.
_EXTRA_SHAPES = (
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
    r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}",
    r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}",
    r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
)

#: The ``detect-secrets`` plugin modules whose ``denylist`` rules are used (high signal only:
#: no entropy, IP address or bare hex/alphanumeric-run detectors).
_PLUGINS = (
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

#: (pattern, group): the span of ``group`` is replaced (0 = the whole match).
_Rule = tuple["re.Pattern[str]", int]
_RULES: list[_Rule] | None = None
#: Bumped when what the rules cache holds changes.
_CACHE_VERSION = 1
_CACHE_PATH: str | os.PathLike[str] | None = None


def use_rules_cache(path: str | os.PathLike[str] | None) -> None:
    """Keep the ``detect-secrets`` rules in the JSON file ``path`` between processes (None: read the package).

    For the whole process (the rules are loaded once per process); call it before the first redaction.
    """
    global _CACHE_PATH
    _CACHE_PATH = path


def _load_rules(cache: str | os.PathLike[str] | None = None) -> list[_Rule]:
    """The shape rules, built once: the extra shapes, the plugins' denylists, the keyword rules.

    With ``cache`` (a JSON file), the ``detect-secrets`` rules are read from it
    when it was written from the same plugin files (their names, sizes and
    mtimes), so that a process does not import that package (about 0.1 s,
    it imports ``requests``) only to read its regular expressions; otherwise
    they are taken from the package and the file is (re)written. A cache that
    cannot be read or written is ignored.
    """
    global _RULES
    if _RULES is not None:
        return _RULES
    rules: list[_Rule] = [(re.compile(p), 0) for p in _EXTRA_SHAPES]
    key = _plugins_key() if cache is not None else None
    stored = _read_cache(cache, key) if cache is not None and key is not None else None
    if stored is None:
        stored = [(rx.pattern, rx.flags, group) for rx, group in _package_rules()]
        if cache is not None and key is not None:
            _write_cache(cache, key, stored)
    rules.extend((re.compile(pattern, flags), group) for pattern, flags, group in stored)
    _RULES = rules
    return rules


def _package_rules() -> list[_Rule]:
    """The plugins' denylists and the keyword rules, from the ``detect-secrets`` package itself."""
    import importlib

    rules: list[_Rule] = []
    for name in _PLUGINS:
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
    """What the cached rules were built from: each plugin file's name, size and mtime (None: not found)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("detect_secrets")  # finds the package without running it
        if spec is None or not spec.submodule_search_locations:
            return None
        plugins = os.path.join(list(spec.submodule_search_locations)[0], "plugins")
        key: list[Any] = [_CACHE_VERSION, plugins]
        for name in (*_PLUGINS, "keyword", "base"):
            st = os.stat(os.path.join(plugins, f"{name}.py"))
            key.append([name, st.st_size, st.st_mtime_ns])
    except (ImportError, OSError, ValueError):
        return None
    return key


def _read_cache(path: str | os.PathLike[str], key: list[Any]) -> list[tuple[str, int, int]] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("key") != key:
            return None
        return [(str(p), int(f), int(g)) for p, f, g in data["rules"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cache(path: str | os.PathLike[str], key: list[Any], rules: list[tuple[str, int, int]]) -> None:
    """Write the cache atomically (a temporary file renamed over it), owner-only; errors are ignored."""
    target = os.fspath(path)
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target) or ".", mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "rules": rules}, handle)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def is_secret_name(name: str) -> bool:
    """True when an environment variable called ``name`` holds a secret (see :data:`SECRET_NAME`)."""
    return SECRET_NAME.search(name) is not None


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of ``env`` that are secrets by name, longest first, without duplicates."""
    found = {
        value
        for name, value in env.items()
        if isinstance(name, str)
        and isinstance(value, str)
        and len(value) >= MIN_SECRET_CHARS
        and is_secret_name(name)
    }
    return sorted(found, key=lambda v: (-len(v), v))


def _replace(rule: _Rule) -> Callable[[re.Match[str]], str]:
    group = rule[1]

    def sub(match: re.Match[str]) -> str:
        if not group or match.group(group) is None:
            return REDACTED
        whole, start, end = (
            match.group(0),
            match.start(group) - match.start(),
            match.end(group) - match.start(),
        )
        return whole[:start] + REDACTED + whole[end:]

    return sub


class Redactor:
    """A redaction function for the secrets of ``env`` and the known credential shapes.

    Call it on any text (``redactor(text) -> str``; never raises for a
    ``str``). :meth:`learn` adds the secret values of another environment.
    The credential rules come from the cache named by :func:`use_rules_cache`, if any.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._known: set[str] = set()
        self._values: re.Pattern[str] | None = None
        if env:
            self.learn(env)

    def learn(self, env: Mapping[str, str]) -> None:
        """Remember the secret values of ``env`` (names as :func:`is_secret_name`), in addition to earlier ones."""
        new = set(secret_values(env)) - self._known
        if not new:
            return
        self._known |= new
        # One alternation, longest first, so a value that contains another is replaced whole.
        ordered = sorted(self._known, key=lambda v: (-len(v), v))
        self._values = re.compile("|".join(re.escape(v) for v in ordered))

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``.

        A text shorter than :data:`MIN_SECRET_CHARS` is returned as it is, without loading the
        credential rules: no secret value or credential shape is that short (a one-word prompt
        such as ``hi`` costs nothing).
        """
        if len(text) < MIN_SECRET_CHARS:
            return text
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        for rule in _load_rules(_CACHE_PATH):
            if rule[0].search(text) is not None:
                text = rule[0].sub(_replace(rule), text)
        return text

    def apply(self, value: Any) -> Any:
        """``value`` with every string inside it redacted (dicts and lists walked; others unchanged)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        return value


def redact(text: str, env: Mapping[str, str]) -> str:
    """``text`` with the secrets of ``env`` and credential-shaped strings replaced by ``[REDACTED]``.

    Example: ``redact("key=abcdefgh12", {"MY_API_KEY": "abcdefgh12"})`` is
    ``"key=[REDACTED]"``. Never raises for string input.
    """
    return Redactor(env)(text)
