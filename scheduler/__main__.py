"""`python -m scheduler` runs the `newswatch` command line, as the console script does."""

from scheduler.entry import main

main()
