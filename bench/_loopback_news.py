"""A loopback news world for the operational benchmarks (`bench/kill_test.py`, `bench/soak.py`) and
their pytest versions: story text, a news site of many feed sources, alert receivers, config files
and /proc sampling.

- `StoryFactory` writes realistic articles from the sentence pools below — maritime-dispute stories
  (Scarborough and Second Thomas Shoal water cannon incidents, Senkaku patrols, Paracel surveys),
  arms-deal stories (BrahMos for the Philippines, FA-50s, submarines) and calm stories — and keeps only
  articles that the default watchlists judge as intended (`newswatch`'s own matcher) and that are not
  near-duplicates of an article already made (`alerts.stories.fingerprint`, with a safety margin
  below the grouping thresholds), so every matching article is one story and one alert per target.
- `NewsSite` serves `/feeds/<source>.xml` (RSS 2.0, newest `FEED_WINDOW` items, ETag → 304) and
  `/news/<slug>` article pages, and records when each item appeared in its feed.
- `AlertSink` (Slack or JSON webhook) and `MailSink` (aiosmtpd) record every alert with its arrival
  time; both can delay their answer (to widen the window between a send and its record) and fail a
  share of calls (to exercise retries).
- `write_config()` writes a config with N feed sources, the default watchlists and the three targets.
- `tree_usage()` reads RSS and open file descriptors of a process and its descendants from /proc.

Everything binds 127.0.0.1, port 0. Settings read: none.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e_site import NEWSWATCH, article_page  # noqa: E402
from tests.loopback import LoopbackHTTPServer, Request, Response, _free_port  # noqa: E402

__all__ = ["NEWSWATCH", "ROOT"]

FEED_WINDOW = 30  # items a feed lists (newest first), as outlets' feeds do

SLOTS: dict[str, list[str]] = {
    "cg": ["China Coast Guard", "Chinese coast guard", "Chinese maritime militia", "People's Liberation Army Navy"],
    "ph_vessel": ["BRP Cabra", "BRP Teresa Magbanua", "BRP Datu Bankaw", "BRP Cape Engaño", "BRP Bagacay",
                  "Unaizah May 4", "BRP Sindangan", "BRP Cabra and BRP Bagacay", "M/L Kalayaan",
                  "BRP Datu Sanday"],
    "ph_feature": ["Scarborough Shoal", "Second Thomas Shoal", "Sabina Shoal", "Whitsun Reef", "Thitu Island",
                   "Reed Bank", "Mischief Reef", "Ayungin Shoal", "Bajo de Masinloc", "Pag-asa Island"],
    "official": ["Commodore Jay Tarriela", "Rear Admiral Roy Vincent Trinidad", "Foreign Secretary Enrique Manalo",
                 "National Security Adviser Eduardo Año", "Defence Secretary Gilberto Teodoro",
                 "Admiral Ronnie Gil Gavan", "Senator Risa Hontiveros", "Ambassador Jose Manuel Romualdez"],
    "cn_official": ["foreign ministry spokesperson Mao Ning", "foreign ministry spokesperson Lin Jian",
                    "coast guard spokesman Gan Yu", "coast guard spokesman Liu Dejun",
                    "defence ministry spokesman Zhang Xiaogang", "Ambassador Huang Xilian"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "count": ["two", "three", "four", "five", "six", "seven", "eight", "nine", "eleven", "fourteen", "twenty"],
    "nth": ["second", "third", "fourth", "fifth", "sixth", "seventh"],
    "distance": ["50 metres", "20 metres", "100 metres", "a few metres", "30 nautical miles", "12 nautical miles"],
    "jp_feature": ["the Senkaku Islands", "the Diaoyu Islands", "Uotsuri Island", "Kuba Island"],
    "vn_feature": ["the Paracel Islands", "Woody Island", "Triton Island", "Vanguard Bank"],
    "buyer": ["the Philippines", "Vietnam", "Indonesia", "Malaysia", "Thailand", "Taiwan"],
    "system": ["BrahMos supersonic cruise missiles", "FA-50 light combat aircraft", "Black Hawk helicopters",
               "Gripen fighter jets", "Rafale fighter jets", "HIMARS rocket launchers",
               "Harpoon coastal defence missiles", "Scorpene submarines", "offshore patrol vessels",
               "Abe-class destroyer escorts", "Typhon missile launchers", "K9 self-propelled howitzers",
               "Hermes 900 drones", "Mogami-class frigates"],
    "seller": ["India", "South Korea", "the United States", "Sweden", "France", "Japan", "Israel", "Germany"],
    "firm": ["BrahMos Aerospace", "Korea Aerospace Industries", "Lockheed Martin", "Saab", "Dassault Aviation",
             "Hanwha Aerospace", "Naval Group", "Mitsubishi Heavy Industries", "Elbit Systems",
             "Hyundai Heavy Industries"],
    "value": ["$375 million", "$1.2 billion", "$700 million", "$2.4 billion", "$95 million", "$560 million",
              "$3.1 billion", "$210 million"],
    "year": ["2026", "2027", "2028", "2029", "2030"],
    "city": ["Tokyo", "Osaka", "Manila", "Hanoi", "Singapore", "Taipei", "Seoul", "Jakarta", "Kuala Lumpur"],
    "food": ["ramen", "durian", "mango", "coffee", "rice cake", "street food", "dumpling", "tea"],
    "crowd": ["Tens of thousands of", "More than 40,000", "About 12,000", "Nearly 90,000", "Some 5,000"],
    "weather": ["heavy rain", "a heatwave", "thick fog", "strong winds", "an early frost", "humid weather"],
    "team": ["the city's football club", "the national badminton team", "a local volleyball side",
             "the university rowing crew", "a junior chess squad"],
}

MARITIME_TITLES = [
    "{cg} fires water cannon at {ph_vessel} near {ph_feature}",
    "Manila summons Chinese envoy after {ph_feature} water cannon attack on {day}",
    "{official} says {count} Chinese vessels swarmed {ph_feature}",
    "Philippine resupply mission to {ph_feature} blocked for the {nth} time this year",
    "Beijing accuses Manila of provocation as {ph_vessel} sails into {ph_feature} lagoon",
    "Japan protests as Chinese coastguard ships linger in waters off {jp_feature}",
    "Vietnam demands China withdraw survey ship from waters near {vn_feature}",
    "Collision near {ph_feature} leaves {ph_vessel} damaged, Manila blames China",
    "China's {cn_official} warns Manila over {ph_feature} standoff",
    "Lasers, flares and blocking manoeuvres: {ph_vessel} crew describe {day} at {ph_feature}",
    "Fishermen driven from {ph_feature} as {cg} expands patrols",
    "Philippines files {nth} diplomatic protest of the month over {ph_feature} incident",
    "{ph_vessel} hit by water cannon off {ph_feature}",
    "{official}: Beijing's ships rammed {ph_vessel} on {day}",
    "Tense {day} standoff at {ph_feature} ends without injuries",
    "Chinese flotilla of {count} ships spotted at {ph_feature}",
    "Why {ph_feature} has become the South China Sea's most dangerous flashpoint",
    "{cg} boards Filipino fishing boats at {ph_feature}",
    "Tokyo lodges protest over incursion near {jp_feature}",
    "Hanoi condemns Chinese drills around {vn_feature}",
    "Sailors recount {distance} near miss with {cg} at {ph_feature}",
    "{count} Philippine boats shadowed by {cg} on resupply run",
    "US, Japan back Manila after {ph_feature} clash",
    "{official} vows to keep {ph_feature} outpost supplied",
]

MARITIME_SENTENCES = [
    "The {cg} fired water cannon at the {ph_vessel} near {ph_feature} on {day}, the Philippine Coast Guard said.",
    "{official} told reporters that {count} Chinese vessels had shadowed the Philippine boats for hours.",
    "Manila called the manoeuvres dangerous and said they violated its sovereign rights in its exclusive "
    "economic zone.",
    "Beijing claims almost the entire South China Sea and says {ph_feature} is part of its territory.",
    "China's {cn_official} said the Philippine ships had intruded into Chinese waters and were expelled.",
    "The incident came within {distance} of the Philippine vessel, according to video released by Manila.",
    "A 2016 arbitration ruling found that Beijing's sweeping claims had no legal basis, a decision China rejects.",
    "The Philippine foreign ministry summoned a Chinese diplomat and lodged a formal protest over the clash.",
    "Crew members said a Chinese ship pointed a military-grade laser at the bridge and fired flares overhead.",
    "The resupply mission to the troops stationed on {ph_feature} was blocked for several hours before it "
    "turned back.",
    "Washington reaffirmed that an armed attack on Philippine coast guard vessels would invoke the mutual "
    "defence treaty.",
    "Satellite images showed {count} maritime militia boats anchored inside the disputed shoal on {day}.",
    "Filipino fishermen said they had been driven away from traditional fishing grounds around {ph_feature}.",
    "Analysts say the grey zone tactics are meant to assert control without triggering open conflict.",
    "Vietnam, Malaysia, Brunei and Taiwan also have overlapping claims in the Spratly Islands.",
    "Japan's coast guard said Chinese ships had entered the territorial waters around {jp_feature} again.",
    "Vietnam's foreign ministry demanded that China respect its sovereignty over {vn_feature}.",
    "The {ph_vessel} suffered a damaged hull after the collision, and one sailor was treated for injuries.",
    "The Chinese coast guard said it had taken control measures in accordance with the law.",
    "Talks on a code of conduct for the South China Sea have dragged on for more than two decades.",
    "{official} said the Philippines would not give up a square inch of its territory.",
    "Navies from Australia, Japan and the United States held joint patrols near the contested waters last month.",
    "China has built artificial islands with runways and missile shelters on several reefs it occupies.",
    "The latest confrontation was the {nth} such incident at {ph_feature} this year, officials said.",
    "Chinese state media accused Manila of provocations staged with the support of foreign powers.",
    "Video from the {ph_vessel} showed a Chinese ship cutting across its bow at a distance of {distance}.",
    "{official} said {count} Filipino sailors were aboard when the water cannon struck on {day}.",
    "The Philippine Coast Guard said {count} Chinese warships loitered near {ph_feature} overnight.",
    "A Philippine navy plane flying over {ph_feature} on {day} was warned away by Chinese radio operators.",
    "China's {cn_official} urged Manila to stop what Beijing called infringement and provocation at sea.",
    "Japan said {count} Chinese coast guard ships stayed in the contiguous zone off {jp_feature} for days.",
    "Hanoi said a Chinese survey ship escorted by coast guard vessels had operated near {vn_feature} since {day}.",
    "{official} vowed more resupply missions to the outpost at {ph_feature} despite the harassment.",
]

ARMS_TITLES = [
    "{buyer} signs {value} deal for {system} from {seller}",
    "{firm} wins contract to supply {system} to {buyer}",
    "{buyer} takes delivery of first batch of {system}",
    "{seller} approves export of {system} to {buyer} amid South China Sea worries",
    "Defence ministry in {buyer} seeks parliament approval for {value} {system} purchase",
    "{buyer} and {seller} agree to co-produce {system} by {year}",
    "{firm} eyes Southeast Asian orders after {buyer} buys {system}",
    "Arms sale of {system} to {buyer} clears final hurdle in {seller}",
    "{firm} to build {system} for {buyer} navy",
    "{value} weapons package for {buyer} unveiled",
    "{seller} offers {buyer} {system} on credit",
    "Why {buyer} is buying {system}",
    "{buyer} eyes more {system} after {value} order",
    "Lawmakers question {value} {system} contract",
    "{seller} and {buyer} seal defence export pact for {system}",
]

ARMS_SENTENCES = [
    "{buyer} signed a {value} contract on {day} to buy {system} from {seller}, the defence ministry said.",
    "The deal with {firm} includes training, spare parts and logistics support for ten years.",
    "The first batch of {system} is scheduled for delivery by {year}, officials said.",
    "The purchase is part of a military modernisation programme aimed at bolstering territorial defence.",
    "{seller} has been seeking to expand defence exports to Southeast Asia as regional tensions rise.",
    "Under the agreement, {firm} will transfer technology so that parts can be produced locally.",
    "Analysts said the acquisition would strengthen coastal defence in the South China Sea.",
    "Parliament approved the procurement budget after months of debate over the cost of the weapons.",
    "The arms sale still requires a final export licence from the government in {seller}.",
    "{firm} said the contract was its largest export order from the region to date.",
    "The defence secretary said the missiles would be deployed along the western seaboard.",
    "Officials said financing would come partly from foreign military financing and a loan from {seller}.",
    "Neighbouring countries have also been buying submarines, frigates and fighter jets.",
    "The ministry said the new {system} would replace ageing equipment bought in the 1990s.",
    "A spokesman for {firm} declined to comment on the value of follow-on orders.",
    "The government in {buyer} is also in talks to acquire more {system} next year.",
    "Defence officials from {buyer} and {seller} signed the supply contract at a ceremony on {day}.",
    "Critics questioned whether the weapons purchase was the best use of limited funds.",
    "Lawmakers in {buyer} were briefed behind closed doors on {day} about the {value} package.",
    "The navy of {buyer} wants at least {count} more hulls before {year} to patrol its exclusive economic zone.",
    "Engineers from {firm} arrived this month to prepare a maintenance hangar and a missile storage site.",
    "Exports of weapons from {seller} have tripled in five years, driven by orders from Asia and Europe.",
    "The sale follows a visit by the defence minister of {seller} to the capital of {buyer} in the spring.",
    "A second contract for ammunition and spare missiles worth {value} is expected to be signed in {year}.",
    "{buyer} had considered rival bids from {firm} and two European manufacturers before choosing.",
    "Officials in {seller} said the transfer complied with their export rules for defence equipment.",
    "The {system} will be operated by a new coastal defence regiment formed for the purpose.",
    "China's {cn_official} said arms sales to the region would only raise tensions.",
    "Pilots and technicians from {buyer} will train in {seller} for {count} months before delivery.",
    "Industry analysts said {firm} offered generous offsets, including local assembly and jobs.",
]

CALM_TITLES = [
    "{city} {food} festival draws record crowds on {day}",
    "{team} celebrates promotion after a thrilling final in {city}",
    "{weather} expected across {city} this weekend, forecasters say",
    "New night market opens in {city} with {food} stalls and live music",
    "{city} library extends opening hours for exam season",
    "Cherry blossoms bloom early in {city} after mild winter",
]

CALM_SENTENCES = [
    "{crowd} visitors queued for {food} at the annual festival in {city}, organisers said.",
    "Forty stalls from across the region served local specialities, and several sold out before noon.",
    "The event continues until {day}, with a new stage for live music and a children's corner.",
    "Organisers asked visitors to bring their own cups and chopsticks to cut down on waste.",
    "{team} won the final in front of a packed stadium after extra time.",
    "Forecasters expect {weather} in {city} until {day}, and advised residents to plan ahead.",
    "The city council said public transport would run extra services in the evenings.",
    "Local businesses reported their busiest weekend since the pandemic ended.",
    "Tickets for next year's edition will go on sale in the spring, the organisers added.",
    "Residents said the new market had brought life back to a quiet neighbourhood.",
    "The library will stay open until midnight on weekdays for the next six weeks.",
    "Photographers gathered along the river banks early in the morning to capture the blossoms.",
    "A spokesman for the tourism board said hotel bookings were up by a fifth on last year.",
    "Volunteers cleaned up the park on {day} morning after the crowds had gone home.",
]

# Colour: who said what, where. Combined freely, these make the top of each article its own.
PEOPLE_FIRST = ["Maria", "Jose", "Ramon", "Liza", "Nguyen", "Tran", "Kenji", "Aiko", "Siti", "Ahmad", "Ana",
                "Carlo", "Dewi", "Hiroshi", "Mei", "Rizal", "Bea", "Paolo", "Thu", "Daniel"]
PEOPLE_LAST = ["Santos", "Reyes", "Cruz", "Bautista", "Van Minh", "Thi Lan", "Tanaka", "Sato", "Rahman", "Aziz",
               "Villanueva", "Mendoza", "Wijaya", "Yamamoto", "Lim", "Dela Rosa", "Garcia", "Pham", "Lee", "Ocampo"]
ROLES = ["a fisherman", "a retired navy captain", "a security analyst", "a boat captain", "a village chief",
         "a maritime law professor", "a former diplomat", "a fish trader", "a researcher at a think tank",
         "a local councillor", "a defence consultant", "a shipyard worker", "a radio reporter"]
PLACES = ["Masinloc", "Subic", "Puerto Princesa", "Infanta", "Iba", "Olongapo", "Ly Son", "Da Nang", "Ishigaki",
          "Naha", "Kota Kinabalu", "Natuna Besar", "Zambales", "Palawan", "Quezon City", "Batanes"]
QUOTES = ["we cannot keep quiet any longer", "nobody wants a war but we have to stand firm",
          "the sea has always fed our families", "this is a test of how far they can push",
          "the government has to show it means what it says", "the pressure is growing every month",
          "we need partners who deliver on time", "the numbers do not add up for a small navy",
          "every patrol now feels like a gamble", "the boats come closer each time",
          "this will change the balance in the region", "it sends a message to everyone watching",
          "we have heard these promises before", "the young crews are learning fast"]
KICKERS = ["officials say", "video shows", "as talks stall", "ahead of ASEAN summit", "sources say",
           "in latest flare-up", "despite warnings", "report", "analysts say", "days after new pact",
           "as pressure mounts", "amid regional tensions", "minister confirms", "in first since 2023"]

POOLS: dict[str, tuple[list[str], list[str]]] = {
    "maritime": (MARITIME_TITLES, MARITIME_SENTENCES),
    "arms": (ARMS_TITLES, ARMS_SENTENCES),
    "calm": (CALM_TITLES, CALM_SENTENCES),
}


# -- stories ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Story:
    """One article as the site publishes it."""

    slug: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]
    topic: str  # maritime, arms or calm

    @property
    def matching(self) -> bool:
        return self.topic != "calm"


_SLOT = re.compile(r"\{(\w+)\}")


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


class StoryFactory:
    """Makes distinct stories; matching ones match a watchlist, calm ones match none.

    Args:
        seed: the random seed (the same seed makes the same stories).
        text_margin: reject an article whose text signature is at least this similar to an earlier
            one (the product groups at 0.4).
        title_margin: the same for titles (the product groups at 0.7).
    """

    def __init__(self, seed: int = 1, text_margin: float = 0.3, title_margin: float = 0.62) -> None:
        from alerts import Document, compile_matcher
        from alerts.stories import StoryIndex
        from scheduler.config import load_config

        self._rng = random.Random(seed)
        self._document = Document
        config = load_config(ROOT / "config.yaml")
        self._matcher = compile_matcher(config.watchlists, config.gazetteer)
        self._index = StoryIndex()
        self._text_margin, self._title_margin = text_margin, title_margin
        self._count = 0
        self._titles: set[str] = set()
        self.rejected = 0

    def _fill(self, template: str) -> str:
        return _SLOT.sub(lambda m: self._rng.choice(SLOTS[m.group(1)]), template)

    def _draft(self, topic: str) -> Story:
        titles, sentences = POOLS[topic]
        rng = self._rng
        title = self._fill(rng.choice(titles))
        if rng.random() < 0.6:
            title += rng.choice([", ", ": "]) + rng.choice(KICKERS)  # " — x" reads as a site-name suffix
        picked = [self._fill(s) for s in rng.sample(sentences, k=min(len(sentences), 6))]
        for _ in range(2):
            who = f"{rng.choice(PEOPLE_FIRST)} {rng.choice(PEOPLE_LAST)}, {rng.choice(ROLES)} in {rng.choice(PLACES)}"
            picked.insert(rng.randint(1, 3), f"\"{rng.choice(QUOTES).capitalize()},\" said {who}.")
        paragraphs = tuple(" ".join(picked[i:i + 2]) for i in range(0, len(picked), 2))
        self._count += 1
        slug = f"{self._count:05d}-{_slugify(title)}"
        return Story(slug, title, picked[0], paragraphs, topic)

    def _verdict(self, story: Story) -> bool:
        body = "\n".join(story.paragraphs)
        results = self._matcher.match(self._document(title=story.title, lead=story.summary, body=body))
        matched = any(m.matched for m in results)
        if not story.matching:
            return not matched
        # Matching stories must match on the title and feed summary alone too, so the verdict does not
        # hang on what extraction keeps of the page.
        lead_only = self._matcher.match(self._document(title=story.title, lead=story.summary, body=""))
        return matched and any(m.matched for m in lead_only)

    def _distinct(self, story: Story) -> bool:
        from alerts.stories import fingerprint

        fp = fingerprint(story.title, story.summary, "\n".join(story.paragraphs))
        for article_id in (self._index._text.query(fp.text) if fp.text is not None else []):
            other = self._index._signatures[article_id].text
            if other is not None and fp.text is not None and fp.text.jaccard(other) >= self._text_margin:
                return False
        for article_id in (self._index._title.query(fp.title) if fp.title is not None else []):
            other = self._index._signatures[article_id].title
            if other is not None and fp.title is not None and fp.title.jaccard(other) >= self._title_margin:
                return False
        self._index.add(self._count, self._count, fp, None)
        return True

    def make(self, topic: str, attempts: int = 200) -> Story:
        """A new story on `topic` (maritime, arms or calm).

        Raises:
            RuntimeError: no acceptable story in `attempts` drafts (the pools are exhausted).
        """
        for _ in range(attempts):
            story = self._draft(topic)
            if story.title in self._titles or not self._verdict(story):
                self.rejected += 1
                continue
            if story.matching and not self._distinct(story):
                self.rejected += 1
                continue
            self._titles.add(story.title)
            return story
        raise RuntimeError(f"no distinct {topic} story after {attempts} drafts")

    def mix(self, matching: int, calm: int) -> list[Story]:
        """`matching` stories (maritime and arms alternately) and `calm` stories, shuffled."""
        stories = [self.make("maritime" if i % 2 == 0 else "arms") for i in range(matching)]
        stories += [self.make("calm") for _ in range(calm)]
        self._rng.shuffle(stories)
        return stories


# -- the site -----------------------------------------------------------------------------------
@dataclass
class Published:
    story: Story
    source: str
    path: str
    at: float  # time.time() when the item appeared in the feed


def _quiet(server: LoopbackHTTPServer) -> None:
    # A killed client resets its connections; socketserver would print each traceback to stderr.
    server._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]


class NewsSite(LoopbackHTTPServer):
    """Feeds `/feeds/<source>.xml` and pages `/news/<slug>` of stories published while it runs."""

    def __init__(self, keep_requests: bool = False) -> None:
        super().__init__()
        _quiet(self)
        self.keep_requests = keep_requests
        self.items: dict[str, list[Published]] = {}
        self.by_path: dict[str, Published] = {}
        self.hits = {"feed": 0, "feed_304": 0, "article": 0}

    def add_source(self, name: str) -> str:
        with self.lock:
            self.items.setdefault(name, [])
        return self.url(f"/feeds/{name}.xml")

    def publish(self, source: str, story: Story, path: str | None = None) -> Published:
        """Put `story` at the top of `source`'s feed now (a second outlet may carry it under another path)."""
        item = Published(story, source, path or f"/news/{story.slug}", time.time())
        with self.lock:
            self.items.setdefault(source, []).append(item)
            self.by_path[item.path] = item
        return item

    def published(self) -> list[Published]:
        with self.lock:
            return [p for items in self.items.values() for p in items]

    def _feed(self, source: str) -> bytes:
        with self.lock:
            items = list(reversed(self.items.get(source, [])))[:FEED_WINDOW]
        entries = "".join(
            f"<item><title>{html.escape(p.story.title)}</title>"
            f"<link>{self.url(p.path)}?utm_source=rss&amp;utm_medium=feed</link>"
            f"<description>{html.escape(p.story.summary)}</description>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(p.at, UTC))}</pubDate>"
            f"<guid isPermaLink=\"false\">{html.escape(p.path)}</guid></item>"
            for p in items
        )
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{source}</title>'
                f"<link>{self.base_url}/</link><description>News from {source}</description>{entries}"
                "</channel></rss>").encode()

    def respond(self, request: Request) -> Response:
        if not self.keep_requests:
            with self.lock:
                self.requests.clear()
        path = request.path.split("?", 1)[0]
        if path.startswith("/feeds/") and path.endswith(".xml"):
            body = self._feed(path[len("/feeds/"):-len(".xml")])
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            with self.lock:
                self.hits["feed"] += 1
                if request.headers.get("if-none-match") == etag:
                    self.hits["feed_304"] += 1
                    return Response(304, b"", {"ETag": etag})
            return Response(200, body, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag})
        with self.lock:
            item = self.by_path.get(path)
        if item is None:
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        with self.lock:
            self.hits["article"] += 1
        page = article_page(item.story.title, list(item.story.paragraphs))
        return Response(200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


# -- receivers ----------------------------------------------------------------------------------
@dataclass
class Received:
    """One alert a receiver accepted."""

    at: float
    body: bytes
    key: str | None  # Idempotency-Key (webhook) or Message-ID (email); None for Slack


@dataclass
class _Behaviour:
    delay: float = 0.0  # seconds before answering (the request is already accepted)
    fail_rate: float = 0.0  # share of calls answered 500 (not accepted)
    on_accept: Callable[[Received], None] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(7))


class AlertSink(LoopbackHTTPServer):
    """A Slack incoming webhook or JSON webhook stand-in: POSTs at any path are alerts.

    A call that is not failed counts as accepted when its body has arrived (a real receiver acts on it
    then), before the answer is sent; `delay` holds the answer back.
    """

    def __init__(self, delay: float = 0.0, fail_rate: float = 0.0) -> None:
        super().__init__()
        _quiet(self)
        self.behaviour = _Behaviour(delay, fail_rate)
        self.accepted: list[Received] = []
        self.failed = 0

    def respond(self, request: Request) -> Response:
        with self.lock:
            self.requests.clear()
        b = self.behaviour
        with self.lock:
            fail = b.fail_rate > 0 and b.rng.random() < b.fail_rate
            if fail:
                self.failed += 1
        if fail:
            return Response(500, b"error", {"Content-Type": "text/plain"})
        got = Received(time.time(), request.body, request.headers.get("idempotency-key"))
        with self.lock:
            self.accepted.append(got)
        if b.on_accept is not None:
            b.on_accept(got)
        return Response(200, b"ok", {"Content-Type": "text/plain"}, delay=b.delay)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.accepted)


class MailSink:
    """aiosmtpd on 127.0.0.1 recording each message (by Message-ID) when its DATA has arrived."""

    def __init__(self, delay: float = 0.0, fail_rate: float = 0.0) -> None:
        from aiosmtpd.controller import Controller

        self.behaviour = _Behaviour(delay, fail_rate)
        self.accepted: list[Received] = []
        self.messages: list[Message] = []
        self.failed = 0
        self.lock = threading.Lock()
        sink = self

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                b = sink.behaviour
                with sink.lock:
                    fail = b.fail_rate > 0 and b.rng.random() < b.fail_rate
                    if fail:
                        sink.failed += 1
                if fail:
                    return "451 Requested action aborted: local error in processing"
                message = message_from_bytes(envelope.content)
                got = Received(time.time(), envelope.content, message.get("Message-ID"))
                with sink.lock:
                    sink.accepted.append(got)
                    sink.messages.append(message)
                if b.on_accept is not None:
                    b.on_accept(got)
                if b.delay:
                    await asyncio.sleep(b.delay)
                return "250 Message accepted for delivery"

        self._controller = Controller(_Handler(), hostname="127.0.0.1", port=_free_port())

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return int(self._controller.server.sockets[0].getsockname()[1])

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.accepted)


# -- config and environment ---------------------------------------------------------------------
def write_config(path: Path, sources: dict[str, str], every: dict[str, str] | str = "5m",
                 delivery_every: str = "1s", retry_base: str = "1s", log_level: str = "INFO") -> Path:
    """A config with the given feed sources (name → URL), the default targets and watchlists.

    Args:
        every: one interval for all sources, or name → interval.
    """
    default = (ROOT / "config.yaml").read_text(encoding="utf-8")
    watchlists = default[default.index("# WATCHLISTS-BEGIN"):default.index("# WATCHLISTS-END")]
    targets = default[default.index("# TARGETS-BEGIN"):default.index("# TARGETS-END")]
    lines = []
    for name, url in sources.items():
        interval = every if isinstance(every, str) else every[name]
        lines.append(f"  - {{name: {name}, kind: feed, url: \"{url}\", every: {interval}}}\n")
    path.write_text(
        f"database: newswatch.db\nlog_level: {log_level}\n"
        "crawl:\n  download_delay: 0.0\n  obey_robots_txt: false\n"
        f"delivery:\n  every: {delivery_every}\n  retry_base: {retry_base}\n  max_attempts: 50\n"
        f"sources:\n{''.join(lines)}{targets}\n{watchlists}\n",
        encoding="utf-8",
    )
    return path


def target_env(slack_url: str | None, webhook_url: str | None, smtp_port: int | None) -> dict[str, str]:
    """The process environment with the three default targets pointed at loopback receivers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    if slack_url:
        env["NEWSWATCH_SLACK_WEBHOOK_URL"] = slack_url
    if webhook_url:
        env["NEWSWATCH_WEBHOOK_URL"] = webhook_url
        env["NEWSWATCH_WEBHOOK_SECRET"] = "bench-hmac-secret"
    if smtp_port:
        env.update({"NEWSWATCH_SMTP_HOST": "127.0.0.1", "NEWSWATCH_SMTP_PORT": str(smtp_port),
                    "NEWSWATCH_SMTP_STARTTLS": "false", "NEWSWATCH_EMAIL_TO": "analysts@example.org"})
    return env


_PATH_IN_ALERT = re.compile(r"/news/[0-9]{5}-[a-z0-9-]*")


def alert_paths(body: bytes) -> set[str]:
    """The article paths (`/news/<slug>`) an alert body links to."""
    return set(_PATH_IN_ALERT.findall(body.decode("utf-8", "replace").replace("=\n", "")))


# -- /proc --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TreeUsage:
    """Resident memory and open file descriptors of a process and its descendants."""

    processes: int
    rss_bytes: int
    main_rss_bytes: int
    fds: int
    main_fds: int


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    tree, todo, children = [], [pid], _children_map()
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_usage(pid: int) -> TreeUsage:
    """RSS and open descriptors of `pid` and its descendants (processes that vanish are skipped)."""
    total_rss = total_fds = count = main_rss = main_fds = 0
    for p in descendants(pid):
        try:
            rss, fds = _rss(p), len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            continue
        count += 1
        total_rss += rss
        total_fds += fds
        if p == pid:
            main_rss, main_fds = rss, fds
    return TreeUsage(count, total_rss, main_rss, total_fds, main_fds)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
