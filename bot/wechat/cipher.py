"""WeChat's message encryption (安全模式), as PLATFORM.md gives it: AES-256-CBC with the key
base64decode(EncodingAESKey + "="), the IV its first 16 bytes, and the plaintext 16 random
bytes + the message's length (4 bytes, big-endian) + the message + the appid, padded PKCS#7
to a multiple of 32 bytes. The AES is the `cryptography` library's; one Cipher is made at
start-up and each message gets its own encryptor or decryptor from it.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class WrongAppId(ValueError):
    """The message decrypted, but for another account's appid."""


class MessageCipher:
    """Encrypts and decrypts the <Encrypt> of one account's messages."""

    def __init__(self, encoding_aes_key: str, appid: str) -> None:
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("an EncodingAESKey is 43 characters of base64 (32 bytes)")
        self._appid = appid.encode("utf-8")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def encrypt(self, message: str | bytes) -> str:
        """The base64 of the encrypted message (a str is encoded in UTF-8)."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self._appid
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher.encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The message; ValueError when it is not one (WrongAppId: another account's)."""
        try:
            sealed = base64.b64decode(encrypted, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64 ({exc})") from None
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(sealed) + decryptor.finalize()  # ValueError: not whole blocks
        pad = plain[-1] if plain else 0
        if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
            raise ValueError("bad padding")
        content = plain[16:-pad]
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise ValueError("length beyond the message")
        if content[4 + length :] != self._appid:
            raise WrongAppId("encrypted for another appid")
        return content[4 : 4 + length].decode("utf-8")
