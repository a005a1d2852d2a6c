"""Secret redaction (lime_repl.outputs.redact): what counts as a secret and what does not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from lime_repl.outputs.redact import REDACTED, Redactor, redact, secret_values

ENV = {
    "OPENAI_API_KEY": "sk-proj-abcdefghijklmnop1234",
    "GITHUB_TOKEN": "ghp_0123456789abcdef",
    "AWS_SECRET": "wJalrXUtnFEMI/K7MDENG",
    "my_db_key": "lowercase-name-value",
    "SHORT_TOKEN": "1234567",  # under 8 characters: not a secret
    "HOME": "/home/ann",
    "EDITOR": "not-matched-by-name",
}


def test_values_of_secret_names_are_redacted() -> None:
    text = "a ghp_0123456789abcdef b wJalrXUtnFEMI/K7MDENG c lowercase-name-value d"
    assert redact(text, ENV) == f"a {REDACTED} b {REDACTED} c {REDACTED} d"


def test_short_values_and_other_names_are_kept() -> None:
    text = "1234567 /home/ann not-matched-by-name"
    assert redact(text, ENV) == text


def test_sk_shaped_strings_are_redacted_without_env() -> None:
    text = (
        "key sk-abcdefghijklmnopqrstuvwx and sk-ant-api03-AAAAbbbbCCCCdddd_-x1, not sk-learn or task-sk-short"
    )
    assert redact(text, {}) == f"key {REDACTED} and {REDACTED}, not sk-learn or task-sk-short"


def test_sk_inside_a_word_is_not_a_key() -> None:
    assert redact("disk-abcdefghijklmnopqrstuv", {}) == "disk-abcdefghijklmnopqrstuv"


def test_longest_value_first_and_every_occurrence() -> None:
    env = {"A_KEY": "abcdefgh", "B_KEY": "abcdefgh-longer"}
    assert secret_values(env) == ["abcdefgh-longer", "abcdefgh"]
    assert redact("abcdefgh-longer abcdefgh abcdefgh", env) == " ".join([REDACTED] * 3)


def test_regex_characters_in_values_are_literal() -> None:
    env = {"X_SECRET": "a.b*c+d?(e)"}
    assert redact("a.b*c+d?(e) axbbcd", env) == f"{REDACTED} axbbcd"


def test_redactor_is_reusable_and_empty_text_is_fine() -> None:
    scrub = Redactor(ENV)
    assert scrub("") == ""
    assert scrub("token ghp_0123456789abcdef") == f"token {REDACTED}"
    assert scrub("nothing secret") == "nothing secret"


def test_names_that_look_secret_anywhere_in_the_name() -> None:
    env = {
        "MY_SERVICE_TOKEN": "value-one-123",
        "DB_PASSWORD": "value-two-456",
        "GCP_CREDENTIALS_JSON": "value-three-789",
        "KEYRING_PATH_SECRETLY": "value-four-000",
        "EDITOR": "value-five-111",
    }
    assert secret_values(env) == ["value-three-789", "value-four-000", "value-one-123", "value-two-456"]


def test_learn_adds_values_and_never_forgets() -> None:
    scrub = Redactor({"A_TOKEN": "first-value-1"})
    scrub.learn({"MY_SERVICE_TOKEN": "notskshaped_supersecret_123"})
    scrub.learn({})  # a later environment without them: both are still secrets
    assert scrub("first-value-1 notskshaped_supersecret_123") == f"{REDACTED} {REDACTED}"


def test_common_token_shapes_from_detect_secrets_and_the_extra_shapes() -> None:
    shapes = [
        "AKIA" + "Z7Q2W4E6R8T1Y3U5",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "github_pat_" + "11ABCDEFG0" + "x" * 20 + "_" + "Yz" * 20,
        "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "glpat-" + "x" * 20,
    ]
    for shape in shapes:
        assert redact(f"a {shape} b", {}) == f"a {REDACTED} b", shape
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
    assert redact(f"key:\n{pem}\nafter", {}) == f"key:\n{REDACTED}\nafter"


def test_keyword_and_url_password_rules_replace_only_the_secret() -> None:
    assert redact('password = "hunter2hunter2"', {}) == f'password = "{REDACTED}"'
    assert redact("https://bob:pw123456@example.com/x", {}) == f"https://bob:{REDACTED}@example.com/x"
    plain = "the password prompt appeared; token count 12; see AKIA docs"
    assert redact(plain, {}) == plain


def test_keyword_rules_still_run_on_every_spelling_of_a_keyword() -> None:
    # The keyword rules are skipped for a text holding no keyword stem; a keyword in any case,
    # including the characters that case-fold to ASCII (KELVIN SIGN, LONG S), still reaches them.
    for name in ("PASSWORD", "Api_Key", "db_pass", "client\u212aey", "pa\u017f\u017fword", "contraseña"):
        text = f'{name} = "hunter2hunter2" and a long line after it ' + "x" * 5000
        assert redact(text, {}) == text.replace("hunter2hunter2", REDACTED), name
    huge = "H" * 100_000 + ' secret = "s3cr3t-value-here"' + "E" * 100_000
    assert redact(huge, {}) == huge.replace("s3cr3t-value-here", REDACTED)


_CACHED = """
import json, sys
from lime_repl.outputs.redact import Redactor, use_rules_cache
use_rules_cache(sys.argv[1])
scrub = Redactor({})
samples = json.loads(sys.argv[2])
print(json.dumps({"out": [scrub(s) for s in samples], "package": "detect_secrets" in sys.modules}))
"""


def _redact_in_new_process(cache: Path, samples: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CACHED, str(cache), json.dumps(samples)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_rules_cache_gives_the_same_redaction_without_importing_detect_secrets(tmp_path: Path) -> None:
    samples = [
        "key AKIAIOSFODNN7EXAMPLE here",
        "token xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
        'password = "hunter2hunter2"',
        "https://user:s3cretpassw0rd@example.com/x",
        "nothing secret in this line at all",
    ]
    cache = tmp_path / "cache" / "redact-rules.json"
    first = _redact_in_new_process(cache, samples)
    assert first["package"] and cache.is_file()
    assert "PRIVATE KEY" not in cache.read_text()  # no credential shape's text in lime's own files
    assert first["out"] == [Redactor({})(s) for s in samples]
    assert first["out"][0] == f"key {REDACTED} here" and first["out"][-1] == samples[-1]
    second = _redact_in_new_process(cache, samples)
    assert second == {"out": first["out"], "package": False}
    # A cache written from other plugin files (another detect-secrets) is not used, and is rewritten.
    data = json.loads(cache.read_text())
    data["key"][-1][1] += 1
    data["rules"] = []
    cache.write_text(json.dumps(data))
    third = _redact_in_new_process(cache, samples)
    assert third == {"out": first["out"], "package": True}
    assert json.loads(cache.read_text())["rules"]
    # A damaged cache is ignored.
    cache.write_text("{not json")
    assert _redact_in_new_process(cache, samples) == {"out": first["out"], "package": True}


def test_required_literals_are_what_every_match_contains() -> None:
    from lime_repl.outputs.redact_rules import required_literals

    assert required_literals("ab?cdef") == (["cdef"], re.UNICODE)
    assert required_literals("(?:foo|barbaz)[0-9]+") == (["foo", "barbaz"], re.UNICODE)
    assert required_literals("x(?:foo|[a-z]+)y")[0] == ["x"]  # a branch without a literal gives nothing
    assert required_literals("(?:AB)?[0-9]+")[0] is None  # optional parts give nothing
    assert required_literals("a(?i:bcdef)")[0] == ["a"]  # a group that changes the flags gives nothing
    # Case-insensitive: lower-cased ASCII runs only (a non-ASCII pattern character may match ASCII text).
    assert required_literals("(?i)PassWORD") == (["password"], re.IGNORECASE | re.UNICODE)
    assert required_literals("contraseña", re.IGNORECASE)[0] == ["contrase"]
    assert required_literals("ſecret", re.IGNORECASE)[0] == ["ecret"]
    assert re.search("(?i)ſecret", "SECRET") is not None  # why: ſ matches s without case


def test_the_pre_check_never_skips_a_rule_that_matches() -> None:
    from lime_repl.outputs.redact_rules import load_rules

    texts = [
        "key AKIAIOSFODNN7EXAMPLE here",
        "ASIAY34FZKBOKMUTVV7A and A3T0ABCDEFGHIJKLMNOP",
        'AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
        'Aws pwd: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
        "token xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
        "XOXP-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
        "https://HOOKS.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        'password = "hunter2hunter2"',
        'PASSWORD: "hunter2hunter2"',
        'my_api_key = "abcdef0123456789"',
        "secret == 'abcdefgh12345'",
        'contraseña = "hunter2hunter2"',
        'ſecret = "hunter2hunter2"',
        "https://user:s3cretpassw0rd@example.com/x",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "github_pat_" + "11ABCDEFG0" + "x" * 20,
        "glpat-" + "x" * 20,
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "sk-ant-" + "a" * 30,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        "AccountKey=" + "a" * 88,
        "SG." + "a" * 22 + "." + "b" * 43,
        "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz",
        "123456789:" + "A" * 35,
        "pypi-AgEIcHlwaS5vcmc" + "a" * 70,
        "sq0csp-" + "a" * 43,
        "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
        "nothing secret in this line at all",
    ]
    matched = 0
    for rule in load_rules():
        for text in texts:
            if rule.pattern.search(text) is not None:
                matched += 1
                assert rule.may_match(text), (rule.source, text)
    assert matched >= 25  # the texts really exercise the rules
