"""The similarity a face needs to be named, for a false-accept rate at the gallery's size.

A stranger is falsely named when their similarity to *any* enrolled person reaches the threshold,
so the chance grows with the number of people: with N people and a per-person chance q, the
stranger is named with probability 1 - (1 - q)^N. For a target rate F the threshold is the
similarity that a share q = 1 - (1 - F)^(1/N) of (stranger, person) pairs reach.

Each embedder's `impostor_tail` (in its network's module, recognition/networks/) holds that tail,
measured on real strangers: the 1,000 strangers of shared/faces/lfw against its 1,291 people,
each enrolled with up to 3 photos (1.29 M pairs), by `python benchmarks/openset.py --table`. Between its points the threshold is interpolated in
log(q); past the last one (galleries of tens of thousands of people) the last slope continues.
benchmarks/openset.py checks the result on separate draws of 100 and 1,000 enrolled people.
"""

from __future__ import annotations

import math

from . import networks


def decision_threshold(
    embedder: str, people: int, false_accept_rate: float, fixed: float | None = None
) -> float:
    """The threshold a decision over `people` uses: `fixed` (FACEREC_MATCH_THRESHOLD) when set,
    else the calibrated one. A 1:1 comparison is a gallery of one."""
    return fixed if fixed is not None else threshold_for(embedder, people, false_accept_rate)


def threshold_for(embedder: str, people: int, false_accept_rate: float) -> float:
    """The similarity threshold that names at most `false_accept_rate` of strangers."""
    return threshold_from_tail(networks.impostor_tail(embedder), people, false_accept_rate)


def threshold_from_tail(tail, people: int, false_accept_rate: float) -> float:
    """The threshold for `people` and `false_accept_rate` from an impostor tail: ((q, similarity
    reached by a share q of stranger-person pairs), ...), q falling."""
    if not 0 < false_accept_rate < 1:
        raise ValueError("the false-accept rate is a share between 0 and 1, e.g. 0.01")
    q = 1 - (1 - false_accept_rate) ** (1 / max(int(people), 1))
    x = [math.log10(share) for share, _ in tail]
    y = [similarity for _, similarity in tail]
    position = math.log10(q)
    if position >= x[0]:
        return y[0]  # a gallery so small that the loosest measured point is strict enough
    for i in range(1, len(x)):
        if position >= x[i] or i == len(x) - 1:
            slope = (y[i] - y[i - 1]) / (x[i] - x[i - 1])
            return y[i - 1] + slope * (position - x[i - 1])
    raise AssertionError("unreachable")
