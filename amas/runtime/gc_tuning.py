"""How a serving node uses Python's garbage collector: every setting in one place.

Events, their meta and task states are `gc=False` Structs (events/envelope.py,
actors/tasks/decide.py): they never form cycles, and tracked they made full
collections 60-100 ms pauses. A rebuild turns the collector off while it folds
(events/projections); that is scoped to the rebuild and restores it after.
"""

from __future__ import annotations

import gc

FULL_COLLECTION_EVERY = 100
"""Young-generation collections between two full ones (Python's default is 10)."""


def tune_for_serving() -> None:
    """Call once start-up is done, before serving."""
    # What start-up made lives as long as the node: keep it out of every full garbage
    # collection (under load they came every few seconds, each a 70-120 ms pause).
    gc.collect()
    gc.freeze()
    # Full collections only after 100 young-generation ones rather than 10: each one
    # walks every live container (caches, tasks in flight) and paused the loop for
    # 35-50 ms, 9 times in a one-minute pipeline run; now about once.
    gc.set_threshold(*gc.get_threshold()[:2], FULL_COLLECTION_EVERY)
