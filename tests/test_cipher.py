"""bot.wechat.cipher: WeChat's message encryption, against the official sample and wechatpy."""

from __future__ import annotations

import base64

import pytest
from wechatpy.crypto import PrpCrypto

from bot.wechat.cipher import MessageCipher, WrongAppId
from bot.wechat.protocol import safe_fields

# Tencent's WXBizMsgCrypt sample (PLATFORM.md)
KEY, APPID = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"
SAMPLE = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)


def test_the_official_sample_decrypts_to_its_message() -> None:
    fields = safe_fields(MessageCipher(KEY, APPID).decrypt(SAMPLE))
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert fields["ToUserName"] == "gh_10f6c3c3ac5a"
    assert (fields["Content"], fields["MsgId"]) == ("abcdteT", "6054768590064713728")


def test_what_we_encrypt_wechatpy_decrypts_and_the_other_way_round() -> None:
    ours, theirs = MessageCipher(KEY, APPID), PrpCrypto(base64.b64decode(KEY + "="))
    for message in ["", "a", "量化 " * 7, "x" * 31, "y" * 32, "<xml>" + "回复" * 700 + "</xml>"]:
        assert theirs.decrypt(ours.encrypt(message), APPID) == message
        assert ours.decrypt(theirs.encrypt(message, APPID).decode("ascii")) == message
    first, second = ours.encrypt("same"), ours.encrypt("same")
    assert first != second  # 16 random bytes lead every message


def test_another_account_s_message_is_refused_as_such() -> None:
    sealed = MessageCipher(KEY, "wxOTHER0000000000").encrypt("<xml/>")
    with pytest.raises(WrongAppId):
        MessageCipher(KEY, APPID).decrypt(sealed)


@pytest.mark.parametrize(
    "encrypted",
    [
        "not base64 at all!",
        base64.b64encode(b"short").decode(),  # not whole AES blocks
        base64.b64encode(bytes(32)).decode(),  # whole blocks of nothing: bad padding
        SAMPLE[:-24],  # cut short: the last blocks and the appid missing
    ],
)
def test_what_is_not_a_message_is_a_value_error(encrypted: str) -> None:
    with pytest.raises(ValueError):
        MessageCipher(KEY, APPID).decrypt(encrypted)


def test_a_key_of_the_wrong_size_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="43 characters"):
        MessageCipher("abc", APPID)
