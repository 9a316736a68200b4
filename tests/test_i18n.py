"""The message catalogue: both languages say everything, fields agree, the language is scoped."""

from __future__ import annotations

import re

import pytest

from capacity import i18n


def test_every_english_message_has_a_chinese_one_with_the_same_fields():
    fields = re.compile(r"\{(\w+)")
    for key, text in i18n.EN.items():
        assert key in i18n.ZH, key
        assert set(fields.findall(text)) == set(fields.findall(i18n.ZH[key])), key
    extra = set(i18n.ZH) - set(i18n.EN)
    assert all(k.startswith("stage.") for k in extra)


def test_language_is_scoped_and_checked():
    assert i18n.current() == "en"
    with i18n.use("zh"):
        assert i18n.tr("places") == "学位"
        assert i18n.stage_name("Junior secondary", "junior") == "初中"
        assert i18n.stage_name("Nursery", "nursery") == "Nursery"
        assert i18n.area_label("赤岗街道", "Chigang") == "赤岗街道"
        assert i18n.column("plan_need") == "规划需新增"
    assert i18n.tr("places") == "places" and i18n.area_label("赤岗街道", "Chigang") == "Chigang"
    with pytest.raises(ValueError, match="expected a language"), i18n.use("fr"):
        pass
def test_district_default_language(tmp_path):
    import capacity
    from capacity.template import write_template

    folder = write_template(tmp_path / "d")
    settings = folder / "district.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + '\nlanguage = "zh"\n', encoding="utf-8")
    district = capacity.load_district(folder)
    assert i18n.district_language(district) == "zh"
    assert i18n.resolve(None, district) == "zh" and i18n.resolve("en", district) == "en"
    assert i18n.resolve(None, capacity.load_district()) == "en"


def test_district_language_must_be_en_or_zh(tmp_path):
    import capacity
    from capacity.errors import InputError
    from capacity.template import write_template

    folder = write_template(tmp_path / "d")
    settings = folder / "district.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + '\nlanguage = "fr"\n', encoding="utf-8")
    with pytest.raises(InputError, match="language") as err:
        capacity.load_district(folder)
    print(err.value)
