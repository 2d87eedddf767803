"""`newswatch eval` and `newswatch suggest` on a real store filled by the real pipeline and judged."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scheduler.cli import main
from tests.scheduler.web.labkit import fill, write_config


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_eval_scores_the_judgements_and_lists_misses_and_false_alarms_with_evidence(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml")
    ids = fill(config)
    code, out = _run("eval", "--config", str(config), "--watchlist", "maritime")
    assert code == 0, out
    assert out == (
        "maritime: 3 judged (the workbench's judgements) · precision 0.50 · recall 0.50 · F1 0.50  "
        "(hits 1, false alarms 1, misses 1, rightly left out 0)\n"
        "\nMisses (judged relevant, not flagged): 1\n"
        f"  story {ids['frigate']}  score 0 / 1  Navy frigate shadows Chinese ships off Scarborough\n"
        "      https://inquirer.example/frigate\n"
        "      why not: no rule satisfied\n"
        "\nFalse alarms (judged not relevant, flagged): 1\n"
        f"  story {ids['beach']}  score 2 / 1  Coast guard rescues two swimmers at the beach\n"
        "      https://local.example/beach\n"
        "      - coast guard (title, rule places): Coast guard rescues two swimmers at the beach\n"
        "      - coast guard (body, rule places): The coast guard rescued two swimmers caught by a rip current "
        "at the beach on Saturday.\n")
    code, out = _run("eval", "--config", str(config), "--watchlist", "arms", "--json")
    assert code == 0 and json.loads(out)["judged"] == 0


def test_eval_reads_a_labels_file_of_urls_and_story_ids(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml")
    ids = fill(config)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join([
        json.dumps({"url": "https://gma.example/ferry", "relevant": True}),  # in no story: nothing matched it
        json.dumps({"story_id": ids["shoal"], "relevant": True}),
        json.dumps({"story_id": ids["beach"], "relevant": True, "watchlist": "arms"}),  # another watchlist
        json.dumps({"url": "https://never.example/fetched", "relevant": False}),
    ]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", "--config", str(config), "--watchlist", "maritime",
                                                       "--labels", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["judged"], report["tp"], report["fn"], report["precision"], report["recall"]) == (2, 1, 1, 1.0, 0.5)
    assert [m["url"] for m in report["misses"]] == ["https://gma.example/ferry"]
    assert "https://never.example/fetched is not in the store" in result.stderr
    labels.write_text('{"story_id": 1}\n', encoding="utf-8")
    code, out = _run("eval", "--config", str(config), "--watchlist", "maritime", "--labels", str(labels))
    assert code == 1 and 'needs "relevant": true or false' in out


def test_suggest_proposes_terms_and_exclusions_with_the_stories_each_would_change(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml")
    ids = fill(config)
    original = config.read_text(encoding="utf-8")
    code, out = _run("suggest", "--config", str(config), "--watchlist", "maritime", "--json", "--limit", "10")
    assert code == 0, out
    found = {(s["kind"], s["text"]): s for s in map(json.loads, out.splitlines())}
    place = found[("term", "Scarborough")]
    assert place["add"] == {"rules": [{"name": "suggested-scarborough", "weight": 1.0, "any": ["Scarborough"]}]}
    assert place["newly_flagged"] == ["article 4", f"story {ids['frigate']}"]  # the ferry, and the judged miss
    assert (place["recall"], place["fixed"], place["broken"]) == ([0.5, 1.0], 1, 0)
    swimmers = found[("exclusion", "swimmers")]
    assert swimmers["add"] == {"none": ["swimmers"]}
    assert swimmers["no_longer_flagged"] == [f"story {ids['beach']}"] and swimmers["precision"] == [0.5, 1.0]
    assert all(text != "coast guard" for _, text in found)  # it is in a judged-relevant story too
    assert not any(s["broken"] for s in found.values())

    code, out = _run("suggest", "--config", str(config), "--watchlist", "maritime", "--limit", "1")
    assert code == 0
    assert "1. add term 'Chinese' — in 1 of 1 judged misses, in none judged not relevant\n" in out
    assert f"     story {ids['frigate']} [judged relevant] Navy frigate shadows Chinese ships off Scarborough\n" in out
    assert "2. exclude " in out and "[judged not relevant] Coast guard rescues two swimmers at the beach" in out
    assert config.read_text(encoding="utf-8") == original  # suggest writes nothing


def test_unknown_watchlist_and_missing_database_say_what_to_do(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml")
    code, out = _run("eval", "--config", str(config), "--watchlist", "nope")
    assert code == 2 and "no watchlist named 'nope'" in out and "configured: maritime, arms" in out
    code, out = _run("suggest", "--config", str(config), "--watchlist", "maritime")
    assert code == 1 and "no database yet" in out
