"""Executing the run lifecycle of one sync: what :mod:`tap_edges.lifecycle` decides, done.

:mod:`.coordinator` drives every partition of the sync (start, records, failures, STATE
throttling); :mod:`.executing` plans and sends each partition's step, writing ahead;
:mod:`.sending` sends a launch or continue once and confirms after a lost answer;
:mod:`.adopting` finds the runs of launches whose answers were lost; :mod:`.polling` waits for
runs; :mod:`.partitions` holds the partition and its registry entry; :mod:`.summary` counts.
"""
