"""``python -m saferstreets.cli``."""

from saferstreets.cli.main import main

main()
