"""Input discovery: the listings (conversations, post activity) and the children they start.

:mod:`.threads` and :mod:`.posts` hold the rules (pure); :mod:`.discoverer` runs one sync's
listings through the run coordinator and starts the children they call for, with the settings
and counts of :mod:`.vocabulary`; :mod:`.profiles` finds the identities' own profiles.
"""
