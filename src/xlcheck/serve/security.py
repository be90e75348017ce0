"""Secrets of the service, with the standard library only.

* the bureau password: scrypt with a random salt (hashlib.scrypt), compared in constant time;
* a department's submission code (distribute.new_code): random, 60 bits, so a plain SHA-256 of its normalised form is
  enough to store it and to look it up by (no salt: the hash is the index);
* cookies: "<payload>.<expiry>.<HMAC-SHA256>" with a random per-database secret;
* failed sign-ins: counted per client address (Throttle), so parallel guessing is bounded too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections import deque


SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def normalize_code(code: str) -> str:
    s = unicodedata.normalize("NFKC", code or "").upper()
    return "".join(ch for ch in s if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(("xlcheck-code:" + normalize_code(code)).encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        got = hashlib.scrypt((password or "").encode("utf-8"), salt=bytes.fromhex(salt), dklen=32,
                             n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def sign(secret: str, payload: str, max_age: int) -> str:
    expiry = str(int(time.time()) + max_age)
    mac = hmac.new(secret.encode(), f"{payload}.{expiry}".encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{expiry}.{mac}"


def unsign(secret: str, token: str | None) -> str | None:
    """The payload of a valid, unexpired token, else None."""
    if not token or token.count(".") < 2:
        return None
    payload, expiry, mac = token.rsplit(".", 2)
    good = hmac.new(secret.encode(), f"{payload}.{expiry}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, mac):
        return None
    try:
        if int(expiry) < time.time():
            return None
    except ValueError:
        return None
    return payload


class Throttle:
    """At most `limit` failed attempts per client address within `window` seconds (in memory: one
    server process, as `xlcheck serve` runs)."""

    MAX_CLIENTS = 10_000     # beyond this, the stalest addresses are forgotten (memory stays bounded)

    def __init__(self, limit: int = 10, window: float = 900):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque:
        q = self._failures.get(client, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def wait(self, client: str) -> int:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            if len(q) < self.limit:
                return 0
            return int(q[0] + self.window - now) + 1

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            q.append(now)
            self._failures[client] = q
            if len(self._failures) > self.MAX_CLIENTS:
                stalest = min(self._failures, key=lambda k: self._failures[k][-1] if self._failures[k] else 0)
                del self._failures[stalest]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
