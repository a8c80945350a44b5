"""``python -m server`` is the same as the ``ars`` command."""

from .cli import main

main()
