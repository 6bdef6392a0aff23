"""A faithful local emulator of the Edges API (``/v1``) with a simulated LinkedIn world.

Start it with ``Sandbox(...).start()`` (or ``with Sandbox() as sb:``) or from the shell with
``tap-edges-sandbox serve``. What may change while it serves is ``sandbox.settings``
(:class:`edges_sandbox.settings.SandboxSettings`: faults, variants, outputs mode, run seconds,
``max_results_limit``, extra identities, ``preencode_outputs``, ``inbox_threads``,
``credits_max``); what tests reach behind the API is ``sandbox.backstage`` (grow,
publish_post, start_conversation, inbox, ground truth, runs, purge a run, identities); the
requests served are ``sandbox.requests`` (their log and an observer).

It is a real HTTP server (stdlib ``ThreadingHTTPServer``, bound to 127.0.0.1 only) serving the
endpoints documented in ``edges-api.md``:
``POST /v1/actions/{action}/run/async``, ``GET /v1/runs``, ``GET /v1/runs/{uid}``,
``GET /v1/runs/{uid}/status``, ``GET /v1/runs/{uid}/outputs``, ``GET /v1/runs/{uid}/inputs``,
``POST /v1/runs/{uid}/cancel``, ``POST /v1/runs/{uid}/continue``, ``GET /v1/identities``,
``GET /v1/identities/{uid}``, ``GET /v1/workspaces`` and ``GET /v1/workspaces/consumption``,
for the seven actions linkedin-extract-connections, -messages, -profile-viewers,
-post-commenters, -post-likers, -post-reposters and -page-followers, and the two discovery
actions linkedin-extract-conversations and -people-post-activity.

Choices made where the Edges documentation is silent:

* Errors: always the six-field body (``error_label``, ``error_scope``, ``error_ref``,
  ``message``, ``status_code``, ``params``). Bad or missing ``X-API-Key`` → 401
  ``UNAUTHORIZED`` (scope ``auth``; the key is never echoed nor logged). Unknown route, action,
  run or identity → 404 ``STATUS_404``. Invalid JSON or a wrongly shaped body/input → 400
  ``BAD_INPUT``; invalid parameters, identities, limits or cursors → 400 ``BAD_PARAMETERS``.
* Launch bodies are validated strictly, as Edges' schema does ("body must NOT have additional
  properties"): a top-level property other than ``inputs``, ``parameters``, ``identity_ids``,
  ``identity_mode``, ``name`` and ``callback`` gets 400 ``BAD_PARAMETERS`` "body must NOT have
  additional properties (<names, sorted>)" (the label ``no_name`` gives the same message).
* Launch: 1 to 100,000 ``inputs`` (as the docs allow; each is validated, the error naming
  ``inputs/<index>``; fewer or more: 400 ``BAD_PARAMETERS``) and exactly one known identity
  per run, except in managed mode. A run with several inputs reads each input's feed with a
  cursor of its own (two ``{}`` inputs of an action taking none read the same feed twice);
  ``max_results`` caps each input's items; an iteration serves its items input by input, in
  the launch's order; match-based faults match any input's value, and LinkedIn refusing one
  input (page admins) fails the whole run. The tap sends one input per run.
  ``identity_mode`` is ``direct`` (the default; ``null`` too), ``auto`` (taken as ``direct``:
  the sandbox has no pool of accounts to spread over) or ``managed`` (Edges' own accounts):
  post commenters, likers and reposters then run without an identity (``identity_ids``
  absent, ``null`` or ``[]``; an identity given with ``managed`` gets 400 ``BAD_PARAMETERS``),
  and every other action refuses it with 400 ``BAD_PARAMETERS`` "identity_mode managed is not
  supported for action <slug>" (they read an identity's own data). Any other mode: 400
  ``BAD_PARAMETERS``. A managed run cannot be continued (no engagement identity).
  ``parameters.sync_mode`` is ``full`` (default) or ``incremental`` (accepted for every action);
  ``parameters.max_results`` is an integer 1..1000, default 100 (benchmarks may raise that
  limit with ``settings.max_results_limit`` and grow feeds cheaply with ``grow(distinct=...)``).
  ``callback`` is stored as ``{"url": ...}`` but nothing is delivered. The 201 answer has
  ``status: "pending"`` (lower case, as in the docs).
* Status progression, computed lazily from the (injectable) clock, for an iteration started at
  t0 with ``run_seconds`` S: a launch is CREATED at t0, QUEUED until t0+0.2·S, RUNNING until
  t0+S, then SUCCEEDED (or what a fault says). A continued run is SCHEDULED until t0+0.1·S,
  then QUEUED, RUNNING and terminal on the same marks. ``started_at``/``finished_at`` belong
  to the current iteration; ``created_at`` never changes.
* Page admins: LinkedIn shows a company page's followers to its admins only, and Edges does
  not document what a non-admin gets. The sandbox accepts the launch (201) and the run ends
  FAILED with ``last_error`` ``{"label": "STATUS_403", "message": "LinkedIn answered 403
  Forbidden for the followers of <page URL>", "params": {"identity_id": ...}}`` (STATUS_403 is
  Edges' label for LinkedIn access errors, HTTP 424 class; the message is LinkedIn's bare
  refusal, so the client must explain it), delivering nothing; every continue fails the same
  way.
  No sandbox identity is an admin of a page whose slug starts with ``not-admin`` (e.g.
  ``https://www.linkedin.com/company/not-admin-globex/``); every identity administers every
  other page. Company page URLs must match
  ``^https://(www.|xx.)?linkedin.com/company/<slug>`` (else 400 ``BAD_INPUT``).
* Discovery actions (edges-api.md section 12): a run lists a snapshot of the world taken when
  its iteration starts, in the action's order, and delivers the first ``max_results`` items
  (the rest show as dropped in the ground truth); one iteration, a full listing. Both refuse
  ``sync_mode: incremental`` (launch, and continue of a run launched before a variant was
  switched off) with 400 ``INCREMENTAL_NOT_SUPPORTED`` "parameters/sync_mode: incremental sync
  is not supported for action <slug>", ``params: {"action_name": <slug>}``. Their items have
  no ``extracted_at`` (their docs list none), whatever the variants.
  ``linkedin-extract-conversations`` (action_id 108): exactly one identity, direct mode only;
  ``inputs: [{}]`` or no ``inputs`` at all; parameters ``max_results`` and ``read`` (boolean,
  default true; false lists only threads with ``unread_count`` > 0; else 400
  ``BAD_PARAMETERS``). The inbox is every messages feed of the identity (threads named by runs
  or by ``grow`` included) plus ``inbox_threads`` (default 8) threads seeded the first time it
  is needed: seeded thread i's newest message is dated the world's creation minus i x 5 days,
  its thread id is deterministic (``2-<base64>==``), its URL an ordinary messages input; only
  seeded threads 0 and 1 grow with ``growth_per_minute``. One item per thread (a thread named
  both by URL and by bare id: its feed with the latest activity), most recent activity first:
  ``linkedin_thread_id``, ``linkedin_thread_url``
  (``https://www.linkedin.com/messaging/thread/<id>/``), ``participants`` (the two members its
  messages come from: ``linkedin_profile_id``, ``sales_navigator_profile_id``,
  ``linkedin_profile_url``, ``first_name``, ``last_name``, ``job_title``), ``read``,
  ``unread_count``, ``total_received_messages`` (a string: the thread's number of messages),
  ``created_at`` and ``last_activity_at`` (its first and newest message's time),
  ``last_message`` (the newest message's ``delivered_at``, ``message_id``, ``content``,
  ``linkedin_profile_id``, ``first_name``, ``last_name``, ``attachments``) and ``sponsored``
  (false). Unread: a thread's messages are read when the sandbox first sees it, later ones
  (growth, ``grow``, replies) are not; seeded threads 1, 4, 7, ... start with their newest 1, 2,
  3, ... unread; ``start_conversation``'s two messages are unread.
  ``linkedin-extract-people-post-activity`` (109): input ``linkedin_profile_url`` (must hold
  ``linkedin.com/in/<handle>``, else 400 ``BAD_INPUT``), shared by identities, managed mode
  allowed. An author (known by handle, case-insensitive) has six posts seeded when first named,
  published at the world's creation minus 1, 4, 9, 20, 45 and 80 days, index 2 and 5
  reshares; most recently published first. Items: ``linkedin_post_id`` and
  ``linkedin_activity_id`` (two different 19-digit strings; the post actions report the
  activity id as their ``linkedin_post_id``), ``linkedin_post_url``
  (``https://www.linkedin.com/posts/<handle>_update-activity-<activity id>-<4 chars>``),
  ``published_date`` (``YYYY-MM-DD``), ``content_text``, ``reaction_count``,
  ``comment_count``, ``repost_count`` (the size of the post's likers, commenters, reposters
  feed under that URL or its ``feed/update/urn:li:activity:<id>/`` form, else the size such a
  feed starts with: 70, 40, 12), ``linkedin_post_type`` (``original`` or ``reshare``),
  ``author`` (for a reshare the original author), ``activity_author`` (the profile named; each
  ``{linkedin_profile_id, linkedin_profile_url, first_name, last_name}``, the id derived from
  the handle, names from a sandbox handle ``first-last-digits``) and ``source_post`` (null, or
  the original's ``{linkedin_post_id, linkedin_post_url}``).
* Credits (edges-api.md section 12): ``GET /v1/workspaces`` answers ``{"name", "uid",
  "credits_left", "credits_max", "credits_used", "plan_name", "current_month_start",
  "current_month_end"}``, ``GET /v1/workspaces/consumption`` ``{"credits_left",
  "credits_used", "credits_max", "current_month_start", "current_month_end", "consumptions":
  [{"action_slug", "credits_used", "runs_count"}]}`` (one per action that ended an iteration
  this month, by slug). Results delivered by the paid actions use credits: 1 per post
  commenter, liker, reposter and post activity item, 1.5 in managed mode (so counts may be
  fractional; whole ones are integers); the others are free (engagement identity), and an
  empty iteration costs nothing. An iteration is charged in the UTC month it finishes, once it
  delivered; ``runs_count`` counts the runs that ended an iteration in the month, free ones
  included. ``credits_max`` is a setting (default 10000; ``plan_name`` follows the docs' tiers:
  Bronze), ``credits_left`` never goes below 0 and nothing is refused when it is 0. Month
  bounds are the UTC month's first and last microsecond. Derived from the runs and from what
  purged runs had used (both in the state file). Not counted by the ``/v1/runs*`` rate limit.
* Continue: 400 ``BAD_PARAMETERS`` (message naming the failed precondition) unless the run
  was launched with ``sync_mode: incremental``, with an engagement identity, and is BLOCKED,
  STOPPED, FAILED, PARTIAL_SUCCEEDED or SUCCEEDED; 404 for an unknown run.
* Incremental semantics: an iteration takes its snapshot of the feed at the launch/continue
  call. The first covers all items existing then, later ones the items newer than the
  previous iteration's snapshot. Newest first, the first ``max_results`` are delivered and the
  older excess is dropped for good (see ``Backstage.ground_truth``). A FAILED, INVALID or cancelled
  (STOPPED) iteration delivers nothing and does not move that cursor. Every item delivered by
  an iteration carries ``extracted_at`` = the iteration's finish time (ISO-8601 UTC,
  microseconds, ``Z``), strictly increasing across iterations.
* Outputs: items are the action's output record plus ``extracted_at`` (no input or run
  fields). ``outputs_mode="cumulative"``: items of every finished iteration, oldest iteration
  first, newest first within one; ``"cumulative-newest"``: the same, newest iteration first;
  ``"latest"``: only the newest finished iteration's (none if
  it failed; the previous one's while a continued iteration is in progress). Cursor
  paging: ``limit`` 1..500 (default 100), opaque ``cursor``; ``X-Pagination-Next`` carries the
  absolute URL of the next page and is absent on the last. The deprecated ``offset`` switches to
  offset paging without that header.
* ``GET /v1/runs``: repeated-key filters ``uid``, ``status``, ``action_name``; ``limit`` 1..100
  (default 10), ``offset``; repeatable ``sort`` (``-`` = descending, default ``created_at``).
* ``GET /v1/runs/{uid}/inputs``: ``limit`` 1..100 (default 100), ``offset``; the run's
  inputs in the launch's order, each with: ``uid`` (derived from the run uid), ``status``
  (the run's, but INVALID shows as BLOCKED and PARTIAL_SUCCEEDED as SUCCEEDED, which the input
  enum lacks), ``input_data`` (the input without ``custom_data``), ``custom_data`` (``{}`` if
  none), ``last_error`` (``null``, or ``{has_failed, message, scope, label, error_ref,
  params, validation_errors}`` from the run's), its own ``output_count``, ``retry_count`` 0
  and the run's current timestamps.
* Rate limits and faults (:class:`Faults`) apply to ``/v1/runs*`` only: 429 ``STATUS_429``
  with ``Retry-After`` (seconds), ``X-RateLimit-Type`` (e.g. ``/v1/runs/outputs``) and
  ``X-RateLimit-Remaining`` (sent on every ``/v1/runs*`` answer while a budget is set); 5xx
  ``UNKNOWN_ERROR`` (scope ``server``); ``garbage_every``: HTTP 200 with an HTML page, as a
  misbehaving proxy would answer. ``error_every``, ``garbage_every`` and ``outputs_429_every``
  count every authenticated ``/v1/runs*`` (resp. outputs) request, including the ones they fail.
  ``lost_answer_every`` (launches included): every Nth launch or continue is applied, then
  answered with a gateway's 504 ``UNKNOWN_ERROR`` or, with ``lost_answer_kind="reset"``, with
  a closed connection, as when an answer is lost on the way back.
* Gateway answers (faults): the gateway in front of Edges may answer without an Edges body (a
  gateway 429 may come without JSON, edges-api.md section 12). ``gateway_429_every``: every
  Nth ``/v1/runs*`` request gets 429 with an HTML page (``text/html``) and ``Retry-After:
  gateway_retry_after`` (seconds, default 1); ``gateway_5xx_every``: every Nth gets 502, then
  503, then 504 (and round again), each with an HTML page and no ``Retry-After``. Both count
  every authenticated ``/v1/runs*`` request, as ``error_every`` does (which wins when both
  fall on one request; ``gateway_5xx_every`` wins over ``gateway_429_every``).
* Identities: two engagement identities (``ENGAGEMENT_IDENTITY_IDS``) and one standard one
  (``STANDARD_IDENTITY_ID``), each with one connected LinkedIn account. As Edges does
  (edges-api.md section 7: ``integrations`` is a list; the accounts show with
  ``retrieve_accounts=true`` only, "slower"), ``GET /v1/identities`` and
  ``GET /v1/identities/{uid}`` show ``integrations: []`` unless ``retrieve_accounts=true``,
  which lists the account: ``[{"uid": ..., "type": "linkedin", "status": "connected"}]``
  (``status`` values are not documented). For benchmarks with many partitions,
  ``Sandbox(extra_identities=N)`` (or ``serve --extra-identities N``) adds N engagement
  identities with deterministic uids, ``extra_identity_ids(N)``
  (``eeeeeeee-0000-4000-8000-000000000001`` and so on), listed after the named ones; by default
  there are none.
* Scale: ``GET /v1/runs`` builds run objects only for the runs its ``uid`` and ``action_name``
  filters select, and only for the requested page when the sort is on fields that never change
  (``created_at``, ``id``, ...); launches, continues and output pages cost the same whatever
  the number of runs. ``Sandbox(preencode_outputs=True)`` (benchmarks) serves output pages
  joined from items encoded once each: the same bytes, without the cost of encoding every page,
  so that a fast client is not bounded by the sandbox. Without a state file nothing is saved.
* World: deterministic from ``seed``. Feeds appear lazily: connections and profile viewers per
  identity, messages per (identity, thread URL), post commenters/likers/reposters per post URL,
  page followers per company page URL.
  Every 4th item of a feed is by a member of a shared audience (the same person at the same
  position of every feed; in connections only every other one), so people appear in several
  streams and some engaged people are connections.
* Control routes under ``/_sandbox/`` (no key, loopback only, neither counted nor logged):
  ``POST grow``, ``POST publish-post`` (``{"author_url"}`` → ``{"linkedin_post_url"}``),
  ``POST start-conversation`` (``{"identity_id"}`` → ``{"linkedin_thread_url"}``),
  ``GET ground-truth?run_uid=``, ``GET|DELETE requests``, ``GET|POST faults``,
  ``GET|POST outputs-mode``, ``GET|POST variants`` (body ``{"variants": [names]}``, replacing
  them all). Ground truth items are the items as the outputs serve them (variants included);
  each iteration's own ``extracted_at`` there stays ISO-8601.
* For tests: ``sandbox.requests.observer`` (a function of the request and its answer, or None)
  is called with every API request once it is applied and before its answer is sent, so a test
  can look at what the client had written before it sent the request, or kill the client there
  (its answer is then lost); ``sandbox.backstage.purge_run(uid)`` forgets a run, as Edges does
  when it purges one (every later request for it answers 404).
* Persistence: with ``state_file`` the world, runs, iterations and counters are saved
  atomically after every mutation and loaded on start, so another process can continue a run.
  Faults, outputs mode, variants, extra identities, ``preencode_outputs`` and the request log
  are not persisted (what a variant decided for a run, such as a clamped ``max_results`` or
  a wait for a slot, is part of the run and is).
* Time is injectable (``clock=``); :class:`edges_sandbox.clock.ManualClock` is a clock that
  only moves when told to, for instant lifecycle tests.

API variants: the choices above are one reading of the docs. ``Sandbox(variants=[...])``,
``serve --variant NAME`` (repeatable) or ``POST /_sandbox/variants`` switch on other readings
(none by default). They combine freely, and with every outputs mode, except that at most one
``extracted_at`` variant applies at a time; changes apply to the next requests, and an
iteration keeps what was decided when it started (:mod:`edges_sandbox.variants` holds the names
and constants):

* ``no_name``: the launch body is validated strictly without a ``name`` property: a body
  holding ``name`` (even ``null``) gets 400 ``BAD_PARAMETERS`` "body must NOT have additional
  properties (name)"; runs then have ``name: null``.
* ``clamp_max_results``: every action's largest ``max_results`` is ``MAX_RESULTS_MAXIMUM``
  (80). A launch asking for more (up to the usual 1000, default 100) is accepted, and the run
  works with 80: its ``parameters.max_results`` shows 80 and each iteration delivers at most
  80 items (the older excess is dropped, as with any cap).
* ``no_max_results_echo``: run objects' ``parameters`` omit ``max_results`` (only
  ``sync_mode`` and what else the launch sent); the cap still applies.
* ``no_extracted_at``: output items carry no ``extracted_at`` at all.
* ``epoch_ms_extracted_at``: ``extracted_at`` is an integer of epoch milliseconds (the
  iteration's finish time, truncated).
* ``epoch_s_extracted_at``: ``extracted_at`` is a JSON number of epoch seconds with a
  microsecond fraction (e.g. ``1750000010.123456``).
* ``naive_extracted_at``: ``extracted_at`` is ``"YYYY-MM-DD HH:MM:SS.ffffff"``, UTC without a
  zone.
* ``refuse_offset``: ``GET /v1/runs/{uid}/outputs`` with an ``offset`` parameter answers 400
  ``BAD_PARAMETERS`` "offset is no longer supported; use the cursor in X-Pagination-Next";
  cursor paging works as usual.
* ``queue``: the workspace runs at most ``QUEUE_SLOTS`` (2) runs at a time, as Trial and
  Bronze plans do. An iteration holds a slot while RUNNING; a launched or continued iteration
  that finds both slots taken at its usual RUNNING mark stays QUEUED until one frees (first
  come, first served), then runs for its usual 0.8 * ``run_seconds``; ``started_at`` is when
  it got the slot. Planned from the injected clock when the iteration starts; a cancel frees
  its slot at once and the waiting iterations move up. Hung runs hold their slots until
  cancelled. The feed snapshot is still taken at the launch/continue call.
* ``no_data_failed``: an iteration that finds no new item ends FAILED with ``last_error``
  ``{"label": "NO_DATA_AVAILABLE", "message": ..., "params": {}}`` (changelog 2026-06-22)
  instead of SUCCEEDED with no outputs; the run can still be continued.
* ``identity_accounts``: with ``retrieve_accounts=true``, identities list their connected
  accounts as ``accounts`` (the reading of Edges' skills repo), beside an empty
  ``integrations``.
* ``posts_not_incremental``: post commenters, likers and reposters refuse incremental
  (``NOT_INCREMENTAL_ACTIONS``, as a newer continue page lists only connections, messages,
  profile viewers and page followers): a launch with ``sync_mode: incremental`` gets 400
  ``BAD_PARAMETERS`` "parameters/sync_mode: incremental sync is not supported for action
  <slug>", and so does a continue of such a run launched before.
* ``type_drift``: output value types drift, as scraped data's do, in the served items (and in
  the ground truth, which shows them as served), deterministically from each item's position
  ``p`` in its iteration (0 = its newest delivered item; dropped items follow) and the page
  of 10 items it falls in, never at random (rules and reasons in :mod:`edges_sandbox.drift`).
  Integers become strings of digits at ``p % 3 == 1``; strings of digits that fit 64 bits
  become numbers at ``p % 3 == 2`` (post commenters' ``linkedin_comment_id`` and
  ``linkedin_post_id``, likers' ``linkedin_post_id``: the other actions have no such string,
  and their integer ids drift the other way); each action's flip field is an integer on even
  pages and a string on odd ones (messages ``position``, profile viewers ``view_timestamp``,
  commenters ``comment_like_count``, reposters ``linkedin_repost_id``, the others
  ``linkedin_profile_id``); the optional ``job_title``, ``summary``, ``profile_image_url``,
  ``linkedin_profile_picture``, ``sales_navigator_profile_url`` and ``repost_text`` (those an
  action has) are ``null`` at ``p % 5 == 3`` and missing at ``p % 5 == 4``; unknown fields
  appear: ``edges_meta`` (a nested object) at even ``p``, ``edges_tags`` (an array of
  objects) at ``p % 4 == 1``; at ``p % 7 == 6`` a string changes shape (``first_name``, or
  profile viewers' ``connection_degree``, becomes ``{"text": <the string>}``). Key fields
  drift in type only: their values never change and they are never nulled nor removed.
  ``extracted_at`` is left to the other variants. Applied when items are served (like the
  ``extracted_at`` variants); ``preencode_outputs`` is not used while it is on.
* ``conversations_incremental``: conversations accept ``sync_mode: incremental`` (with an
  engagement identity) and such a run can be continued: each continue lists the threads whose
  last activity is newer than the previous listing (same order, ``read`` and cap; a thread
  named after that listing with older messages is not listed).
* ``conversations_unordered``: conversations are listed oldest thread first (by
  ``created_at``), so a capped listing is not the most recent one.
* ``activity_urls_unchecked``: every other post of an author (odd index in publication order)
  has ``linkedin_post_url`` ``https://www.linkedin.com/in/<handle>/recent-activity/all/``,
  which the post actions refuse; ``linkedin_activity_id`` is still given.
* ``no_credits``: ``GET /v1/workspaces`` and ``GET /v1/workspaces/consumption`` answer 404
  ``STATUS_404`` (an error body), as for a route that does not exist (it wins over
  ``credits_list``).
* ``credits_list``: ``GET /v1/workspaces`` answers a list holding the one workspace object;
  ``GET /v1/workspaces/consumption`` answers 404 ``STATUS_404``.
"""

from __future__ import annotations

from edges_sandbox.emulator import Sandbox
from edges_sandbox.faults import Faults
from edges_sandbox.identities import (
    DEFAULT_API_KEY,
    ENGAGEMENT_IDENTITY_IDS,
    STANDARD_IDENTITY_ID,
    extra_identity_ids,
)

__all__ = [
    "DEFAULT_API_KEY",
    "ENGAGEMENT_IDENTITY_IDS",
    "STANDARD_IDENTITY_ID",
    "Faults",
    "Sandbox",
    "extra_identity_ids",
]
