r"""The exported environment in a status record: bash's own ``declare -px`` listing, read back.

bash prints it with one builtin call, so reporting the environment after a
command costs no fork and one write (a loop over ``compgen -e`` cost a
command substitution, that is a fork, plus a redirected ``printf`` per
variable: about 90 % of a ``!true`` line). The listing is one line per
variable, as bash's ``builtins/setattr.def`` (``show_var_attributes``) prints it::

    declare -x NAME="value"      (sh_double_quote: \" \\ \$ \` escaped)
    declare -x NAME=$'a\nb'      (ansic_quote, bash 5.2, for values with
                                  unprintable bytes: \E \a \b \f \n \r \t \v
                                  \\ \' and \ooo octal)
    declare -x NAME              (exported, never set: left out)
    declare -ax NAME=([0]="1")   (arrays: bash never exports them; left out)

Older bash prints every value in double quotes, a newline in it as is; both
forms are read here. Values are bytes in the shell and are ``os.fsdecode``-d,
as the names are.
"""

from __future__ import annotations

import os
import re

__all__ = ["parse_exports"]

_DECLARE = re.compile(
    rb'declare -[A-Za-z-]* ([^\s=]+)(?:=(?:"((?:[^"\\]|\\.)*)"|\$\'((?:[^\'\\]|\\.)*)\'))?\n',
    re.DOTALL,
)
# The two escape patterns compile at first use (re's own cache): most environments have neither form.
_DQ_ESCAPE = rb"\\(.)"
_ANSIC_ESCAPE = rb"\\([0-7]{1,3}|.)"
_ANSIC = {
    b"E": b"\x1b", b"e": b"\x1b", b"a": b"\a", b"b": b"\b", b"f": b"\f",
    b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v",
    b"\\": b"\\", b"'": b"'", b'"': b'"', b"?": b"?",
}  # fmt: skip


def _ansic(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if code[:1].isdigit() and code[:1] < b"8":
        return bytes([int(code, 8) & 0xFF])
    return _ANSIC.get(code, b"\\" + code)


_last: tuple[bytes, dict[str, str]] = (b"", {})


def parse_exports(listing: bytes) -> dict[str, str]:
    """``{name: value}`` of the set, exported, non-array variables in a ``declare -px`` listing (a new dict).

    Names and values are ``os.fsdecode``-d. The lines are read one after the
    other (a value is never searched for a line); one that is not a
    ``declare`` line is skipped. The listing of the last call is remembered:
    most commands export nothing, and the same listing is not read twice.
    """
    global _last
    if listing == _last[0]:
        return dict(_last[1])
    env = _read(listing)
    _last = (listing, env)
    return dict(env)


def _read(listing: bytes) -> dict[str, str]:
    env: dict[str, str] = {}
    pos = 0
    while pos < len(listing):
        match = _DECLARE.match(listing, pos)
        if match is None:  # not a scalar declare line (an array's ``NAME=(...)``): skip it
            end = listing.find(b"\n", pos)
            pos = len(listing) if end < 0 else end + 1
            continue
        pos = match.end()
        name, quoted, ansic = match.groups()
        if quoted is None and ansic is None:
            continue  # exported, never set
        if quoted is not None:
            value = re.sub(_DQ_ESCAPE, rb"\1", quoted, flags=re.DOTALL) if b"\\" in quoted else quoted
        else:
            value = re.sub(_ANSIC_ESCAPE, _ansic, ansic, flags=re.DOTALL)
        env[os.fsdecode(name)] = os.fsdecode(value)
    return env
