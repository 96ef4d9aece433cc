"""Bitrix24 over REST: the client (:mod:`.client`, :mod:`.limiter`), what we keep in step on the
portal (:mod:`.sync`), the stage gates on deals (:mod:`.gates`) and the events it posts to us
(:mod:`.events`)."""
