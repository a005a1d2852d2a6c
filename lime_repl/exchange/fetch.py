"""Download a session file for ``lime import URL``: http(s) only, with a total deadline and a size cap.

The standard library's opener is assembled by hand with only the HTTP,
HTTPS, redirect and proxy handlers, so a redirect can never lead to a
``file:`` or ``ftp:`` URL. A ``Content-Length`` over the cap is refused before
the body is read, and the body is read in chunks and refused as soon as it
passes the cap. The deadline (30 s, ``LIME_IMPORT_TIMEOUT`` seconds when set)
covers the whole download, connecting, headers and body together, not each
read: the download runs in a worker thread that checks the deadline after
every piece it receives, and the caller stops waiting when it passes. Every
failure is one :class:`~lime_repl.exchange.guard.ImportRefused` line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from .. import __version__
from .guard import ImportRefused

__all__ = ["DEFAULT_TIMEOUT", "fetch", "import_timeout"]

DEFAULT_TIMEOUT = 30.0
_PIECE = 64 * 1024


def import_timeout(env: Mapping[str, str] | None = None) -> float:
    """The download deadline in seconds: ``LIME_IMPORT_TIMEOUT`` (a positive number) or 30."""
    raw = (os.environ if env is None else env).get("LIME_IMPORT_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        value = DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def fetch(url: str, cap: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The body of ``url`` (at most ``cap`` bytes), all of it within ``timeout`` seconds.

    Raises :class:`ImportRefused` (one line) for a bad URL, an HTTP error, a
    body over the cap or a download that passes the deadline.
    """
    deadline = time.monotonic() + timeout
    result: list[bytes] = []
    failure: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            result.append(_download(url, cap, timeout, deadline, stop))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="lime-fetch", daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0) + 0.5)
    if worker.is_alive():
        stop.set()  # the worker gives up after its current read
        raise ImportRefused(f"cannot fetch {url}: timed out after {timeout:g} s for the whole download")
    if failure:
        raise failure[0]
    return result[0]


def _download(url: str, cap: int, timeout: float, deadline: float, stop: threading.Event) -> bytes:
    import http.client
    import urllib.error
    import urllib.request

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ImportRefused(f"refusing {url}: only http and https URLs can be imported")
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    request = urllib.request.Request(url, headers={"User-Agent": f"lime/{__version__}", "Accept": "*/*"})
    try:
        with opener.open(request, timeout=timeout) as response:
            final = urlsplit(response.geturl())
            if final.scheme.lower() not in ("http", "https"):
                raise ImportRefused(f"refusing {url}: it redirected to a {final.scheme} URL")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > cap:
                raise ImportRefused(
                    f"refusing {url}: {int(length)} bytes is over the import cap of {cap} bytes"
                )
            chunks: list[bytes] = []
            total = 0
            while True:
                if stop.is_set() or time.monotonic() > deadline:
                    raise ImportRefused(
                        f"cannot fetch {url}: timed out after {timeout:g} s for the whole download"
                    )
                chunk = response.read1(min(_PIECE, cap + 1 - total))  # what has arrived, not a full piece
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise ImportRefused(f"refusing {url}: the download passed the import cap of {cap} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise ImportRefused(f"cannot fetch {url}: HTTP {exc.code} {exc.reason}") from None
    except TimeoutError:
        raise ImportRefused(
            f"cannot fetch {url}: timed out after {timeout:g} s for the whole download"
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise ImportRefused(
                f"cannot fetch {url}: timed out after {timeout:g} s for the whole download"
            ) from None
        raise ImportRefused(f"cannot fetch {url}: {reason}") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise ImportRefused(f"cannot fetch {url}: {exc}") from None
