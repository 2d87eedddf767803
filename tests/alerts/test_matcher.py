"""Matching: every construct of the language on real text, evidence, the seed story, a calm story."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.errors import WatchlistError
from alerts.match.explain import format_matches
from alerts.match.gazetteer import load_gazetteer
from alerts.match.matcher import Matcher, compile_matcher
from alerts.match.models import Document, WatchlistMatch
from alerts.match.normalize import normalize
from alerts.match.watchlist import entity_references, parse_watchlists
from tests.conftest import SEED, need

ROOT = Path(__file__).resolve().parents[2]
GAZ = load_gazetteer()


def _matcher(rules: list[dict[str, Any]], **extra: Any) -> Matcher:
    wl: dict[str, Any] = {
        "name": "w",
        "targets": [],
        "threshold": 1,
        "fields": {"title": 1, "lead": 1, "body": 1},
        "rules": rules,
    }
    wl.update(extra)
    return compile_matcher(parse_watchlists([wl]), GAZ)


def _m(matcher: Matcher, body: str = "", title: str = "", lead: str = "") -> WatchlistMatch:
    return matcher.match(Document(title=title, lead=lead, body=body))[0]


def test_word_and_phrase_with_word_boundaries() -> None:
    m = _matcher([{"any": ["sea", "water cannon"]}])
    assert _m(m, "They fired a Water-Cannon at the boat").matched
    assert _m(m, "Seas were calm").matched is False  # no boundary after "sea"
    assert _m(m, "research vessel").matched is False
    assert _m(m, "out at sea.").matched


def test_prefix() -> None:
    m = _matcher([{"any": ["militar*"]}])
    assert _m(m, "China militarised the reef").matched
    assert _m(m, "the military said").matched
    assert _m(m, "paramilitary police").matched is False  # the start still needs a boundary


def test_acronyms_are_case_sensitive_and_words_are_not() -> None:
    m = _matcher([{"any": ["PLA", "jmsdf"]}])
    assert _m(m, "the PLA said").matched
    assert _m(m, "a pla of sorts; Pla").matched is False
    assert _m(m, "JMSDF and jmsdf").matched


def test_any_min_all_and_none() -> None:
    m = _matcher(
        [
            {
                "all": [
                    "ship*",
                    {"any": ["rammed", "water cannon", "blocked"], "min": 2},
                    {"none": ["exercise*"]},
                ]
            }
        ]
    )
    assert _m(m, "The ship was rammed. Later a water cannon was used.").matched
    assert _m(m, "The ship was rammed.").matched is False  # only one of the any-group
    assert _m(m, "The ship was rammed and water cannon used in an exercise").matched is False


def test_any_min_counts_different_entities_not_aliases() -> None:
    m = _matcher([{"any": ["@china", "@vietnam", "@philippines"], "min": 2}])
    assert _m(m, "China said Chinese ships stayed; Beijing agreed.").matched is False  # one state, three names
    got = _m(m, "Beijing protested after Hanoi and Manila spoke.")
    assert got.matched
    assert [e.entity for e in got.evidence] == ["china", "vietnam", "philippines"]  # in the group's order


def test_near_sentence_finds_the_one_sentence_among_many_with_a_common_word() -> None:
    m = _matcher([{"all": ["talks", "reef"], "near": "sentence"}])
    body = "Talks began. Talks went on. The talks stalled. Talks over the reef resumed. More talks. Talks ended."
    got = _m(m, body)
    assert got.matched
    assert {e.sentence for e in got.evidence} == {"Talks over the reef resumed."}
    assert _m(m, "Talks began. The reef is big. Talks ended. A reef.").matched is False


def test_near_words_and_sentence() -> None:
    words = _matcher([{"all": ["arms", "sale*"], "near": 3}])
    assert _m(words, "arms to Taiwan sales").matched
    assert _m(words, "arms were shown and the annual clearance sales began").matched is False
    sentence = _matcher([{"all": ["arms", "sale*"], "near": "sentence"}])
    assert _m(sentence, "arms were shown and the annual clearance sales began").matched
    assert _m(sentence, "Arms were shown. Sales began.").matched is False
    assert _m(sentence, "U.S. arms sales resumed").matched  # "U.S." does not end a sentence
    # near never crosses fields
    assert _m(sentence, title="Arms", body="sales").matched is False


def test_sentence_boundaries_of_every_kind() -> None:
    # A sentence ends at . ! or ? (also inside closing quotes or brackets), a line break or 。！？, in
    # ASCII fields and in fields with other scripts alike; an initial or an abbreviation does not end it.
    sentence = _matcher([{"all": ["arms", "sale*"], "near": "sentence"}])
    apart = [
        'Arms were shown." Sales began.',
        "Arms were shown!) Sales began.",
        "Arms were shown?' Sales began.",
        "Arms were shown.\nsales began",
        "Arms were shown\nsales began",
        "Arms were shown in Hà Nội. Sales began.",
        "Arms in Hà Nội\nsales began",
        "arms 展示。sales",
        "arms 展示！ sales",
    ]
    for body in apart:
        assert _m(sentence, body).matched is False, body
    together = [
        "J. Smith said arms sales rose.",
        "The U.S.) arms sales rose.",
        "Arms in Hà Nội, sales in Manila.",
        "Hà Nội. Arms sales rose. Rain.",
    ]
    for body in together:
        assert _m(sentence, body).matched, body
    got = _m(sentence, 'Café owners met. "Arms sales to Manila rose!" Then rain.\nMore arms\nno sales')
    assert {e.sentence for e in got.evidence} == {'"Arms sales to Manila rose!"'}


def test_none_inside_near_group_only_looks_at_the_window() -> None:
    m = _matcher([{"all": ["arms", "sale*", {"none": ["leg*"]}], "near": 3}])
    assert _m(m, "arms sales. Much later she broke her legs in a fall.").matched
    assert _m(m, "legs arms sales").matched is False


def test_exclusion_cancels_hits_in_context() -> None:
    m = _matcher(
        [{"all": ["arms", "deal"], "near": "sentence"}],
        exclude=[{"terms": ["arms"], "context": ["leg*", "open arms"], "near": 2}],
    )
    assert _m(m, "An arms deal with Japan").matched
    assert _m(m, "She welcomed the deal with open arms").matched is False
    assert _m(m, "His arms and legs ached after the deal").matched is False


def test_exclusion_cancels_the_words_it_found_whatever_term_a_rule_spells_them_with() -> None:
    # The rule's words are a prefix and an exact form; each exclusion names the other one.
    m = _matcher(
        [{"all": ["dispute*", "ordered", "sea"], "near": "sentence"}],
        exclude=[
            {"terms": ["dispute"], "context": ["pay dispute"]},
            {"terms": ["order*"], "context": ["profit*"], "near": "sentence"},
        ],
    )
    assert _m(m, "The navy ordered ships to the sea amid the dispute").matched
    assert _m(m, "A pay dispute at sea: the navy ordered ships home").matched is False
    # "disputes" is not the exact "dispute" the exclusion names, so it stays.
    assert _m(m, "Pay disputes aside, the navy ordered ships to the sea").matched
    assert _m(m, "Profit rose as the navy ordered ships for the sea dispute").matched is False
    # More context hits than targets: the targets' sentences are found first, the context placed in them.
    assert _m(m, "Profit and profits rose as the navy ordered ships for the sea dispute").matched is False
    assert _m(m, "Profit rose. Profits grew. The navy ordered ships for the sea dispute").matched


def test_a_cancelled_phrase_takes_the_terms_inside_it_but_not_the_words_around_it() -> None:
    m = _matcher(
        [{"any": ["China"]}],
        exclude=[{"terms": ["South China Sea"], "context": ["coral*"], "near": "sentence"}],
    )
    assert _m(m, "Coral reefs of the South China Sea are bleaching").matched is False
    assert _m(m, "China studies the coral reefs of the South China Sea").matched
    narrow = _matcher(
        [{"any": ["South China Sea"]}],
        exclude=[{"terms": ["China"], "context": ["coral*"], "near": "sentence"}],
    )
    assert _m(narrow, "Coral reefs of the South China Sea are bleaching").matched


def test_a_cancelled_prefix_takes_a_term_that_begins_inside_it_and_runs_on_to_the_end_of_its_word() -> None:
    # "coast guard*" found "Coast guardsmen": the rule's "guardsmen" begins at its second word and runs on
    # past the prefix, to the end of the word the exclusion cancelled.
    m = _matcher(
        [{"any": ["guardsmen"]}],
        exclude=[{"terms": ["coast guard*"], "context": ["parade"], "near": "sentence"}],
    )
    assert _m(m, "Coast guardsmen marched in the national day parade").matched is False
    assert _m(m, "Guardsmen marched beside the coast guard band in the parade").matched
    assert _m(m, "Coast guardsmen boarded the trawler at dawn").matched


def test_entity_exclusion_cancels_joe_scarborough() -> None:
    m = _matcher([{"any": ["@scarborough-shoal"]}])
    assert _m(m, "Joe Scarborough said on Morning Joe").matched is False
    assert _m(m, "Chinese ships near Scarborough Shoal").matched


def test_entity_exclusion_with_a_trailing_star_is_a_prefix() -> None:
    # The shipped gazetteer excludes "Scarborough gas*": Woodside's gas field off Western Australia.
    m = _matcher([{"any": ["@scarborough-shoal"]}])
    assert _m(m, "Regulator approves drilling at Scarborough gas development").matched is False
    assert _m(m, "Woodside's Scarborough gasfield faces legal challenge").matched is False
    assert _m(m, "Coast guard ships gas up before patrol near Scarborough").matched


def test_watchlist_none_vetoes_the_document() -> None:
    m = _matcher([{"any": ["@south-china-sea"]}], none=["travel guide"])
    result = _m(m, "A travel guide to the South China Sea beaches")
    assert result.matched is False and "vetoed" in result.reason


@pytest.mark.parametrize(
    "text",
    [
        "Diaoyu Islands",
        "尖閣諸島周辺で中国海警局の船",
        "钓鱼岛附近",
        "釣魚臺列嶼",
        "ＳＥＮＫＡＫＵ",
        "the senkakus",
    ],
)
def test_entity_aliases_across_scripts_width_and_cjk_without_spaces(text: str) -> None:
    result = _m(_matcher([{"any": ["@senkaku"]}]), text)
    assert result.matched
    assert result.evidence[0].entity == "senkaku"


@pytest.mark.parametrize("text", ["Quần đảo Trường Sa", "Truong Sa", "南沙群島", "Kalayaan Island Group"])
def test_spratly_aliases(text: str) -> None:
    assert _m(_matcher([{"any": ["@spratly-islands"]}]), text).matched


def test_second_thomas_shoal_aliases() -> None:
    m = _matcher([{"any": ["@second-thomas-shoal"]}])
    assert _m(m, "resupply to Ayungin Shoal").matched
    assert _m(m, "中国海警在仁爱礁").matched


def test_weights_and_threshold() -> None:
    rules = [{"name": "strong", "weight": 2, "any": ["water cannon^1.5"]}, {"name": "weak", "any": ["ship*"]}]
    m = _matcher(rules, threshold=4.5, fields={"title": 2, "lead": 1.5, "body": 1})
    title = _m(m, title="Water cannon fired at ship")
    assert title.matched and title.score == pytest.approx(2 * 1.5 * 2 + 2)
    body = _m(m, body="Water cannon fired at ship")
    assert body.matched is False and body.score == pytest.approx(3 + 1)
    assert "< threshold" in body.reason


def test_evidence_sentence_comes_from_the_original_text() -> None:
    m = _matcher([{"name": "feature", "any": ["@spratly-islands"]}])
    body = "Calm day.  Vietnam’s claims over Trường Sa were restated!  Other news."
    [ev] = _m(m, body).evidence
    assert ev.sentence == "Vietnam’s claims over Trường Sa were restated!"
    assert ev.term == "Trường Sa" and ev.field == "body" and ev.rule == "feature"


def test_unknown_entity_is_a_compile_error_with_path() -> None:
    specs = parse_watchlists([{"name": "w", "targets": [], "rules": [{"any": ["@atlantis"]}]}])
    with pytest.raises(WatchlistError) as err:
        compile_matcher(specs, GAZ)
    assert err.value.path == "watchlists[0].rules[0]" and "unknown entity @atlantis" in err.value.detail


def test_one_result_per_watchlist_in_config_order() -> None:
    specs = parse_watchlists([{"name": n, "targets": [], "rules": [{"any": [n]}]} for n in ("b", "a", "c")])
    matcher = compile_matcher(specs, GAZ)
    assert matcher.watchlist_names == ("b", "a", "c")
    assert [r.watchlist for r in matcher.match(Document(title="a"))] == ["b", "a", "c"]


def _default() -> Matcher:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return compile_matcher(parse_watchlists(raw["watchlists"]), load_gazetteer(raw.get("gazetteer") or []))


def test_seed_story_matches_both_watchlists_with_evidence() -> None:
    text = need(SEED).read_text(encoding="utf-8")
    title = "Amid China worries, Japan-Vietnam sign defence export deal"
    results = {r.watchlist: r for r in _default().match(Document(title=title, body=text))}
    maritime, arms = results["maritime-disputes"], results["arms-deals"]
    assert maritime.matched and arms.matched
    senkaku = [e for e in maritime.evidence if e.entity == "senkaku"]
    assert any(e.term == "Diaoyu" or e.term.startswith("Diaoyu") for e in senkaku)
    assert any("Diaoyu Islands" in e.sentence for e in senkaku)
    assert any("defence export" in e.term for e in arms.evidence)
    text_out = format_matches(list(results.values()))
    assert "maritime-disputes: MATCH" in text_out and "arms-deals: MATCH" in text_out
    assert "Diaoyu" in text_out


def test_calm_story_matches_neither() -> None:
    doc = Document(
        title="Japan's beloved Hachiko dog statue showcased in pop-up bedroom",
        lead="Japan's beloved Hachiko statue in Tokyo was shown to the public on Sunday.",
        body="Crowds gathered at Shibuya Station to see the artwork. Visitors took photos and the sea breeze "
        "was mild. Organisers said the display would tour other cities next year.",
    )
    results = _default().match(doc)
    assert [r.matched for r in results] == [False, False]
    assert "no match" in format_matches(results)


@pytest.mark.parametrize(
    ("title", "watchlist"),
    [
        ("Joe Scarborough slams deal on Morning Joe", "maritime-disputes"),
        ("Lakers agree trade deal after star's arms injury", "arms-deals"),
        ("North Korea test-fires ballistic missile into sea", "arms-deals"),
        ("Houthi missile hits tanker in Red Sea", "maritime-disputes"),
    ],
)
def test_default_watchlists_reject_hard_negatives(title: str, watchlist: str) -> None:
    results = {r.watchlist: r for r in _default().match(Document(title=title))}
    assert results[watchlist].matched is False


def test_matcher_is_safe_to_share_between_threads() -> None:
    matcher = _default()
    doc = Document(
        title="Chinese coast guard fires water cannon at Philippine boats near Second Thomas Shoal"
    )
    expected = matcher.match(doc)
    results: list[list[WatchlistMatch]] = []

    def work() -> None:
        for _ in range(50):
            results.append(matcher.match(doc))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200 and all(r == expected for r in results)
    assert expected[0].matched


def test_any_min_counts_the_members_of_a_set() -> None:
    m = _matcher([{"any": ["$state"], "min": 2}], sets={"state": ["@china", "@vietnam", "@philippines"]})
    assert _m(m, "China said Chinese ships stayed; Beijing agreed.").matched is False  # one member, three names
    got = _m(m, "Beijing protested after Hanoi spoke.")
    assert got.matched
    assert [e.entity for e in got.evidence] == ["china", "vietnam"]
    with pytest.raises(WatchlistError, match="min must be a whole number from 1 to 3"):
        _matcher([{"any": ["$state"], "min": 4}], sets={"state": ["@china", "@vietnam", "@philippines"]})


def test_a_type_reference_names_every_entity_of_that_type() -> None:
    m = _matcher([{"all": ["build*", {"all": ["in", "@type:state"], "near": 1}], "near": 4}])
    got = _m(m, "Baykar to build drones in Italy with Leonardo.")
    assert got.matched
    assert "italy" in [e.entity for e in got.evidence]  # evidence names the state, not the type
    assert _m(m, "Baykar to build drones in Izmir.").matched is False  # a city the gazetteer does not hold
    # A state added to the gazetteer joins the type, and so every rule that names it.
    more = load_gazetteer([{"id": "hungary", "type": "state", "name": "Hungary", "aliases": ["Hungary"]}])
    spec = parse_watchlists([{"name": "w", "targets": [], "threshold": 1, "rules": [{"any": ["@type:state"]}]}])
    assert compile_matcher(spec, more).match(Document(title="Rheinmetall plant in Hungary"))[0].matched
    with pytest.raises(WatchlistError, match="no entity type 'states'; the types are"):
        _matcher([{"any": ["@type:states"]}])


def test_a_type_reference_in_an_exclusion_cancels_on_any_entity_of_the_type() -> None:
    m = _matcher([{"any": ["drone*"]}], exclude=[{"terms": ["drone*"], "context": ["@type:state"], "near": 1}])
    assert _m(m, "Vietnam drones seen").matched is False
    assert _m(m, "Hobby drones seen").matched


def test_words_beside_an_entity_are_one_phrase_per_alias() -> None:
    m = _matcher([{"all": ["build*", "in @type:state"], "near": 4}])
    got = _m(m, "Baykar to build drones in Italy with Leonardo.")
    assert got.matched
    assert [(e.term, e.entity) for e in got.evidence if e.entity] == [("in Italy", "italy")]
    assert _m(m, "Baykar to build drones in Izmir for Italy.").matched is False  # "in" is not beside the state
    assert _m(m, "Italy in talks to build drones.").matched is False  # the words come before the state, not after
    after = _matcher([{"any": ["@china designed"]}])
    assert _m(after, "A factory will turn out Chinese-designed drones.").matched
    assert _m(after, "China designs drones.").matched is False
    # An unknown entity after the words is reported as the plain @id is.
    with pytest.raises(WatchlistError, match="unknown entity @atlantis"):
        _matcher([{"any": ["in @atlantis"]}])
    with pytest.raises(WatchlistError, match="write plain words before or after one entity"):
        _matcher([{"any": ["in* @china"]}])
    # Config checking finds the entity inside the phrase, as it finds a plain @id.
    raw = [{"rules": [{"any": ["in @atlantis", "@china designed^2", "@type:state"]}]}]
    assert [entity for _, entity in entity_references(raw)] == ["atlantis", "china"]


def test_other_than_maker_needs_a_state_that_did_not_make_the_system() -> None:
    m = _matcher([{"all": ["@type:weapon_system", "@type:state"], "near": "sentence", "other-than-maker": True}])
    got = _m(m, title="Egypt fields HQ-9B batteries near Cairo")
    assert got.matched
    assert {e.entity for e in got.evidence} == {"china-made-systems", "egypt"}
    assert not _m(m, title="China shows its HQ-9B batteries at Zhuhai").matched  # the maker's own
    assert not _m(m, title="Egypt buys Eurofighter jets").matched  # several makers: no made_in, no part
    # states in another sentence are not beside the system
    assert not _m(m, title="New HQ-9B batteries seen. Egypt holds elections").matched
    # an Algerian Su-57 is in Russia's branch, a Russian one in none
    assert _m(m, title="Algerian Su-57s spotted near Oum El Bouaghi").matched
    assert not _m(m, title="Russian Su-57s fly over Moscow").matched


def test_other_than_maker_keeps_the_groups_around_its_states() -> None:
    m = _matcher([{"all": ["@type:weapon_system", {"any": ["@type:state"]}, {"none": ["attack*"]}], "near": 8,
                   "other-than-maker": True}])
    assert _m(m, title="Algeria unveils Chinese HQ-9B batteries").matched
    assert not _m(m, title="Ukraine says Russian Iskander attack hit Kyiv").matched  # the none group stays


def test_maker_only_needs_a_system_with_no_state_but_its_maker() -> None:
    m = _matcher([{"all": ["@type:weapon_system", "@type:state"], "maker-only": True}])
    assert _m(m, title="China shows its HQ-9B batteries at Zhuhai").matched  # the maker's own
    assert _m(m, title="New HQ-9B batteries seen at Zhuhai").matched  # no state at all
    assert not _m(m, title="Egypt fields HQ-9B batteries near Cairo").matched  # another state holds it
    # one state beside two systems it did not both make: the other maker's system is in its hands
    assert not _m(m, title="China shows HQ-9B batteries. It also flies Su-35 jets").matched
    assert not _m(m, title="Egypt buys Eurofighter jets").matched  # no system with a maker


@pytest.mark.parametrize(("rule", "words"), [
    ({"all": ["@type:weapon_system", "@type:state"], "other-than-maker": True, "maker-only": True},
     "either other-than-maker or maker-only"),
    ({"any": ["@type:weapon_system", "@type:state"], "maker-only": True}, "maker-only applies to 'all' groups"),
    ({"all": ["frigate*", "@type:state"], "maker-only": True}, "maker-only: the first item names no weapon system"),
    ({"any": ["@type:weapon_system", "@type:state"], "other-than-maker": True}, "applies to 'all' groups"),
    ({"all": ["@type:weapon_system", "@type:state"], "other-than-maker": "yes"}, "must be true or false"),
    ({"all": [{"none": ["test*"]}, "@type:state"], "other-than-maker": True}, "weapon systems as the first item"),
    ({"all": ["frigate*", "@type:state"], "other-than-maker": True}, "no weapon system with a made_in"),
])
def test_other_than_maker_says_what_is_wrong(rule: dict[str, Any], words: str) -> None:
    with pytest.raises(WatchlistError, match=words):
        _matcher([rule])


def test_other_than_maker_leaves_out_a_state_named_on_its_own_when_it_made_the_system() -> None:
    m = _matcher([{"all": ["@type:weapon_system", {"any": ["@china", "@egypt"]}], "near": "sentence",
                   "other-than-maker": True}])
    assert _m(m, title="Egypt fields HQ-9B batteries").matched
    assert not _m(m, title="China fields HQ-9B batteries").matched  # China made the HQ-9B
    assert _m(m, title="China sells Egypt F-16 parts").matched  # China did not make the F-16


@pytest.mark.parametrize(
    "body",
    [
        "A £5bn arms sale to Saudi Arabia; ¥300bn for the U.S. • South China Sea patrols",
        "South¥China Sea, the café, Zelenskyy’s visit and 5°C near the Senkaku Islands",
        "Caféu.s. sale to Iran, naïve Taiwan² Japan-Vietnam deal ¡Houthis!",
    ],
)
def test_non_ascii_field_with_stand_ins_finds_what_the_full_automaton_finds(body: str) -> None:
    # A field with a few non-ASCII characters that no key holds is scanned the ASCII way, each such
    # character a stand-in (``Matcher._stand_in``): the hits, and their order, must be ``_find_in``'s.
    matcher = _default()
    text = normalize(body)
    stand_in = matcher._stand_in(text.folded)
    assert stand_in and stand_in.isascii() and len(stand_in) == len(text.folded)
    found = matcher._find([text])
    full: dict[int, list[Any]] = {}
    matcher._find_in(0, text, text.folded, full)
    assert full
    assert [(pid, [(h.start, h.end) for h in hs]) for pid, hs in found.items()] == [
        (pid, [(h.start, h.end) for h in hs]) for pid, hs in full.items()
    ]
