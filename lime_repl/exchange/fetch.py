"""Download a session file for ``lime import URL``: http(s) only, with a timeout and a size cap.

The standard library's opener is assembled by hand with only the HTTP,
HTTPS, redirect and proxy handlers, so a redirect can never lead to a
``file:`` or ``ftp:`` URL. A ``Content-Length`` over the cap is refused before
the body is read, and the body is read in chunks and refused as soon as it
passes the cap. Every failure is one :class:`~lime_repl.exchange.guard.ImportRefused` line.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import __version__
from .guard import ImportRefused

__all__ = ["DEFAULT_TIMEOUT", "fetch"]

DEFAULT_TIMEOUT = 30.0


def fetch(url: str, cap: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The body of ``url`` (at most ``cap`` bytes). ``timeout`` is in seconds, per connect and per read."""
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
                chunk = response.read(min(1 << 20, cap + 1 - total))
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
        raise ImportRefused(f"cannot fetch {url}: timed out after {timeout:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise ImportRefused(f"cannot fetch {url}: timed out after {timeout:g} s") from None
        raise ImportRefused(f"cannot fetch {url}: {reason}") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise ImportRefused(f"cannot fetch {url}: {exc}") from None
