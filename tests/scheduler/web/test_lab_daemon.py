"""End to end: the running daemon serves the workbench; a watchlist saved in its lab is picked up, and the
next article that only the new rule matches is alerted. A real `newswatch run`, a loopback news site
and a loopback webhook receiver."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.e2e_site import CALM_TEXT, CALM_TITLE, RunningDaemon, article_page, free_port, rss_feed
from tests.loopback import LoopbackHTTPServer, WebhookReceiver
from tests.scheduler.web.labkit import csrf
from tests.waiting import wait_for, wait_until

FERRY_TITLE = "Ferry turns back near Scarborough Shoal"
FERRY_TEXT = ["A ferry bound for Masinloc turned back near Scarborough Shoal on Tuesday as Chinese vessels "
              "blocked its route, the operator said.", "Passengers were returned to port safely."]


def _responding(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_a_watchlist_saved_in_the_lab_alerts_in_the_running_daemon(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    site.add("/news/ramen", article_page(CALM_TITLE, CALM_TEXT))
    site.add("/news/ferry", article_page(FERRY_TITLE, FERRY_TEXT))
    site.add("/feed.xml", rss_feed(site, [("/news/ramen", CALM_TITLE, "Noodles.")]), content_type="application/rss+xml")
    port = free_port()
    with WebhookReceiver() as hook:
        config = tmp_path / "config.yaml"
        config.write_text(
            "# the analysts' config (this comment must survive the lab)\n"
            f"database: nw.db\ndelivery: {{every: 1s}}\nweb: {{port: {port}}}\n"
            f"targets:\n  - {{name: hook, kind: webhook, url: '{hook.url('/h')}'}}\n"
            f"sources:\n  - {{name: post, kind: feed, url: '{site.url('/feed.xml')}', every: 1s}}\n"
            "watchlists:\n"
            "  # Sea incidents.\n"
            "  - name: maritime\n"
            "    targets: [hook]\n"
            "    rules:\n"
            "      - name: places\n"
            "        any: [coast guard]   # only this, for now\n", encoding="utf-8")
        with RunningDaemon(config, tmp_path) as daemon:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: _responding(f"{base}/lab"), "the daemon's workbench answering", detail=daemon._tail)
            assert wait_for(lambda: site.requests_to("/news/ramen")), "the first article was crawled"
            # The sources page reads the running daemon's plan: its next crawl of the source.
            wait_until(lambda: re.search(r'data-source="post".*?<td class="time">20\d\d-[^<]*</td>\s*</tr>',
                                         requests.get(f"{base}/sources", timeout=30).text, re.S),
                       "the sources page showing the daemon's next crawl of post", detail=daemon._tail)
            assert "daemon: running" in requests.get(f"{base}/sources", timeout=30).text
            session = requests.Session()
            page, token = csrf(session, f"{base}/lab/maritime")
            assert "# only this, for now" in page
            edit = ("name: maritime\ntargets: [hook]\nrules:\n  - name: places\n"
                    "    any: [coast guard, Scarborough Shoal]   # the lab added the shoal\n")
            saved = session.post(f"{base}/lab/maritime", data={"csrf": token, "yaml": edit, "days": "7",
                                                                "action": "save"}, timeout=60, allow_redirects=False)
            assert saved.status_code == 303, saved.text[:2000]
            daemon.wait_for_line("configuration reloaded")
            text = config.read_text(encoding="utf-8")
            assert text.startswith("# the analysts' config (this comment must survive the lab)\n")
            assert "  # Sea incidents.\n  - name: maritime\n" in text
            assert "        any: [coast guard, Scarborough Shoal]   # the lab added the shoal\n" in text

            site.add("/feed.xml", rss_feed(site, [("/news/ramen", CALM_TITLE, "Noodles."),
                                                  ("/news/ferry", FERRY_TITLE, "A ferry turned back.")]),
                     content_type="application/rss+xml")
            assert wait_for(lambda: len(hook.received) == 1), f"the new rule alerted the ferry\n{daemon._tail()}"
            daemon.stop()
        body = hook.received[0].body.decode()
        assert FERRY_TITLE in body and '"watchlists": ["maritime"]' in body and "Scarborough Shoal" in body
