"""Matching: watchlists and the gazetteer compiled into one matcher, its verdicts and their evidence.

Pure code: no sqlite3, sqlite_utils, network or ``alerts.delivery`` import (tests/test_layout.py checks),
so the same matcher runs in the daemon, the CLI's dry run and anywhere else. ``matcher`` and
``rules_eval`` are compiled with mypyc where a compiler is at hand (see ``alerts.match.compiled``).
"""
