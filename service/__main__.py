"""``python -m service``: the same as the ``staywatch`` command."""

from __future__ import annotations

from service.cli import main

main()
