"""The shipped gazetteer, extensions from config, and their validation errors."""

from __future__ import annotations

import pytest

from alerts.errors import WatchlistError
from alerts.match.gazetteer import ENTITY_TYPES, TRADE_NOUNS, load_gazetteer


def test_shipped_gazetteer_has_the_regional_aliases() -> None:
    g = load_gazetteer()
    senkaku = g.get("senkaku")
    assert senkaku is not None and senkaku.type == "disputed_feature"
    for alias in ("Diaoyu", "尖閣諸島", "钓鱼岛", "釣魚臺"):
        assert alias in senkaku.aliases
    spratly = g.get("spratly-islands")
    assert spratly is not None
    for alias in ("Nansha", "南沙群岛", "Trường Sa", "Kalayaan Island Group"):
        assert alias in spratly.aliases
    assert "仁爱礁" in g.get("second-thomas-shoal").aliases  # type: ignore[union-attr]
    assert "Bajo de Masinloc" in g.get("scarborough-shoal").aliases  # type: ignore[union-attr]


def test_every_entity_type_is_represented() -> None:
    g = load_gazetteer()
    types = {e.type for e in g.entities.values()}
    assert types == ENTITY_TYPES


def test_config_adds_aliases_to_a_shipped_entity_and_new_entities() -> None:
    g = load_gazetteer(
        [
            {"id": "senkaku", "aliases": ["Tiaoyutai"]},
            {
                "id": "pag-asa-cay",
                "type": "disputed_feature",
                "name": "Sandy Cay",
                "aliases": {"en": ["Sandy Cay"]},
            },
        ]
    )
    assert "Tiaoyutai" in g.get("senkaku").aliases  # type: ignore[union-attr]
    assert "Diaoyu" in g.get("senkaku").aliases  # type: ignore[union-attr]
    assert g.get("pag-asa-cay").name == "Sandy Cay"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("extra", "path", "words"),
    [
        ([{"id": "x", "type": "island", "aliases": ["X"]}], "gazetteer[0].type", "not one of"),
        ([{"id": "Bad Id", "type": "sea", "aliases": ["X"]}], "gazetteer[0].id", "lower-case"),
        ([{"id": "x", "type": "sea"}], "gazetteer[0].aliases", "needs 'aliases'"),
        ([{}, {}, {}, {"id": "x", "type": "sea", "aliases": [""]}], "gazetteer[0].id", "lower-case"),
        ([{"id": "x", "type": "sea", "aliases": ["ok", 3]}], "gazetteer[0].aliases[1]", "non-empty strings"),
        (
            [{"id": "x", "type": "sea", "aliases": {"english": ["X"]}}],
            "gazetteer[0].aliases.english",
            "language code",
        ),
        (
            [{"id": "x", "type": "sea", "aliases": ["X"], "colour": "red"}],
            "gazetteer[0].colour",
            "unknown key",
        ),
        ([{"id": "senkaku", "type": "sea"}], "gazetteer[0].type", "already a disputed_feature"),
        ([{"id": "x", "type": "weapon_system", "aliases": ["X-1"], "made_in": "atlantis"}],
         "gazetteer[0].made_in", "not a state of the gazetteer"),
        ([{"id": "x", "type": "weapon_system", "aliases": ["X-1"], "made_in": "senkaku"}],
         "gazetteer[0].made_in", "not a state of the gazetteer"),
        ([{"id": "x", "type": "sea", "aliases": ["X Sea"], "made_in": "china"}],
         "gazetteer[0].made_in", "weapon system's maker"),
        ([{"id": "x", "type": "sea", "aliases": ["X Sea"], "trade_names": ["Calm"]}],
         "gazetteer[0].trade_names", "names of weapon systems"),
    ],
)
def test_invalid_entries_name_the_path_and_the_fix(extra: list[dict], path: str, words: str) -> None:
    with pytest.raises(WatchlistError) as err:
        load_gazetteer(extra)
    assert err.value.path == path
    assert words in err.value.detail


def test_error_path_counts_entries() -> None:
    good = {"id": "x-sea", "type": "sea", "aliases": ["X Sea"]}
    with pytest.raises(WatchlistError) as err:
        load_gazetteer(
            [
                good,
                {"id": "y", "type": "sea", "aliases": ["Y"]},
                {"id": "z", "type": "sea", "aliases": ["Z"]},
                {"id": "w", "type": "sea", "aliases": []},
            ]
        )
    assert err.value.path == "gazetteer[3].aliases"


def test_shipped_weapon_systems_name_their_maker() -> None:
    g = load_gazetteer()
    makers = {e.made_in for e in g.entities.values() if e.type == "weapon_system" and e.made_in}
    assert {"united-states", "russia", "china", "south-korea", "france", "turkey", "israel"} <= makers
    hq9 = [e for e in g.entities.values() if "HQ 9*" in e.aliases]
    assert [e.made_in for e in hq9] == ["china"]
    # a system several states build has no maker
    assert [e.made_in for e in g.entities.values() if "Eurofighter*" in e.aliases] == [None]


def test_config_can_add_a_system_under_its_maker() -> None:
    g = load_gazetteer([{"id": "china-made-systems", "aliases": ["GJ 2 drone*"]},
                        {"id": "atlantis-gun", "type": "weapon_system", "aliases": ["AG 1"], "made_in": "greece"}])
    assert g.get("china-made-systems").made_in == "china"  # type: ignore[union-attr]
    assert "GJ 2 drone*" in g.get("china-made-systems").aliases  # type: ignore[union-attr]
    assert g.get("atlantis-gun").made_in == "greece"  # type: ignore[union-attr]


def test_a_trade_name_counts_only_with_each_trade_noun_after_it() -> None:
    g = load_gazetteer([{"id": "x-systems", "type": "weapon_system", "aliases": ["Zephyr missile*"],
                         "trade_names": ["Zephyr"], "made_in": "china"}])
    aliases = g.get("x-systems").aliases  # type: ignore[union-attr]
    assert "Zephyr" not in aliases
    assert [a for a in aliases if a.startswith("Zephyr ")] == ["Zephyr missile*", *(f"Zephyr {n}" for n in TRADE_NOUNS)]

