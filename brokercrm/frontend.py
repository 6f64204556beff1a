"""What a brand's own front end does to call our API over HTTP: one keep-alive connection,
JSON or multipart bodies, the brand key or the client's token. Used by the demo's scripted
client journey and the onboarding benchmark, which talk to a running server exactly as a
brand's site would. Standard library only."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any


class FrontEndError(Exception):
    """The API answered another status than expected, or the connection failed (status 0)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body

    @property
    def code(self) -> str:
        return self.body.get("code", "") if isinstance(self.body, dict) else ""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def multipart(fields: dict[str, str], files: dict[str, Upload]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, upload in files.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{upload.filename}"\r\nContent-Type: {upload.content_type}\r\n\r\n'.encode()
            + upload.data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class FrontEnd:
    """Calls to one API server, authenticated as `auth` (`Api-Key …` or `Token …`)."""

    def __init__(self, base_url: str, auth: str = "", *, timeout: float = 120) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.auth = auth
        self.timeout = timeout
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def as_client(self, token: str) -> FrontEnd:
        """The same server, as the client who holds `token`."""
        return FrontEnd(self.base_url, f"Token {token}", timeout=self.timeout)

    def close(self) -> None:
        self.connection.close()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        files: dict[str, Upload] | None = None,
        key: str = "",
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        """The answer's JSON body; FrontEndError when the status is not one of `expect`.
        With `files`, `body` is sent as the form's fields; `key` is the Idempotency-Key."""
        headers = {"Accept": "application/json"}
        if self.auth:
            headers["Authorization"] = self.auth
        if key:
            headers["Idempotency-Key"] = key
        payload: bytes | None = None
        if files is not None:
            payload, headers["Content-Type"] = multipart(
                {name: str(value) for name, value in (body or {}).items()}, files
            )
        elif body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = f"/api/v1/{path.lstrip('/')}"
        try:
            self.connection.request(method, url, payload, headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()
            raise FrontEndError(method, url, 0, repr(exc)) from exc
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"raw": raw[:200].decode(errors="replace")}
        if response.status not in expect:
            raise FrontEndError(method, url, response.status, answer)
        return answer

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: dict[str, Any], **kwargs: Any) -> Any:
        return self.call("PUT", path, body, **kwargs)
