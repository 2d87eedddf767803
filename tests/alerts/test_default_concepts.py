"""Concepts of the default watchlists, each shown by a story that must alert and a near miss that must not.

The watchlists are written as concept lists (places at sea, state actors, control of a sea; equipment,
transfer words, parties, export marketing), so a concept is checked the way an analyst would notice it:
a story that is about it alerts, a story that shares its words but is about something else stays quiet.
The headlines are written for these tests (none is a labelled item), and the figures on labelled data
are in bench/eval_watchlists.py; these tests pin the behaviour a change must keep.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.match.gazetteer import load_gazetteer
from alerts.match.matcher import Matcher, compile_matcher
from alerts.match.models import Document
from alerts.match.watchlist import parse_watchlists

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return compile_matcher(parse_watchlists(raw["watchlists"]), load_gazetteer(raw.get("gazetteer") or []))


def flagged(matcher: Matcher, title: str, lead: str = "") -> set[str]:
    return {m.watchlist for m in matcher.match(Document(title=title, lead=lead)) if m.matched}


@pytest.mark.parametrize(("title", "lead"), [
    ("Russia's fleet loses its grip on the western Black Sea, Kyiv says",
     "Navy commanders said sea-drone strikes had sent most warships back to Novorossiysk."),
    ("Moscow moves to tighten control of the Sea of Azov", ""),
    ("Kyiv vows to reclaim gas platforms in the Black Sea",
     "Special forces are preparing raids on the rigs seized in 2014."),
])
def test_who_controls_a_sea_fought_over_is_a_maritime_dispute(matcher: Matcher, title: str, lead: str) -> None:
    assert "maritime-disputes" in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead"), [
    ("Black Sea grain shipments hit a record as insurers return",
     "Traders said more bulk carriers were calling at Odesa's ports."),
    ("Ukrainian drone strikes a Russian landing ship in the Black Sea", ""),
    ("Bulgaria's Black Sea resorts expect a record summer", ""),
])
def test_a_black_sea_story_not_about_control_does_not_alert(matcher: Matcher, title: str, lead: str) -> None:
    assert "maritime-disputes" not in flagged(matcher, title, lead)


def test_a_protected_area_declared_at_sea_is_contested_when_a_state_objects(matcher: Matcher) -> None:
    assert "maritime-disputes" in flagged(matcher, "Hanoi protests Beijing's new marine reserve off the Paracels")
    assert "maritime-disputes" in flagged(matcher, "Ankara irked by Athens' plan for two marine parks")
    assert "maritime-disputes" not in flagged(matcher, "New marine park opens to divers off Queensland")


@pytest.mark.parametrize(("title", "lead"), [
    ("Seoul puts K9 howitzers in the shop window at Paris defence show", ""),
    ("Tokyo lets defence firms showcase their products at overseas expos",
     "The change is the latest loosening of Japan's post-war limits."),
    ("Beijing touts its fighter jets to Gulf buyers", ""),
])
def test_marketing_equipment_to_foreign_buyers_is_an_arms_deal(matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead"), [
    ("Independence Day parade showcases new howitzers and drones", ""),
    ("Drone makers showcase long-range models at a trade fair in Kyiv", ""),
    ("Defence expo opens in Jakarta with a thousand exhibitors", ""),
])
def test_showing_equipment_with_no_buyer_or_export_is_not(matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" not in flagged(matcher, title, lead)


def test_choosing_a_defence_firm_is_a_procurement_decision(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Warsaw shortlists Hanwha and Saab for new submarine programme")
    assert "arms-deals" in flagged(matcher, "Riyadh and Washington sign a defence sales package")
    # a defence firm in the news for something else stays quiet
    assert "arms-deals" not in flagged(matcher, "Hanwha picks a new chief executive")


def test_getting_a_platform_is_receiving_it(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Jakarta to get two refurbished frigates from Seoul")
    assert "arms-deals" in flagged(matcher, "Ukraine gets its first Gripen fighters")
    # idioms beside a munition word, and disarmament, stay quiet
    assert "arms-deals" not in flagged(matcher, "A new weapon designed to get under the noses of protesters")
    assert "arms-deals" not in flagged(matcher, "Rebels pledge to get rid of their weapons by March")


@pytest.mark.parametrize("title", [
    "Coral bleaching spreads across Spratly reefs in record marine heatwave",
    "Drama set on Scarborough Shoal wins best picture at Manila film festival",
    "Fishermen rescued after their boat capsizes near the Paracels",
    "Tourists flock to the Falklands as cruise season opens",
])
def test_everyday_life_at_a_disputed_place_is_not_the_dispute(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" not in flagged(matcher, title)


def test_the_dispute_at_the_same_places_still_alerts(matcher: Matcher) -> None:
    water_cannon = "Chinese coast guard fires water cannon at Philippine boats near Scarborough Shoal"
    assert "maritime-disputes" in flagged(matcher, water_cannon)
    assert "maritime-disputes" in flagged(matcher, "Beijing protests Manila's new outpost in the Spratlys")


def test_words_that_only_look_like_incidents(matcher: Matcher) -> None:
    for title in ["Estonian navy tries to stop a shadow fleet tanker in the Gulf of Finland",
                  "New frigate will enter service with Japan's Maritime Self-Defense Force in 2027",
                  "Chinese and Russian warships hold joint patrol off Alaska"]:
        assert "maritime-disputes" not in flagged(matcher, title), title
    shadowing = "Chinese coast guard ships shadow Philippine vessels near Sabina Shoal"
    assert "maritime-disputes" in flagged(matcher, shadowing)


def test_quarrels_and_deals_over_fishing_and_sea_boundaries(matcher: Matcher) -> None:
    assert "maritime-disputes" in flagged(matcher, "Paris and London in fresh fishing row over Jersey licences")
    assert "maritime-disputes" in flagged(matcher, "Lebanon and Cyprus sign maritime boundary deal")


@pytest.mark.parametrize("title", [
    "Defence group's profit jumps as ammunition orders swell its backlog",
    "Hanwha Ocean wins order for four LNG carriers",
    "Carrier group sails through Bashi Channel with destroyers and a supply ship",
])
def test_a_defence_firms_results_and_civil_ships_are_not_arms_deals(matcher: Matcher, title: str) -> None:
    assert "arms-deals" not in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Manila says Chinese militia ships loitered inside its EEZ for weeks",
    "Hanoi and Beijing agree to manage their maritime differences",
    "Turkey's 'Blue Homeland' doctrine alarms Athens",
    "Nicosia warns Ankara after Turkish warships shadow a drillship",
    "Britain and Mauritius sign Chagos treaty",
])
def test_a_dispute_named_in_its_own_words_alerts(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" in flagged(matcher, title)


def test_lingering_tensions_are_not_ships_loitering(matcher: Matcher) -> None:
    assert "maritime-disputes" not in flagged(
        matcher, "ASEAN and China sign trade pact",
        "The signing came despite lingering tensions over the South China Sea.")


def test_letters_of_acceptance_and_patrol_craft_are_arms_deals(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Athens signs letter of acceptance for 20 F-35s")
    assert "arms-deals" in flagged(matcher, "Manila buys 20 fast patrol craft from Paris")
    assert "arms-deals" not in flagged(matcher, "Hanwha Aerospace launches a share sale to fund expansion")


def test_more_ways_a_sea_is_contested(matcher: Matcher) -> None:
    assert "maritime-disputes" in flagged(matcher, "Kyiv opens its own Black Sea corridor, defying Russia's blockade")
    assert "maritime-disputes" in flagged(matcher, "Decree to redraw Baltic Sea borders alarms Helsinki and Tallinn")
    assert "maritime-disputes" in flagged(matcher, "Chinese coast guard boards Taiwanese tourist boat off Kinmen")
    assert "maritime-disputes" in flagged(matcher, "New Delhi warns Islamabad over Sir Creek build-up")
    assert "maritime-disputes" not in flagged(matcher, "Scarborough subway extension delayed again")


def test_guns_smuggled_to_gangs_or_across_a_border_are_arms_trafficking(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Police seize rifles and grenades smuggled across the border")
    assert "arms-deals" in flagged(matcher, "Caribbean leaders press Washington to stem gun trafficking")
    assert "arms-deals" not in flagged(matcher, "State senate passes background checks for gun sales")


def test_handing_over_a_platform_is_a_transfer_but_not_wreckage_or_secrets(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Tokyo mulls handing two destroyers to Manila")
    assert "arms-deals" not in flagged(matcher, "Wreckage of crashed military aircraft handed to US forces")
    assert "arms-deals" not in flagged(matcher, "Sailor sold details of amphibious assault ships to a foreign agent")
    assert "arms-deals" not in flagged(matcher, "Airline orders 60 narrowbody jets for delivery from 2027")
    assert "arms-deals" not in flagged(matcher, "Drone maker picks Ohio for its new weapons factory")


def test_more_of_everyday_life_and_policing_are_not_the_dispute(matcher: Matcher) -> None:
    for title in ["DNA of extinct Dokdo sea lions sheds light on the species",
                  "Falklands economy booms on squid exports",
                  "Navy intercepts shabu shipment off Zambales",
                  "Australia arrests Indonesian fishermen for illegal fishing off the Kimberley",
                  "Navy ship sails for Antarctica resupply mission",
                  "Bangkok shelves submarine purchase over engine dispute"]:
        assert "maritime-disputes" not in flagged(matcher, title), title


def test_named_zones_and_the_diplomacy_of_a_dispute(matcher: Matcher) -> None:
    for title in ["Norway detains Russian trawler in Svalbard fisheries zone",
                  "Code of conduct talks stall as incidents mount",
                  "Marcos will not tolerate gray zone tactics off Zambales",
                  "Beijing calls British patrol vessel's Taiwan Strait voyage a provocation",
                  "Chinese coast guard ship shadows BRP Teresa Magbanua"]:
        assert "maritime-disputes" in flagged(matcher, title), title
    assert "maritime-disputes" not in flagged(matcher, "Pyongyang claims sovereign rights to self-defence")


def test_a_ship_class_batch_is_not_a_delivery(matcher: Matcher) -> None:
    assert "arms-deals" not in flagged(matcher, "Seoul launches first Jangbogo-III Batch-II submarine")


def test_a_count_and_a_model_name_between_the_deal_and_the_equipment_still_make_a_transfer(matcher: Matcher) -> None:
    # Headlines put the buyer, the count and the model between the trade word and the platform.
    assert "arms-deals" in flagged(matcher, "Army inks contract with Elbit for 24 ATMOS Mk II howitzers")
    assert "arms-deals" in flagged(matcher, "Air force signs order with Embraer for nine C-390 transport aircraft")
    # An order that is a command to use equipment is not a purchase.
    assert "arms-deals" not in flagged(
        matcher, "Governor ordered use of two National Guard helicopters against the crowds, report says"
    )


@pytest.mark.parametrize(("title", "lead", "watchlist"), [
    ("Hanoi says Chinese survey ship encroaches on its continental shelf", "", "maritime-disputes"),
    ("Cyprus objects to Turkish drilling plan in its exclusive economic zone", "", "maritime-disputes"),
    ("Dhaka says Yangon's new maritime zone overlaps Bangladesh's EEZ", "", "maritime-disputes"),
    ("ASEAN voices serious concern over incidents in the South China Sea", "", "maritime-disputes"),
    ("Turkish frigate shadows research vessel off Kasos", "", "maritime-disputes"),
    ("Jakarta resumes Rafale talks with Paris", "", "arms-deals"),
    ("Niger buys Turkish unmanned aircraft for its army", "", "arms-deals"),
    ("HAL signs contract for 113 F404 engines", "", "arms-deals"),
    ("Ministry signs licensing deal to build self-propelled guns with Hanwha", "", "arms-deals"),
    ("US clears sale of Harpoons and Sidewinders to Oslo", "", "arms-deals"),
])
def test_more_ways_stories_word_a_contest_or_a_transfer(matcher: Matcher, title: str, lead: str,
                                                         watchlist: str) -> None:
    assert watchlist in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead", "watchlist"), [
    ("Navy awards shipyard a contract to refit its Anzac frigates", "", "arms-deals"),
    ("Defence group agrees deal to buy a naval shipbuilder", "The takeover gives it a second yard.", "arms-deals"),
    ("Russian patrol ship bound for Tartus passes the Bosphorus", "", "arms-deals"),
    ("Truce talks resume as drones strike the capital", "", "arms-deals"),
    ("Floods cut roads across the Essequibo region", "", "maritime-disputes"),
])
def test_services_takeovers_voyages_and_floods_are_neither(matcher: Matcher, title: str, lead: str,
                                                            watchlist: str) -> None:
    assert watchlist not in flagged(matcher, title, lead)


def test_surveillance_aircraft_and_rifles_bound_for_gangs_are_transfers(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Japan donates two maritime surveillance aircraft to Vietnam")
    assert "arms-deals" in flagged(matcher, "Customs finds rifles bound for cartel gunmen in a Texas truck")


@pytest.mark.parametrize(("title", "lead", "watchlist"), [
    ("Qantas expands its long-haul fleet", "The carrier ordered 20 A350 jets for routes to Europe.", "arms-deals"),
    ("Navy ordered the foreign patrol vessel to leave the bay", "", "arms-deals"),
    ("Seoul's Defense Acquisition Program Administration unveils new missile test site", "", "arms-deals"),
    ("Energy firm is awarded a licence for a block near the frigate base", "", "arms-deals"),
    ("Navy intercepts a dhow with missile parts in the Arabian Sea", "", "maritime-disputes"),
])
def test_airliners_commands_agencies_oil_blocks_and_dhows_are_not_the_topics(
    matcher: Matcher, title: str, lead: str, watchlist: str
) -> None:
    assert watchlist not in flagged(matcher, title, lead)


def test_a_new_ship_handed_over_to_its_own_navy_is_not_a_transfer(matcher: Matcher) -> None:
    lead_own = "The yard said the frigate, armed with anti-ship missiles, will be handed over to the navy in May."
    assert "arms-deals" not in flagged(matcher, "Shipyard floats out new frigate", lead_own)
    lead_buyer = "The frigate, armed with anti-ship missiles, will be handed over to the Philippine Navy in May."
    assert "arms-deals" in flagged(matcher, "Korean yard floats out frigate for Manila", lead_buyer)


@pytest.mark.parametrize("title", [
    "Australia grants Tonga a new Guardian-class patrol boat",
    "Vietnam's navy to get the first of six new offshore patrol vessels",
])
def test_granting_and_getting_platforms_are_transfers(matcher: Matcher, title: str) -> None:
    assert "arms-deals" in flagged(matcher, title)


@pytest.mark.parametrize(("title", "lead", "watchlist"), [
    ("Navy sends ships after the cyclone", "Patrol vessels delivered food and fuel to island villages.", "arms-deals"),
    ("Defence group Hanwha wins order for commuter trains", "The deal covers 90 railcars for the metro.", "arms-deals"),
    ("Thales reports record orders as Europe rearms", "", "arms-deals"),
    ("Japan tracks Chinese destroyers near Okinawa",
     "The ministry said the ships passed through the contiguous zone but did not enter territorial waters.",
     "maritime-disputes"),
    ("Navy rescues crew of a burning freighter off the Paracel Islands", "", "maritime-disputes"),
])
def test_relief_civil_products_order_books_no_entry_and_rescues_are_not_the_topics(
    matcher: Matcher, title: str, lead: str, watchlist: str
) -> None:
    assert watchlist not in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead"), [
    ("Chinese frigates sail past Yonaguni island",
     "Japan's defence ministry said there were no violations of its territorial waters."),
    ("Veterans honour sailors lost in the 1974 Paracel Islands battle",
     "Families laid wreaths at a memorial in Da Nang."),
])
def test_no_violation_reported_and_remembrance_at_a_disputed_place_are_not_the_dispute(
    matcher: Matcher, title: str, lead: str
) -> None:
    assert "maritime-disputes" not in flagged(matcher, title, lead)


def test_violations_at_a_disputed_place_still_alert(matcher: Matcher) -> None:
    title = "Chinese ships violate Japan's territorial waters near the Senkaku Islands"
    assert "maritime-disputes" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Jakarta urges Beijing to respect the arbitral ruling",
    "Moscow moves to make the Sea of Azov Russian internal waters",
    "Norway and Iceland in row over fishing licences",
])
def test_rulings_internal_waters_and_fishing_licence_rows_are_the_dispute_s_law_and_rights(
    matcher: Matcher, title: str
) -> None:
    assert "maritime-disputes" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Council raises fishing licence fees for anglers",
    "Port pilots needed in internal waters of the Elbe, says authority",
    "Arbitration ruling ends shipping firms' dispute over charter fees",
])
def test_licence_fees_port_rules_and_commercial_arbitration_are_not_the_dispute(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" not in flagged(matcher, title)


def test_aircraft_crossing_the_median_line_are_air_pressure_not_a_contest_at_sea(matcher: Matcher) -> None:
    title = "Taiwan says 30 Chinese aircraft crossed the median line on Tuesday"
    assert "maritime-disputes" not in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Beijing says there is no median line in the Taiwan Strait",
    "Chinese coast guard ships cross the median line and shadow Taiwanese patrol boats",
    "Taiwan reports Chinese warplanes and warships crossing the median line",
])
def test_the_median_line_itself_and_ships_crossing_it_still_alert(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" in flagged(matcher, title)


@pytest.mark.parametrize(("title", "lead"), [
    ("First second-hand Norwegian F-16s touch down in Romania", ""),
    ("Two ex-Dutch minehunters arrive in Gdynia from Den Helder", ""),
    ("Coastal missile launchers from India arrive in Manila", "They are the first of three batteries bought in 2022."),
])
def test_equipment_arriving_from_a_seller_is_a_delivery(matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead"), [
    ("US destroyers arrive in Yokosuka for a port visit", ""),
    ("Chinese warships arrive at Ream base for joint drills", ""),
    ("Houston Rockets arrive in Shanghai for their first preseason game", ""),
    ("Ship carrying the wreckage of a crashed helicopter arrives from the crash site", ""),
])
def test_a_visit_a_drill_a_team_or_wreckage_arriving_is_not(matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" not in flagged(matcher, title, lead)


@pytest.mark.parametrize("title", [
    "Madrid suspends export licences to Riyadh over the war in Yemen",
    "Ottawa freezes new export permits to Ankara",
])
def test_export_licences_suspended_or_frozen_are_arms_export_control(matcher: Matcher, title: str) -> None:
    assert "arms-deals" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Washington revokes export licences for chip sales to Huawei",
    "Canberra suspends export permits for live cattle to Jakarta",
])
def test_export_licences_for_civilian_goods_are_not(matcher: Matcher, title: str) -> None:
    assert "arms-deals" not in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Nigeria orders six M-346 trainers",
    "Yerevan signs for more Pinaka",
    "Cairo signs for HQ-9B",
])
def test_trainers_rocket_artillery_and_air_defence_are_named_systems(matcher: Matcher, title: str) -> None:
    assert "arms-deals" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Athens rejects the Libya-Turkey maritime memorandum as void",
    "Tripoli's parliament moves to ratify the maritime deal with Ankara",
    "EU and Norway fail to agree mackerel quotas for next year",
    "Manila condemns China's dangerous manoeuvres against Philippine vessels",
    "Hanoi's new baseline breaks international law, Beijing says",
    "Moscow freezes the kelp deal for Japanese boats near Kaigara Island",
])
def test_maritime_deals_fishing_quotas_vessels_and_baselines_contested_by_states(
    matcher: Matcher, title: str
) -> None:
    assert "maritime-disputes" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Ferry operators sign maritime agreement on crew training",
    "Mackerel prices rise as the fishing season opens",
    "Two navy helicopters collide off the Izu islands, killing four",
    "Chinese and Philippine vessels join the rescue of a stranded crew",
    "Economists revise the baseline forecast for China and Vietnam",
])
def test_crew_deals_fish_prices_fatal_accidents_rescues_and_forecasts_are_not(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" not in flagged(matcher, title)


def test_a_first_jet_landing_for_its_buyer_is_a_delivery_but_carrier_landings_are_not(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "First Gripen E lands in Bangkok")
    assert "arms-deals" in flagged(matcher, "Warsaw signs for a second tranche of K2 tanks")
    lead = "Fighter jets took off and landed from the carrier south of Miyako, the first such drills this year."
    assert "arms-deals" not in flagged(matcher, "Chinese carrier drills near Okinawa", lead)


@pytest.mark.parametrize("title", [
    "ASEAN leaders call for a binding code of conduct",
    "Jakarta's new baseline rattles Kuala Lumpur",
    "Chinese survey ship lingers near Tu Chinh",
    "China protests Philippine upgrades on Thitu Island",
])
def test_the_code_of_conduct_a_rattled_neighbour_and_tu_chinh_are_the_dispute(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Bank adopts a new code of conduct for traders",
    "Coast guard evacuates a sick crewman from Thitu Island",
    "Pilgrims flock to the Katchatheevu church festival",
    "Tanker and cargo ship collide off Pedra Branca",
    "Pag-asa Island gets faster internet",
])
def test_codes_for_traders_and_evacuations_festivals_accidents_at_disputed_places_are_not(
    matcher: Matcher, title: str
) -> None:
    assert "maritime-disputes" not in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Canberra finalises Tomahawk purchase",
    "Oslo to donate two surveillance aircraft to Kyiv",
    "Seoul and Ankara settle the cost share of the KAAN programme",
    "Tokyo could allow fighter exports to third countries",
])
def test_systems_by_short_name_surveillance_aircraft_cost_shares_and_fighter_exports(
    matcher: Matcher, title: str
) -> None:
    assert "arms-deals" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Union and carmaker agree on cost sharing for new plant",
    "Surveillance aircraft tracks a storm over the Pacific",
])
def test_cost_sharing_without_equipment_and_a_weather_flight_are_not(matcher: Matcher, title: str) -> None:
    assert "arms-deals" not in flagged(matcher, title)


def test_china_s_structures_in_the_yellow_sea_and_the_hague_ruling_are_the_dispute(matcher: Matcher) -> None:
    assert "maritime-disputes" in flagged(matcher, "Seoul alarmed as Chinese platforms multiply in the Yellow Sea")
    assert "maritime-disputes" in flagged(matcher, "Manila marks the Hague ruling's anniversary")
    assert "maritime-disputes" not in flagged(matcher, "Korean firm builds wind platform in the Yellow Sea")


@pytest.mark.parametrize(("title", "lead"), [
    ("Air force inducts first Hurjet trainers from Turkey", ""),
    ("Navy takes possession of ex-Italian corvette at La Spezia", ""),
    ("Coast guard seizes boat carrying AK-47s off the coast", ""),
    ("Customs intercept consignment of grenades hidden in machine parts", ""),
    ("Pentagon notifies Congress of $300m radar package for Manila", ""),
    ("Defence Acquisition Council clears 40 helicopters", ""),
    ("Cairo in talks with Paris over more Rafale jets", ""),
    ("Lagos buys two gunships and mine-protected vehicles from Ankara", ""),
])
def test_inductions_seizures_notifications_and_clearances_are_arms_deals(
        matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead"), [
    ("Shipbuilder's net profit rises on frigate and submarine sales", ""),
    ("Defence group lifts full-year guidance as order backlog hits record", "Sales of munitions rose 30%."),
    ("Missile maker plans share sale to fund new ammunition plants abroad", ""),
    ("Coast guard crew seizes rifles from soldiers during boarding at disputed reef", ""),
    ("Hall of fame inducts former navy pilot who flew the first jets", ""),
])
def test_results_share_sales_rifles_taken_in_a_boarding_and_a_hall_of_fame_are_not(
        matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" not in flagged(matcher, title, lead)


def test_windfall_profits_that_pay_for_shells_are_still_aid(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "EU to buy artillery shells for Kyiv with windfall profits",
                                   "The package is paid for by profits on frozen assets.")


@pytest.mark.parametrize("title", [
    "Foreign research vessel surveyed the seabed off Palawan without permission, Manila says",
    "Iran shuts Strait of Hormuz to Western tankers",
    "Turkish fighter jets overfly Farmakonisi again",
    "Hanoi and Beijing open delimitation talks on the Gulf of Tonkin",
    "Phnom Penh and Bangkok to resume talks on the overlapping claims area",
])
def test_surveys_without_consent_shut_straits_overflights_and_delimitation_at_sea(
        matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Research vessel docks in Cebu after a survey approved by the government",
    "Forty migrants land on Agathonisi overnight",
    "Bhutan and China hold border delimitation talks in Thimphu",
    "Tourists return to Fournoi as ferry links resume",
])
def test_an_approved_survey_migrants_a_land_border_and_tourists_are_not(matcher: Matcher, title: str) -> None:
    assert "maritime-disputes" not in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "Seoul extends $300m defence credit line to Manila for patrol vessels",
    "Congress notified of $600m package of radars for Hanoi",
    "Dassault pitches Rafale to Jakarta with offsets and local assembly",
    "Malaysia eyes two landing docks from a Korean yard",
])
def test_credit_lines_notifications_offsets_and_landing_docks_are_arms_deals(matcher: Matcher, title: str) -> None:
    assert "arms-deals" in flagged(matcher, title)


@pytest.mark.parametrize(("title", "lead"), [
    ("Drone makers crowd the Dubai Airshow",
     "Visitors saw the new jets and drones, but no export deals were announced."),
    ("Navy budget grows by a tenth", "It funds missiles and frigates, without detailing specific contracts."),
    ("Helicopter maker opens final assembly line", "The plant will deliver civilian helicopters from next year."),
    ("City police buy two bomb-disposal robots", ""),
    ("Arms Trade Treaty conference opens in Geneva", ""),
    ("Defence ministry signs R&D deal for laser interceptors", ""),
])
def test_transfers_said_not_to_happen_civil_helicopters_robots_treaty_talks_and_r_and_d_are_not(
        matcher: Matcher, title: str, lead: str) -> None:
    assert "arms-deals" not in flagged(matcher, title, lead)


@pytest.mark.parametrize(("title", "lead"), [
    ("Navy intercepts arms shipment in the Gulf of Aden", "The dhow was carrying rifles from Iran to the Houthis."),
    ("Fishing boat lost in a gale near the Spratlys", ""),
    ("New school opens on Woody Island", ""),
])
def test_arms_interdiction_a_gale_and_a_school_at_disputed_places_are_not_the_dispute(
        matcher: Matcher, title: str, lead: str) -> None:
    assert "maritime-disputes" not in flagged(matcher, title, lead)


def test_a_seizure_in_the_dispute_still_alerts_beside_the_interdiction_exclusion(matcher: Matcher) -> None:
    title = "China coast guard intercepts Philippine supply boat at Ayungin Shoal"
    assert "maritime-disputes" in flagged(matcher, title)


def test_production_moved_abroad_is_an_arms_deal_and_production_at_home_is_not(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Drone maker to build its attack drones in Italy with a local partner")
    assert "arms-deals" in flagged(matcher, "Factory in Riyadh to assemble Chinese-designed drones")
    assert "arms-deals" not in flagged(matcher, "Ministry says domestic firms must build more drones in Taiwan")
    assert "arms-deals" not in flagged(matcher, "Missiles hit drone factory in Ukraine overnight")


@pytest.mark.parametrize("title", [
    "Back-to-back typhoons disrupt supply of rice in Luzon",
    "Typhoons delay delivery of relief goods to northern islands",
])
def test_storms_are_not_eurofighters(matcher: Matcher, title: str) -> None:
    assert "arms-deals" not in flagged(matcher, title)


def test_eurofighter_typhoons_bought_are_an_arms_deal(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Gulf state orders 24 more Typhoons from BAE")


def test_ships_declared_targets_and_a_blocked_medevac_are_maritime_disputes(matcher: Matcher) -> None:
    assert "maritime-disputes" in flagged(
        matcher, "Moscow says vessels bound for Ukrainian ports will be treated as military targets")
    assert "maritime-disputes" in flagged(
        matcher, "Chinese coast guard ships blocked a medical evacuation near a Philippine outpost")
    assert "maritime-disputes" not in flagged(matcher, "Ships bound for Rotterdam delayed by fog")


@pytest.mark.parametrize("title", [
    "Bangladesh Navy takes delivery of BNS Sangram from Chinese yard",
    "KRI Bung Karno arrives in Surabaya from Italian builder",
])
def test_a_navys_ship_named_by_its_prefix_handed_over_or_arriving_from_its_builder(
    matcher: Matcher, title: str
) -> None:
    assert "arms-deals" in flagged(matcher, title)


@pytest.mark.parametrize("title", [
    "USS Boxer arrives in Manila for a port visit",
    "Former sailor on USS Essex sold secrets to China, court told",
])
def test_a_named_ship_on_a_visit_or_a_sailor_aboard_is_no_transfer(matcher: Matcher, title: str) -> None:
    assert "arms-deals" not in flagged(matcher, title)


def test_the_first_units_rolled_out_for_a_buyer_but_not_a_prototype(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "First K2 tank for Poland rolls out at Changwon")
    assert "arms-deals" not in flagged(matcher, "Korea rolls out first KF-21 prototype")


def test_weapons_sent_beside_rocket_launchers_are_not_a_launch(matcher: Matcher) -> None:
    # the launch exclusion once named launch* as its context, which also matched "launchers"
    sent = "Pyongyang sent artillery shells and rocket launchers to Russia, Seoul says"
    assert "arms-deals" in flagged(matcher, sent)
    assert "arms-deals" not in flagged(matcher, "North Korea sent missiles into the sea in a test launch")


def test_the_sea_lion_oil_field_is_not_wildlife(matcher: Matcher) -> None:
    field = "Argentina protests approval of Sea Lion oil field off the Falklands"
    assert "maritime-disputes" in flagged(matcher, field)
    assert "maritime-disputes" not in flagged(matcher, "Sea lions return to Falklands beaches as tourists flock")


def test_weapons_reaching_an_armed_group_but_not_missiles_reaching_a_city(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "UN monitors say rifles reached rebels through a lake port")
    assert "arms-deals" not in flagged(matcher, "Missiles reached Kharkiv overnight, killing three")


@pytest.mark.parametrize(("title", "alerts"), [
    ("Patriot batteries for Ukraine due next month, Berlin says", True),
    ("Estonia adds six more K9 howitzers", True),
    # a platform "for" a state is often its own navy's; a coast guard's fleet is civilian
    ("New frigate for Japan's navy floated out in Nagasaki", False),
    ("Japan Coast Guard to add eight large patrol ships", False),
])
def test_equipment_bound_for_a_state_or_added_in_numbers(matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("title", "alerts"), [
    ("Jakarta confirms 20 attack drones from Turkish maker", True),
    ("Lima takes 44 tanks from KNDS", True),
    ("Japanese shipyard to build two frigates for Indonesian navy", True),
    # makers at a fair, and missiles "from" where they were fired
    ("Turkish firms show new drones at Istanbul fair", False),
    ("Missiles from Yemen hit Eilat port", False),
])
def test_equipment_named_with_its_maker_but_not_a_fair_or_a_launch_site(
        matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title)) is alerts


def test_a_buyers_first_jets_landing_at_an_air_base_but_not_jets_there_for_drills(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "First Kazakh Rafales touch down at Taldykorgan air base")
    assert "arms-deals" not in flagged(matcher, "US jets land at Kadena air base for drills")


def test_a_pact_for_ships_and_an_order_won_by_a_named_maker(matcher: Matcher) -> None:
    assert "arms-deals" in flagged(matcher, "Manila, Seoul sign pact for two more corvettes")
    assert "arms-deals" not in flagged(matcher, "Manila, Seoul sign pact for fisheries cooperation")
    assert "arms-deals" in flagged(matcher, "Hensoldt wins Slovak order")
    assert "arms-deals" not in flagged(matcher, "Hensoldt wins railway signalling order in Bavaria")


@pytest.mark.parametrize(("title", "alerts"), [
    ("Algerian Su-57s seen at Oum El Bouaghi for the first time", True),
    ("Egypt's air defence command fields new Chinese HQ-9B batteries", True),
    ("Arrow 3 declared operational in Germany", True),
    # a state's own system, a system used against a state, one deployed or flying near another state
    ("China shows its HQ-9B at Zhuhai air show", False),
    ("Russian Iskander missiles hit Kharkiv", False),
    ("US Typhon launcher to stay in the Philippines, Manila says", False),
    ("Chinese J-16s fly near Taiwan's air defence zone", False),
])
def test_a_named_system_in_the_hands_of_a_state_that_did_not_make_it(
        matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("title", "alerts"), [
    ("Third Hangor-class submarine launched at Wuchang for Pakistan", True),  # a buyer's ship launched at its yard
    ("Mongolian army shows off Russian T-72 tanks", True),  # "shows off", and a state the maritime rules never name
    ("Kazakh air force takes delivery of Turkish Anka drones", True),
    ("Seoul to lend Warsaw 100,000 artillery shells", True),
    ("Indian Army inducts first batch of women into artillery", False),
    ("Algerian Su-30 skids off runway at Oum El Bouaghi", False),  # an accident
])
def test_a_ship_launched_for_its_buyer_and_states_that_border_no_contested_sea(
        matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("title", "alerts"), [
    ("Jakarta will keep drilling off Natuna despite Beijing's objections", True),  # defiance is the contest
    ("Hanoi and Manila urge Beijing to respect the 2016 award", True),
    ("Seoul publishes Yellow Sea baseline, drawing Beijing rebuke", True),
    ("Philippine mango exports to China hit record despite sea row", False),  # the dispute as background
    ("Pirates hijack bulk carrier off Somalia, EU naval force says", False),
    ("Hainan opens duty-free zone as goods enter the island tariff-free", False),
])
def test_defying_a_claimant_is_the_dispute_and_a_dispute_in_the_background_is_not(
        matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("maritime-disputes" in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("title", "lead", "alerts"), [
    # a state's own system at a milestone of its programme
    ("Taigei-class submarine Raigei launched in Kobe",
     "The fifth submarine of its class will be delivered to the Maritime Self-Defense Force in 2027.", False),
    ("PLA Navy commissions first Type 076 amphibious assault ship",
     "The Sichuan, which can launch drones, was handed over in Shanghai, Xinhua reported.", False),
    # the same milestone for a buyer abroad, and an order for a state's own system
    ("Third Hangor-class submarine launched at Wuchang for Pakistan",
     "The submarine will be delivered to the Pakistan Navy next year.", True),
    ("Japan orders two more Taigei-class submarines",
     "The defence ministry signed a contract with Mitsubishi Heavy Industries.", True),
])
def test_a_states_own_system_launched_or_commissioned_is_no_transfer_but_an_order_for_it_is(
        matcher: Matcher, title: str, lead: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title, lead)) is alerts


@pytest.mark.parametrize(("title", "alerts"), [
    ("Washington lifts curb on offensive weapons for Riyadh", True),
    ("President holds back 2,000-pound bombs over Rafah concerns", True),
    ("Army holds back artillery fire as talks resume", False),  # fire held back is no supply
    ("Treaty ban on cluster munitions turns fifteen", False),
])
def test_a_supply_held_back_or_let_go_is_an_arms_deal(matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("title", "lead", "alerts"), [
    ("Beijing accuses Ottawa of provocation after frigate's strait passage", "", True),
    ("Two allied frigates transit the strait; Eastern Theater says it 'monitored the entire process'", "", True),
    ("Manila won't honour China's summer fishing ban", "", True),
    ("Haze cuts visibility in Malacca Strait, ships warned", "", False),  # the weather warns ships too
    ("Two navy helicopters collide during night training off Izu islands", "", False),
])
def test_a_strait_passage_answered_and_a_ban_not_honoured_are_maritime_disputes(
        matcher: Matcher, title: str, lead: str, alerts: bool) -> None:
    assert ("maritime-disputes" in flagged(matcher, title, lead)) is alerts


@pytest.mark.parametrize(("title", "alerts"), [
    ("Hanoi will keep drilling off its coast despite Chinese warning", True),  # defying the claimant
    ("China Coast Guard personnel rammed and boarded two navy boats, the army chief said", True),
    ("US Navy P-8 flies through Taiwan Strait; PLA scrambles jets", True),
    ("Shell will keep drilling in the North Sea despite low oil prices", False),  # no other claimant
    ("China's new carrier sails through Taiwan Strait before commissioning", False),  # no answer to it
])
def test_defying_a_claimant_and_the_china_coast_guards_hard_incidents_are_disputes(
        matcher: Matcher, title: str, alerts: bool) -> None:
    assert ("maritime-disputes" in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("watchlist", "title", "alerts"), [
    ("arms-deals", "Panel says Gulf state flew weapons to militia in Sudan via Chad", True),
    ("arms-deals", "Rail cars carrying munitions to Russia seen at border, images show", True),
    ("arms-deals", "Radar issue forces plane carrying princess to Peru to return", False),  # people carried
    ("arms-deals", "Air force backs Gripen over F-16 for its next fighter", True),
    ("maritime-disputes", "Sri Lanka navy arrests 22 Indian fishermen for poaching in its waters", True),
    ("maritime-disputes", "Sri Lanka releases Indian fishermen on humanitarian grounds", False),
])
def test_equipment_carried_to_a_state_a_system_preferred_and_the_palk_bay_arrests(
        matcher: Matcher, watchlist: str, title: str, alerts: bool) -> None:
    assert (watchlist in flagged(matcher, title)) is alerts


@pytest.mark.parametrize(("watchlist", "title", "lead", "alerts"), [
    ("maritime-disputes", "CCG cutters shadow Petronas drillship off Sarawak for third week", "", True),
    ("maritime-disputes", "Beijing warns Manila over joint patrols with Japan", "", True),
    ("maritime-disputes", "Beijing says it let Sierra Madre resupply go ahead after 'on-site verification'", "", True),
    ("arms-deals", "PLA says it tracked US destroyer sailing through Taiwan Strait",
     "Beijing accused Washington of hyping the passage, the first by an American warship since Lai took office.",
     False),  # "took office" is no delivery
    ("arms-deals", "Study on US Patriot missile failures in Ukraine published by Chinese scientists", "", False),
])
def test_the_coast_guards_incidents_a_warning_over_patrols_and_what_is_no_transfer(
        matcher: Matcher, watchlist: str, title: str, lead: str, alerts: bool) -> None:
    assert (watchlist in flagged(matcher, title, lead)) is alerts


@pytest.mark.parametrize(("title", "lead", "alerts"), [
    ("French defence budget to reach 64 billion euros by 2030",
     "The plan includes more money for ammunition and drones but did not specify new procurement programmes.", False),
    ("Special defence budget set aside for US weapons and drones",
     "The cabinet approved purchases of US-made precision missiles and air defence systems.", True),
    ("Budget committee clears Patriot missile purchase", "", True),  # a named system is a specific purchase
])
def test_a_budget_with_no_specific_purchase_is_no_arms_deal(
        matcher: Matcher, title: str, lead: str, alerts: bool) -> None:
    assert ("arms-deals" in flagged(matcher, title, lead)) is alerts


@pytest.mark.parametrize(("watchlist", "title", "lead"), [
    ("arms-deals", "'Smart' sea mine that picks its own targets developed by Chinese team, paper says", ""),
    ("arms-deals", "Shenzhen's skies fill up as 'low-altitude economy' takes off",
     "Meituan says its drones have delivered more than 200,000 orders of bubble tea and takeaways this year."),
    ("arms-deals", "PLA turns to university graduates as it seeks tech-savvy recruits",
     "Recruitment notices say graduates will receive priority placement in drone, cyber and space units."),
    ("arms-deals", "Navy submarine crews got illicit perks from shipbuilder, probe finds", ""),
    ("maritime-disputes", "Scientists find world's deepest blue hole in South China Sea is even deeper",
     "A new survey of the Sansha Yongle Blue Hole suggests it reaches more than 380 metres."),
])
def test_weapons_research_civil_drones_recruits_and_science_at_sea_are_not_the_topics(
        matcher: Matcher, watchlist: str, title: str, lead: str) -> None:
    assert watchlist not in flagged(matcher, title, lead)


@pytest.mark.parametrize(("watchlist", "title", "lead", "alerts"), [
    ("arms-deals", "Japanese researchers develop railgun prototype capable of firing from ship",
     "The Acquisition, Technology and Logistics Agency tested the weapon aboard a navy vessel.", False),
    ("arms-deals", "China accuses Manila of trying to occupy the reef by reinforcing grounded warship",
     "The coastguard said it would block any delivery of construction materials to the BRP Sierra Madre.", False),
    ("maritime-disputes", "ASEAN foreign ministers voice concern over 'serious incidents' in South China Sea", "",
     True),
])
def test_an_agencys_name_goods_for_a_ship_and_concern_voiced_over_a_contested_sea(
        matcher: Matcher, watchlist: str, title: str, lead: str, alerts: bool) -> None:
    assert (watchlist in flagged(matcher, title, lead)) is alerts


# The concepts of the thirteenth session, one table: each case names its concept (the pytest id), and the
# cases that alert show what the concept adds, the ones that do not what it must leave alone.
CONCEPT_CASES = [
    pytest.param("arms-deals", "Swiss Patriot deliveries slip as Washington puts Kyiv first",
                 "", True, id="name-with-trade-noun"),
    pytest.param("arms-deals", "Seoul and Warsaw ink third K2 contract", "", True, id="name-with-trade-noun"),
    pytest.param("arms-deals", "Berlin still says no to Taurus deliveries for Kyiv",
                 "", True, id="name-with-trade-noun"),
    pytest.param("arms-deals", "Climbers turn back below K2 summit as storm closes in",
                 "", False, id="name-with-trade-noun"),
    pytest.param("arms-deals", "Patriot Act renewal stalls in the Senate", "", False, id="name-with-trade-noun"),
    pytest.param("arms-deals", "Washington approves $8bn in missiles and fighter jets for Saudi Arabia",
                 "", True, id="approved-for-a-state"),
    pytest.param("arms-deals", "Tokyo to give Vietnam six patrol boats and a coastal radar",
                 "", True, id="given-to-a-state"),
    pytest.param("arms-deals", "Cheap drones give Ukraine an edge over the Black Sea Fleet",
                 "", False, id="given-to-a-state"),
    pytest.param("arms-deals", "White House approves cluster bombs and landmines for Ukraine",
                 "", True, id="landmines"),
    pytest.param("arms-deals", "Boarding team finds a skiff carrying drone engines to the Houthis",
                 "", True, id="carried-to-armed-group"),
    pytest.param("arms-deals", "Britain, Italy and Japan sign GCAP work-share deal", "", True, id="gcap"),
    pytest.param("arms-deals", "Lima signs nine contracts with foreign suppliers at its first defence expo",
                 "", True, id="contracts-at-defence-fair"),
    pytest.param("arms-deals", "Bulgarian shells diverted to Ukraine through Polish traders, files show",
                 "", True, id="equipment-diverted"),
    pytest.param("arms-deals", "Court refuses to order Berlin to halt arms to Israel",
                 "", True, id="arms-to-a-state-halted"),
    pytest.param("arms-deals", "UN panel cites regular arms flights to rebels via Niger",
                 "", True, id="arms-flights-and-orders"),
    pytest.param("arms-deals", "Backlog of Warsaw's arms orders grows as factories lag",
                 "", True, id="arms-flights-and-orders"),
    pytest.param("arms-deals", "Customs officers seize military drones bound for Sudan", "", True, id="seized-drones"),
    pytest.param("arms-deals", "Talks on Super Hornet sale to Malaysia stall over price", "", True, id="hornets"),
    pytest.param("arms-deals", "Pentagon signs artillery shell contract with Ohio plant",
                 "", True, id="shell-not-the-oil-major"),
    pytest.param("arms-deals", "Pyongyang's leader orders mass production of new cruise missiles",
                 "", False, id="command-to-produce"),
    pytest.param("arms-deals", "Souvenir shop turns old artillery shells into kitchen knives",
                 "Buyers snap up blades made from shell casings.", False, id="made-from-weapons"),
    pytest.param("arms-deals", "Port officers seize 500 replica rifles hidden in a container",
                 "", False, id="replicas"),
    pytest.param("arms-deals", "Beijing tells Manila to remove the US Typhon missile launcher",
                 "", False, id="demand-to-remove"),
    pytest.param("arms-deals", "Typhon launcher to remain in Japan after drills, officials say",
                 "", False, id="system-that-remains"),
    pytest.param("arms-deals", "Shipbuilder paid for gifts for navy crews, inquiry finds",
                 "", False, id="gifts-to-crews"),
    pytest.param("arms-deals", "Patrol vessel rescues burning freighter's crew and hands them to police",
                 "", False, id="people-handed-over"),
    pytest.param("arms-deals", "First woman takes the helm of a destroyer flotilla", "", False, id="takes-the-helm"),
    pytest.param("arms-deals", "Scientists' AI picks out submarines from ocean noise", "", False, id="picks-out"),
    pytest.param("arms-deals", "Navy hands 40 new drones to front-line units", "", False, id="own-units"),
    pytest.param("arms-deals", "Marine police take delivery of fast interceptor boats", "", False, id="police-craft"),
    pytest.param("arms-deals", "Defence group raises sales outlook on European demand", "", False, id="sales-outlook"),
    pytest.param("arms-deals", "Jets destroy arms depots to keep them out of extremists' hands",
                 "", False, id="out-of-hands"),
    pytest.param("arms-deals", "Islanders ordered into shelters as artillery fire resumes",
                 "", False, id="ordered-into-shelters"),
    pytest.param("arms-deals", "Shipping giant halts shipments to Israel over Red Sea attacks",
                 "", False, id="shipping-line"),
    pytest.param("arms-deals", "New agency to make missiles at home and cut reliance on imports",
                 "", False, id="reliance-on-imports"),
    pytest.param("maritime-disputes", "Coast guard boats fire on two navy tugs heading for the Kerch Strait",
                 "", True, id="fire-on-at-a-strait"),
    pytest.param("maritime-disputes", "Navy marksmen fire on floating targets in live-fire drill",
                 "", False, id="fire-on-at-a-strait"),
    pytest.param("maritime-disputes", "Talks on ASEAN-China COC stall over whether it will bind",
                 "", True, id="code-of-conduct-talks"),
    pytest.param("maritime-disputes", "Beijing and ASEAN diplomats trade drafts of the sea code in Jakarta",
                 "", True, id="code-of-conduct-talks"),
    pytest.param("maritime-disputes", "Parliament adopts new code of conduct for MPs after expenses scandal",
                 "", False, id="code-of-conduct-talks"),
    pytest.param("maritime-disputes", "Fishing crews chased off a reef that both countries claim",
                 "", True, id="claimed-by-both"),
    pytest.param("maritime-disputes", "Beijing declares new baselines in the Beibu Gulf",
                 "", True, id="baselines-drawn"),
    pytest.param("maritime-disputes", "Hanoi and Beijing promise to manage their sea disagreements",
                 "", True, id="sea-disagreements"),
    pytest.param("maritime-disputes", "Ankara cites Montreux Convention to bar warships from the Black Sea",
                 "", True, id="montreux"),
    pytest.param("maritime-disputes", "Beirut complains to UN over the buoy line Israel laid off its coast",
                 "", True, id="complaint"),
    pytest.param("maritime-disputes", "Caracas map puts Guyana's offshore blocks inside Venezuela",
                 "", True, id="guyana-map"),
    pytest.param("maritime-disputes", "Beijing protests Manila's new runway on Zhongye Dao",
                 "", True, id="zhongye-dao"),
    pytest.param("maritime-disputes", "Bombers intercepted in international airspace off Alaska",
                 "", False, id="international-airspace"),
    pytest.param("maritime-disputes", "Korea's landing ship Dokdo returns to Busan after overhaul",
                 "", False, id="ship-named-dokdo"),
    pytest.param("maritime-disputes", "Coast guard commissions two cutters fitted with water cannon",
                 "", False, id="water-cannon-fitted"),
    pytest.param("maritime-disputes",
                 "Tanker catches fire on its way to Singapore; navy rescues crew in the South China Sea",
                 "", False, id="fire-on-board"),
    pytest.param("maritime-disputes", "Carrier group enters the Philippine Sea, defence ministry says",
                 "", False, id="open-sea-entered"),
    pytest.param("maritime-disputes", "China's coast guard enters the Arctic for the first time with Russian ships",
                 "", False, id="open-sea-entered"),
    pytest.param("maritime-disputes", "Coast guard flotilla enters the Arctic for the first time",
                 "", False, id="open-sea-entered"),
    pytest.param("maritime-disputes", "Coast guard detains Chinese-crewed dredger over sand mining",
                 "", False, id="sand-mining"),
    pytest.param("maritime-disputes", "Drone 'mothership' can launch swarms at sea, scientists say",
                 "", False, id="drone-swarm"),
    pytest.param("maritime-disputes", "Destroyer captain relieved after ship strayed into foreign waters",
                 "The vessel entered territorial waters after a navigation error.", False, id="navigation-error"),
    pytest.param("maritime-disputes", "Admirals hold talks on ways to avoid unsafe encounters at sea",
                 "", False, id="safety-talks"),
    pytest.param("maritime-disputes", "Patrol boat sinks after striking a submerged object off the coast",
                 "", False, id="submerged-object"),
    pytest.param("maritime-disputes", "Tokyo and Moscow agree salmon catch quotas in Russia's exclusive economic zone",
                 "", False, id="fishing-quotas"),
    pytest.param("maritime-disputes", "Japan and US to co-produce interceptor missiles for the US Navy",
                 "", False, id="interceptor-missiles"),
    # fourteenth session
    pytest.param("arms-deals", "Former procurement chief who signed Gripen purchase found dead in Prague",
                 "", False, id="people-news"),
    pytest.param("arms-deals", "Ex-minister behind 2012 frigate purchase files candidacy for governor",
                 "He was cleared over the deal for two Italian frigates in 2019.", False, id="people-news"),
    pytest.param("arms-deals", "Border guard pilot defected, flying his Mi-24 helicopter to Turkey",
                 "", False, id="people-news"),
    pytest.param("arms-deals", "Budapest signs purchase of four more Gripen jets", "", True, id="people-news"),
    # fifteenth session: a minister's downfall is people news too
    pytest.param("arms-deals", "Manila names new defence minister to replace ousted general",
                 "The ousted minister had been placed on a US sanctions list over arms purchases from Russia.",
                 False, id="people-news"),
    pytest.param("arms-deals", "New defence minister signs deal for 12 K9 howitzers from South Korea", "", True,
                 id="people-news"),
    # fifteenth session: money voted or given for weapons for a state is arms aid; a state's own budget is not
    pytest.param("arms-deals", "Senate passes $95bn aid package for Ukraine, Israel and Taiwan",
                 "The bill includes billions for weapons and ammunition for Kyiv.", True, id="money-for-weapons"),
    pytest.param("arms-deals", "Lawmakers vote on bill with $300 million for weapons for Ukraine", "", True,
                 id="money-for-weapons"),
    pytest.param("arms-deals", "Japan's defence budget sets aside billions for missiles to defend its islands", "",
                 False, id="money-for-weapons"),
    # fifteenth session, from writtendev2026bq: weapons shipped to a party, a package named by its contents
    pytest.param("arms-deals", "Tehran shipped attack drones to Khartoum, officials say", "", True,
                 id="shipped"),
    pytest.param("arms-deals", "White House readies $400 million package of interceptors and shells", "", True,
                 id="package-of"),
    pytest.param("arms-deals", "EU adopts new package of sanctions on drone makers", "", False, id="package-of"),
    pytest.param("arms-deals", "Navy boats delivering supplies were blocked; the crew's rifles were seized", "", False,
                 id="supplies-carried"),
    pytest.param("arms-deals", "Spending on defence technology reached $5.2 billion last year", "", False,
                 id="sum-reached"),
    pytest.param("arms-deals", "Start-ups draw record venture funding for military drones", "", False,
                 id="venture-funding"),
    pytest.param("arms-deals", "Beijing curbs exports of minerals used in chips and military technology", "",
                 False, id="raw-materials"),
    # fifteenth session, from writtendev2026br: a firm's results that name a transfer to a state report it
    pytest.param("arms-deals", "Rheinmetall quarterly revenue jumps",
                 "The group said it signed a contract to deliver air defence systems to Ukraine.", True,
                 id="results-with-transfer"),
    pytest.param("arms-deals", "Rheinmetall quarterly revenue jumps",
                 "The group said demand for munitions lifted sales.", False, id="results-with-transfer"),
    pytest.param("arms-deals", "Lawmakers approve transfer of armoured carriers to Kyiv", "", True,
                 id="armoured-carriers"),
    pytest.param("arms-deals", "Contractor fined for exporting defence articles to China without a licence", "", True,
                 id="defence-articles"),
    pytest.param("arms-deals", "Court halts gunpowder shipments over rules on military exports", "", True,
                 id="military-exports"),
    pytest.param("arms-deals", "Retired colonel diverted rifles from army depots to rebels", "", True,
                 id="diverted-guns"),
    pytest.param("arms-deals", "Engineer charged with selling documents on missile systems to a foreign agent", "",
                 False, id="sold-documents"),
    pytest.param("arms-deals", "Workers at tank plant reject 3% pay offer",
                 "The union said members would strike; the site builds armoured vehicles.", False, id="pay-offer"),
    pytest.param("arms-deals", "Investment firm closes $1bn purchase of Kinetic rival",
                 "The holding said the deal, which includes the Federal ammunition brand, makes it a leading maker of "
                 "rounds.", False, id="brand-takeover"),
    # fifteenth session: the maritime events of 2024, as a probe of the concepts (written from general knowledge)
    pytest.param("maritime-disputes", "China and Philippines trade blame after ships collide near Sabina Shoal",
                 "Manila says a Chinese coast guard vessel deliberately rammed its cutter at Escoda Shoal.",
                 True, id="events-2024"),
    pytest.param("maritime-disputes", "Philippines passes Maritime Zones Act, China summons ambassador",
                 "Beijing says the law illegally includes Huangyan Island and most of the Nansha Islands.",
                 True, id="events-2024"),
    pytest.param("maritime-disputes", "China announces baselines around Scarborough Shoal",
                 "The move draws a protest from Manila, which says the shoal lies within its exclusive economic zone.",
                 True, id="events-2024"),
    pytest.param("maritime-disputes", "China coast guard boards Taiwanese tourist boat off Kinmen",
                 "The inspection follows a deadly chase in restricted waters last week.", True, id="events-2024"),
    pytest.param("maritime-disputes", "Japanese destroyer sails through Taiwan Strait for first time",
                 "The transit drew criticism from Beijing, which claims jurisdiction over the waterway.",
                 True, id="events-2024"),
    pytest.param("maritime-disputes", "Chinese and Russian coast guard ships hold first joint patrol in Arctic",
                 "US officials watch closely as Beijing expands its reach north.", False, id="events-2024"),
    pytest.param("arms-deals", "Super Tucano crashes while providing air support to ground troops",
                 "", False, id="air-support"),
    pytest.param("arms-deals", "Delivery rider killed as armoured vehicle rams protesters",
                 "", False, id="delivery-jobs"),
    pytest.param("arms-deals", "Beijing curbs exports of antimony, a metal used in ammunition",
                 "", False, id="metal-in-munitions"),
    pytest.param("arms-deals", "Kim orders bigger output of missile launchers at munitions plant",
                 "", False, id="leader-orders-output"),
    pytest.param("arms-deals", "Navy clerk jailed for espionage",
                 "She admitted selling technical manuals on the navy's frigates to a foreign intelligence officer.",
                 False, id="espionage"),
    pytest.param("arms-deals", "Washington clears $200m in aircraft spare parts for Taiwan",
                 "", True, id="spare-parts-approved"),
    pytest.param("maritime-disputes", "Xiang Yang Hong 03 works in Indonesia's EEZ without permission, Jakarta says",
                 "", True, id="research-ship-names"),
    pytest.param("maritime-disputes", "Chinese survey ship docks in Colombo for replenishment",
                 "Sri Lanka said the Shi Yan 6 would do no research in its waters.", False,
                 id="research-ship-names"),
    pytest.param("maritime-disputes", "BRP Antonio Luna fires at towed targets in gunnery drill",
                 "", False, id="towed-target"),
    # A seat of government stands for its state as a capital does (Putrajaya, Naypyitaw), and a naval yard's
    # group name is its maker's: "signs with HD Hyundai" is an order. A yard's repair or overhaul of a
    # navy's ships is a service, not equipment changing hands.
    pytest.param("arms-deals", "Putrajaya inks pact with Leonardo for M-346 trainers", "", True,
                 id="seat-of-government"),
    pytest.param("arms-deals", "Naypyitaw to field more Chinese FTC-2000G jets", "", True, id="seat-of-government"),
    pytest.param("arms-deals", "Lima signs with HD Hyundai for patrol vessels", "", True, id="yard-group-name"),
    pytest.param("arms-deals", "Navy signs with HD Hyundai for two more frigates", "", True, id="yard-group-name"),
    pytest.param("arms-deals", "Hanwha Ocean signs overhaul agreement for US Navy vessels", "", False,
                 id="repair-is-a-service"),
    pytest.param("arms-deals", "HD Hyundai signs five-year deal to maintain US Navy supply ships", "", False,
                 id="repair-is-a-service"),
    # What a programme enters is a stage (trials, production), not waters; ships that enter waters still do.
    pytest.param("maritime-disputes", "Philippine Navy's new offshore patrol vessel enters trials off Subic", "",
                 False, id="enter-a-stage"),
    pytest.param("maritime-disputes", "Philippine coast guard drone to enter production at Cebu plant", "", False,
                 id="enter-a-stage"),
    pytest.param("maritime-disputes", "Chinese coast guard ships enter Philippine waters near Sabina Shoal", "", True,
                 id="enter-a-stage"),
    # Annexing waters is claiming them; annexing land is not a contest at sea.
    pytest.param("maritime-disputes", "Kyiv says Moscow's decree is an attempt to annex its coastal waters", "", True,
                 id="annex-waters"),
    pytest.param("maritime-disputes", "Russia annexed Crimea a decade ago; Kyiv marks the date", "", False,
                 id="annex-waters"),
    # Grenades are munitions: traced to an armed group, they are arms that reached it.
    pytest.param("arms-deals", "Rebels' grenades traced to Serbian factory, investigators say", "", True,
                 id="grenades-are-munitions"),
    # The long tail of the trade's kit: armoured cars, army trucks, sights, night vision, electronic warfare,
    # trainer aircraft named by type; kit stolen and sold on is theft, and night vision for hunting is no kit.
    pytest.param("arms-deals", "Zambia takes delivery of Chinese-made armoured cars", "", True, id="long-tail-kit"),
    pytest.param("arms-deals", "Kazakhstan orders thermal sights from Belarusian maker", "", True, id="long-tail-kit"),
    pytest.param("arms-deals", "Peru buys tactical trucks from Czech manufacturer", "", True, id="long-tail-kit"),
    pytest.param("arms-deals", "Japan donates night vision devices to Philippine army", "", True, id="long-tail-kit"),
    pytest.param("arms-deals", "Armenia receives electronic warfare equipment from India", "", True,
                 id="long-tail-kit"),
    pytest.param("arms-deals", "Namibia buys PC-9 trainers from Switzerland", "", True, id="long-tail-kit"),
    pytest.param("arms-deals", "Marine sold stolen night vision goggles online, court hears", "", False,
                 id="long-tail-kit"),
    pytest.param("arms-deals", "Hunters turn to night vision goggles as wild boar numbers soar", "", False,
                 id="long-tail-kit"),
    # A claim contested before a commission, and a feature named without its generic word, are the dispute.
    pytest.param("maritime-disputes", "Canada contests Denmark's seabed claim in the Arctic before UN panel", "", True,
                 id="contests-a-claim"),
    pytest.param("maritime-disputes", "US rejects Haitian claim to Navassa", "", True, id="contests-a-claim"),
]


@pytest.mark.parametrize(("watchlist", "title", "lead", "alerts"), CONCEPT_CASES)
def test_each_concept_alerts_where_it_should_and_nowhere_else(
        matcher: Matcher, watchlist: str, title: str, lead: str, alerts: bool) -> None:
    assert (watchlist in flagged(matcher, title, lead)) is alerts
