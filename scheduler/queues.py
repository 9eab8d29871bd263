"""The three job queues, declared once.

p0 is immediate on-demand work, p1 recurring background work (compliance, bots), p2 scheduled
harvesting. Workers poll them in this order, so p0 always goes first.
"""

from __future__ import annotations

from kombu import Exchange, Queue

P0 = "p0"
P1 = "p1"
P2 = "p2"
PRIORITIES = (P0, P1, P2)

#: How metrics exported to CloudWatch / Stackdriver name each queue.
METRIC_NAMES = {P0: "Immediate", P1: "High Priority", P2: "Standard"}

CELERY_QUEUES = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in PRIORITIES)


def parse_queue_list(value: str) -> list[str]:
    """``"p0,p2"`` -> ``["p0", "p2"]`` in priority order; unknown names raise ValueError."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in PRIORITIES]
    if unknown or not names:
        raise ValueError(f"unknown queue {', '.join(unknown) or repr(value)}; expected some of {', '.join(PRIORITIES)}")
    return [name for name in PRIORITIES if name in names]
