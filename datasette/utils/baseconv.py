"""Integers as short URL-safe strings, used for expiry times in signed cookies.

`base62.encode(1) == "B"`; the alphabet starts with the upper-case letters.
"""

from __future__ import annotations

__all__ = ["BaseConverter", "base62", "BASE62_ALPHABET"]

BASE62_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz"


class BaseConverter:
    """Positional notation over an arbitrary alphabet; a leading `-` marks negatives."""

    def __init__(self, digits: str):
        if len(set(digits)) != len(digits) or len(digits) < 2:
            raise ValueError("digits must be at least two distinct characters")
        self.digits = digits
        self._values = {char: i for i, char in enumerate(digits)}

    def encode(self, number: int) -> str:
        """`number` written in this base."""
        number = int(number)
        if number < 0:
            return "-" + self.encode(-number)
        base = len(self.digits)
        chars = []
        while True:
            number, remainder = divmod(number, base)
            chars.append(self.digits[remainder])
            if number == 0:
                break
        return "".join(reversed(chars))

    def decode(self, text: str) -> int:
        """The integer `text` writes in this base; `ValueError` on foreign characters."""
        if text.startswith("-"):
            return -self.decode(text[1:])
        if not text:
            raise ValueError("cannot decode an empty string")
        base = len(self.digits)
        number = 0
        for char in text:
            try:
                number = number * base + self._values[char]
            except KeyError:
                raise ValueError("invalid character {!r}".format(char)) from None
        return number


base62 = BaseConverter(BASE62_ALPHABET)
