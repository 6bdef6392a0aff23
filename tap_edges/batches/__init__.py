"""Reading one batch of a run: the items Edges delivered that were not emitted before.

:mod:`.reading` is the one entry point; :mod:`.dated` tells new items by their ``extracted_at``,
:mod:`.positional` by where they sit when Edges gives no readable time.
"""
