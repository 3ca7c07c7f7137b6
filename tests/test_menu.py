"""The menu file: WeChat's structure in YAML, each broken rule one line naming the button."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.menu import EXAMPLE, Menu, MenuError, current_menu, load_menu, parse_menu


def test_the_example_menu_is_valid_and_has_the_three_buttons() -> None:
    menu = parse_menu(yaml.safe_load(EXAMPLE))
    assert [b.name for b in menu.buttons] == ["最新一期", "搜索帮助", "订阅"]
    body = menu.to_wechat()
    assert body["button"][0] == {"type": "click", "name": "最新一期", "key": "最新"}
    assert body["button"][1]["key"] == "帮助"
    subs = body["button"][2]["sub_button"]
    assert {"type": "click", "name": "订阅新一期", "key": "订阅"} in subs
    assert any(b["type"] == "view" and b["url"].startswith("https://") for b in subs)


def _menu(*buttons: object) -> dict[str, object]:
    return {"button": list(buttons)}


CLICK = {"name": "最新", "type": "click", "key": "最新"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, r"must hold `button:`"),
        (_menu(), r"0 buttons; WeChat allows 1 to 3"),
        (_menu(CLICK, CLICK, CLICK, CLICK), r"4 buttons; WeChat allows 1 to 3"),
        (_menu({"name": "最新一期更多", "type": "click", "key": "k"}),
         r"button 1: `name` is 18 bytes; WeChat allows at most 16"),
        (_menu({"name": "x", "type": "click"}), r"button 1 「x」: `key` is missing or empty"),
        (_menu({"name": "x", "type": "click", "key": "k" * 129}), r"`key` is 129 bytes"),
        (_menu({"name": "x", "type": "view"}), r"`url` is missing"),
        (_menu({"name": "x", "type": "view", "url": "ftp://a"}), r"must start with http"),
        (_menu({"name": "x", "type": "click", "key": "k", "url": "https://a"}),
         r"a click button has no `url`"),
        (_menu({"name": "x", "type": "scancode_push", "key": "k"}),
         r"`type` must be click .* or view"),
        (_menu({"name": "x", "type": "click", "key": "k", "colour": "red"}),
         r"unknown field `colour`"),
        (_menu({"name": "x", "sub_button": [CLICK] * 6}), r"6 sub-buttons; WeChat allows 1 to 5"),
        (_menu({"name": "x", "sub_button": []}), r"0 sub-buttons"),
        (_menu({"name": "x", "type": "click", "sub_button": [CLICK]}), r"has no `type`"),
        (_menu({"name": "x", "sub_button": [{"name": "y" * 61, "type": "click", "key": "k"}]}),
         r"button 1 「x」, sub-button 1: `name` is 61 bytes; WeChat allows at most 60"),
        (_menu({"name": "x", "sub_button": [{"name": "y", "sub_button": [CLICK]}]}),
         r"cannot have sub_buttons"),
        (_menu("最新"), r"button 1: must be a mapping"),
    ],
)  # fmt: skip
def test_each_rule_is_one_line_naming_the_button(data: object, error: str) -> None:
    with pytest.raises(MenuError, match=error) as caught:
        parse_menu(data, "menu.yaml")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("menu.yaml")


def test_a_name_of_six_chinese_characters_is_too_long_at_the_top_only() -> None:
    assert parse_menu(_menu({"name": "五个汉字啊", "type": "click", "key": "k"}))  # 15 bytes
    with pytest.raises(MenuError, match=r"18 bytes; WeChat allows at most 16"):
        parse_menu(_menu({"name": "最新一期啊啊", "type": "click", "key": "k"}))
    sub = {"name": "最新一期啊啊", "type": "click", "key": "k"}
    assert parse_menu(_menu({"name": "更多", "sub_button": [sub]})).buttons[0].sub_buttons


def test_the_file_missing_or_not_yaml_says_where(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match=r"does not exist: `neuraltalk init` writes an example"):
        load_menu(tmp_path / "menu.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("button:\n  - name: [最新\n", encoding="utf-8")
    with pytest.raises(MenuError, match=r"broken\.yaml:\d+:\d+: YAML syntax error"):
        load_menu(broken)


def test_the_current_menu_is_read_in_either_shape() -> None:
    selfmenu = {
        "is_menu_open": 1,
        "selfmenu_info": {"button": [
            {"type": "click", "name": "最新一期", "key": "最新"},
            {"name": "订阅", "sub_button": {"list": [
                {"type": "click", "name": "订阅新一期", "key": "订阅"},
                {"type": "view", "name": "往期", "url": "https://example.org/"},
            ]}},
        ]},
    }  # fmt: skip
    menu = current_menu(selfmenu)
    assert isinstance(menu, Menu)
    assert menu.lines() == [
        "最新一期  → click 最新",
        "订阅",
        "  订阅新一期  → click 订阅",
        "  往期  → view https://example.org/",
    ]
    assert current_menu({"is_menu_open": 0}) is None
    got = current_menu({"menu": {"button": [{"type": "click", "name": "a", "key": "b"}]}})
    assert got is not None and got.lines() == ["a  → click b"]
