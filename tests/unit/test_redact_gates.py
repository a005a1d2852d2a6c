"""The redaction gates (lime_repl.outputs.redact_gates) never change what is redacted, only what it costs.

Each check compares the gated :class:`Redactor` with the rules run the plain way
(every rule's ``search`` and ``sub`` on every text), the way redaction worked
before the gates.
"""

from __future__ import annotations

import json
import re

import pytest

from lime_repl.outputs import redact as redact_module
from lime_repl.outputs.redact import REDACTED, Redactor
from lime_repl.outputs.redact_gates import GATES, fold
from lime_repl.outputs.redact_rules import load_rules


def plain(text: str) -> str:
    """Every rule, ungated, in order: the reference result."""
    if len(text) < redact_module.MIN_SECRET_CHARS:
        return text
    for rule in load_rules():
        if rule.pattern.search(text) is not None:
            text = rule.pattern.sub(redact_module._replace(rule.group), text)
    return text


SAMPLES = [
    "password = 'hunter2hunter2'",
    'api_key: "abcdefgh12345678"',
    "PASSWORD='Sup3rSecretValue'",
    "pa\u017f\u017fword = 'long-s-value-1'",  # U+017F matches s when ignoring case
    "api_\u212aey = 'kelvin-sign-value'",  # U+212A matches k
    "pr\u0130vate_key => 'dotted-capital-i'",  # U+0130 matches i
    "pr\u0131vate_key => 'dotless-i'",
    "db_pass: `backtick-value`",
    "database_key == \"abc\"",
    "'hunter2' == password",
    '"xyz12345" != secret_token',
    "const secret = \"value-with-no-end",
    "my_secret_value = 'a' + 'b'; other_key=\"c\";",
    "contraseña = 'español'",
    "keyboard monkey turkey donkey passage compass",  # anchors without keywords
    "AKIAABCDEFGHIJKLMNOP and ASIA0123456789ABCDEF",
    "token ghp_" + "a" * 36 + " and github_pat_" + "b" * 30,
    "sk-" + "c" * 30 + " disk-" + "d" * 30,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_part-1",
    "https://user:p4ssw0rd@example.com/path and ftp://a:b@c",
    "xoxb-1234-5678-abcdefg and XOXP-12-34-zz",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
    "M" + "a" * 23 + "." + "b" * 6 + "." + "c" * 27,
    "123456789:" + "A" * 35,
    "glpat-" + "x" * 20 + " GR1348941" + "y" * 20 + " glagent-" + "z" * 50,
    "SG." + "a" * 22 + "." + "b" * 43,
    "sk_live_" + "0" * 24 + " rk_live_" + "1" * 24,
    "AccountKey=" + "A" * 88,
    "//registry.npmjs.org/:_authToken=npm_abcdef",
    "aws_secret_access_key = '" + "A" * 40 + "'",
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "nothing secret here at all, just prose.",
    "key = '[REDACTED]' and password = \"x[REDACTED]y\"",
]


def test_every_rule_has_a_gate() -> None:
    """A rule without a gate still runs (always), but a new ``detect-secrets`` rule should be given one."""
    missing = [rule.source for rule in load_rules() if rule.source not in GATES]
    assert missing == []


@pytest.mark.parametrize("text", SAMPLES)
def test_gated_redaction_is_the_plain_result(text: str) -> None:
    redactor = Redactor({})
    assert redactor(text) == plain(text)
    # Each sample inside a larger text, between others: the same as the plain rules give.
    joined = "\n".join([SAMPLES[0], text, "prefix " + text + " suffix"])
    assert redactor(joined) == plain(joined)


def test_samples_really_hold_secrets() -> None:
    """The samples exercise the rules: most of them are redacted."""
    redactor = Redactor({})
    assert sum(REDACTED in redactor(text) for text in SAMPLES) >= 25


def test_fold_matches_what_ignorecase_matches() -> None:
    """Every character ``re.IGNORECASE`` matches to an ASCII letter folds to that letter, one for one."""
    letters = re.compile("[a-z]", re.IGNORECASE)
    for code in range(0x110000):
        char = chr(code)
        if letters.fullmatch(char):
            folded = fold(char)
            assert len(folded) == 1 and folded.isascii() and re.fullmatch(folded, char, re.IGNORECASE), hex(code)
    text = "A\u0130\u0131\u017f\u212aé"
    assert len(fold(text)) == len(text)


def test_for_json_skips_a_clean_entry_and_narrows_a_dirty_one() -> None:
    redactor = Redactor({"MY_TOKEN": 'quote"and\\slash\nvalue'})
    clean = {"type": "message", "content": [{"type": "text", "text": "nothing to see"}]}
    assert redactor.for_json(json.dumps(clean, ensure_ascii=False)) is None
    for text in [*SAMPLES, 'a quote"and\\slash\nvalue inside']:
        entry = {"type": "message", "content": [{"type": "text", "text": text}]}
        line = json.dumps(entry, ensure_ascii=False)
        expected = redactor(text)
        for narrowed in (redactor.for_json(line), redactor.for_json(line, line.encode("utf-8"))):
            if expected != text:
                assert narrowed is not None, text
            if narrowed is not None:
                assert narrowed(text) == expected


def test_a_secret_value_is_found_through_json_escapes() -> None:
    value = 'quote"and\\slash\nvalue'
    redactor = Redactor({"MY_TOKEN": value})
    line = json.dumps({"text": f"before {value} after"}, ensure_ascii=False)
    narrowed = redactor.for_json(line)
    assert narrowed is not None
    assert narrowed(f"before {value} after") == f"before {REDACTED} after"
