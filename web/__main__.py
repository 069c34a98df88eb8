"""``python -m web``: the one-process server of ``make run`` (``web.serving.embedded``)."""

from web.serving.embedded import main

main()
