"""Who may use the console: anyone on this machine when it listens on 127.0.0.1; on any other address only
with the token or the user and password given in the environment (checked on every request).

- `NEWSCRAWLER_WEB_TOKEN`: `Authorization: Bearer <token>` (scripts), or HTTP basic auth with the token as the
  password and any user name (browsers ask for it);
- `NEWSCRAWLER_WEB_USER` and `NEWSCRAWLER_WEB_PASSWORD`: HTTP basic auth.

On 127.0.0.1 the Host header must name the loopback address too, so a web page elsewhere cannot reach the
console through a DNS name it points at 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN_VAR = "NEWSCRAWLER_WEB_TOKEN"
USER_VAR = "NEWSCRAWLER_WEB_USER"
PASSWORD_VAR = "NEWSCRAWLER_WEB_PASSWORD"


class AccessError(ValueError):
    """The console may not start this way; the message says why and what to set."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    host: str
    token: str | None = None
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_environment(cls, host: str, environ: Mapping[str, str] = os.environ) -> Access:
        token = environ.get(TOKEN_VAR) or None
        user, password = environ.get(USER_VAR) or None, environ.get(PASSWORD_VAR) or None
        if bool(user) != bool(password):
            raise AccessError(f"set both {USER_VAR} and {PASSWORD_VAR}, or neither")
        access = cls(host=host, token=token, user=user, password=password)
        if not is_loopback(host) and not access.protected:
            raise AccessError(f"the console shows everything stored to whoever reaches {host}: set {TOKEN_VAR} "
                              f"(or {USER_VAR} and {PASSWORD_VAR}) to listen on an address other than 127.0.0.1")
        return access

    @property
    def protected(self) -> bool:
        return bool(self.token or (self.user and self.password))

    def host_allowed(self, host_header: str, port: int) -> bool:
        if not is_loopback(self.host):
            return True
        try:
            parts = urlsplit("//" + host_header)
            given_port = parts.port
        except ValueError:
            return False
        return is_loopback(parts.hostname or "") and given_port in (None, port)

    def allows(self, authorization: str) -> bool:
        if not self.protected:
            return True
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token:
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            if self.token and hmac.compare_digest(password.encode(), self.token.encode()):
                return True
            if self.user and self.password:
                return (hmac.compare_digest(user.encode(), self.user.encode())
                        & hmac.compare_digest(password.encode(), self.password.encode()))
        return False
