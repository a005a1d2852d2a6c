"""Secret redaction (lime_repl.store.redact): what counts as a secret and what does not."""

from __future__ import annotations

from lime_repl.store.redact import REDACTED, Redactor, redact, secret_values

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
