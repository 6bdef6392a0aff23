"""Talking to the Edges API: no Singer, no lifecycle.

:mod:`.client` (the endpoints), :mod:`.transport` (one HTTP session, the retry policy applied),
:mod:`.retries` (what is retried, honouring ``Retry-After``), :mod:`.pacing` (the client-side
budget of ``/v1/runs*`` requests per minute).
"""
