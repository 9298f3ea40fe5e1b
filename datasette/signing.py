"""Signing values with the instance's secret, and remembering what was verified.

Verifying a signature costs about 12 µs (an HMAC and a JSON decode), and an API token or
an actor cookie is verified on every request that carries one. These signatures carry no
timestamp (itsdangerous' `URLSafeSerializer`), so a value that verified once under a
secret and a namespace verifies the same way for ever: the JSON text of each verified
value is kept (at most `MAX_REMEMBERED`, then forgotten all at once) and decoded again
for each caller, so every caller still gets objects of its own to change.
"""

from __future__ import annotations

import json
from typing import Any

from itsdangerous import URLSafeSerializer

MAX_REMEMBERED = 1024


class Signatures:
    """`sign` and `unsign` for one instance; the secret is passed in each time, so a
    secret changed later is used at once (and what it verified is never confused)."""

    def __init__(self) -> None:
        self._serializers: dict = {}
        self._verified: dict = {}

    def _serializer(self, secret: str, namespace: str) -> URLSafeSerializer:
        serializer = self._serializers.get((secret, namespace))
        if serializer is None:
            if len(self._serializers) >= MAX_REMEMBERED:
                self._serializers.clear()
            serializer = URLSafeSerializer(secret, namespace)
            self._serializers[(secret, namespace)] = serializer
        return serializer

    def sign(self, secret: str, value: Any, namespace: str) -> str:
        """`value` as JSON, signed with `secret` and salted with `namespace`."""
        return self._serializer(secret, namespace).dumps(value)

    def unsign(self, secret: str, signed: str, namespace: str) -> Any:
        """The value `signed` holds; raises `itsdangerous.BadSignature` (or `BadPayload`)
        when it does not verify."""
        key = (secret, namespace, signed)
        text = self._verified.get(key)
        if text is not None:
            return json.loads(text)
        value = self._serializer(secret, namespace).loads(signed)
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()
        self._verified[key] = json.dumps(value)
        return value
