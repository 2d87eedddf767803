"""Operations notices from the running daemon: a source failing too long, a rejected config edit."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from tests.e2e_site import NEWSWATCH, wait_for
from tests.loopback import LoopbackHTTPServer, WebhookReceiver
from tests.waiting import TIMEOUT

CONFIG = """\
database: nw.db
delivery: {{every: 1s, retry_base: 1s}}
operations: {{targets: [ops], source_failing_after: 2s}}
targets:
  - {{name: ops, kind: webhook, url: "{hook}"}}
sources:
  - {{name: broken-feed, kind: feed, url: "{feed}", every: 1s}}
"""


def _notices(receiver: WebhookReceiver) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in receiver.received]


def test_failing_source_and_rejected_edit_notify_operations_once(
    site: LoopbackHTTPServer, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(hook=receiver.url("/ops"), feed=site.url("/gone.xml")), encoding="utf-8")
    daemon = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(receiver.received) >= 1), "a notice for the failing source arrives"
        first = json.dumps(_notices(receiver)[0])
        assert "broken-feed" in first and "failing" in first

        config.write_text(config.read_text(encoding="utf-8").replace("kind: feed", "kind: food"), encoding="utf-8")
        assert wait_for(lambda: any("rejected" in json.dumps(n) for n in _notices(receiver)))
        # More failed crawls (each checks source health once it ends; one crawl runs at a time, so the
        # third one starting means two have ended) and reload checks: no repeated notices. The stop
        # below flushes the outbox, so a repeated notice would be delivered before the exit.
        crawls = len(site.requests_to("/gone.xml"))
        assert wait_for(lambda: len(site.requests_to("/gone.xml")) >= crawls + 3)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=TIMEOUT)
    assert daemon.returncode == 0, err
    texts = [json.dumps(n) for n in _notices(receiver)]
    assert sum("broken-feed has been failing" in t or "source broken-feed" in t for t in texts) == 1
    assert sum("rejected" in t for t in texts) == 1
    assert any("sources[0].kind" in t for t in texts), "the notice says what is wrong"
