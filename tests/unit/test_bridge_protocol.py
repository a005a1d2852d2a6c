"""The bridge's JSON-RPC framing: line parsing, request validation, params checking, output encoding."""

from __future__ import annotations

import io
import json
import threading

import pytest

from lime_repl.bridge.protocol import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    LineWriter,
    RpcError,
    check_params,
    encode,
    parse_line,
    read_lines,
)


def test_lines_split_on_lf_only() -> None:
    data = '{"a":"x\u2028y\u2029z\x85w\rv"}\r\n{"b":1}\nlast'.encode()
    assert list(read_lines(io.BytesIO(data))) == [
        '{"a":"x\u2028y\u2029z\x85w\rv"}\r\n'.encode(),
        b'{"b":1}\n',
        b"last",
    ]


def test_parse_requests_notifications_and_batches() -> None:
    assert parse_line(b"  \r\n") is None
    [[request], batch] = parse_line(b'{"jsonrpc":"2.0","id":"7","method":"m","params":{"k":1}}\r\n')  # type: ignore[misc]
    assert (request.id, request.method, request.params, request.notification, batch) == (
        "7",
        "m",
        {"k": 1},
        False,
        False,
    )
    [[note], _] = parse_line(b'{"jsonrpc":"2.0","method":"m"}')  # type: ignore[misc]
    assert note.notification and note.params == {} and note.error is None
    [[null_id], _] = parse_line(b'{"jsonrpc":"2.0","id":null,"method":"m"}')  # type: ignore[misc]
    assert null_id.id is None and not null_id.notification
    requests, batch = parse_line(b'[{"jsonrpc":"2.0","id":1,"method":"a"},5]')  # type: ignore[misc]
    assert batch and requests[0].method == "a"
    assert requests[1].error is not None and requests[1].error.code == INVALID_REQUEST


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"{", PARSE_ERROR),
        (b"\xff", PARSE_ERROR),
        (b"[" * 100_000, PARSE_ERROR),
        (b"[]", INVALID_REQUEST),
        (b'"text"', INVALID_REQUEST),
        (b'{"jsonrpc":"1.0","id":1,"method":"m"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":true,"method":"m"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":{},"method":"m"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":"m","params":3}', INVALID_REQUEST),
    ],
)
def test_bad_lines(line: bytes, code: int) -> None:
    [[request], _] = parse_line(line)  # type: ignore[misc]
    assert request.error is not None and request.error.code == code and not request.notification


def test_check_params() -> None:
    spec = {"sessionId": (str,)}
    optional = {"limit": (int,), "label": (str, type(None))}
    assert check_params({"sessionId": "a"}, spec, optional) == {
        "sessionId": "a",
        "limit": None,
        "label": None,
    }
    assert check_params({"sessionId": "a", "label": None, "limit": 2}, spec, optional)["limit"] == 2
    for bad, message in [
        ({}, "missing parameter 'sessionId'"),
        ({"sessionId": 1}, "parameter 'sessionId' must be a string"),
        ({"sessionId": "a", "limit": True}, "parameter 'limit' must be an integer"),
        ({"sessionId": "a", "extra": 1}, "unknown parameter 'extra'"),
        (["a"], "params must be an object (by-name parameters)"),
    ]:
        with pytest.raises(RpcError) as caught:
            check_params(bad, spec, optional)
        assert (caught.value.code, caught.value.message) == (INVALID_PARAMS, message)


def test_encode_escapes_every_line_separator_but_keeps_utf8() -> None:
    line = encode({"t": "é\u2028\u2029\x85\n"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line == b'{"t":"\xc3\xa9\\u2028\\u2029\\u0085\\n"}\n'
    assert json.loads(line)["t"] == "é\u2028\u2029\x85\n"
    assert len(line.decode().splitlines()) == 1


def test_writer_keeps_lines_whole_across_threads() -> None:
    out = io.BytesIO()
    writer = LineWriter(out)

    def burst(n: int) -> None:
        for i in range(200):
            writer.notify("session.event", {"n": n, "i": i, "pad": "x" * 5000})

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 800 and all(json.loads(line)["method"] == "session.event" for line in lines)


def test_writer_stops_when_the_client_is_gone() -> None:
    out = io.BytesIO()
    writer = LineWriter(out)
    out.close()
    writer.send({"x": 1})
    assert writer.closed
    writer.send({"x": 2})  # dropped, no exception
