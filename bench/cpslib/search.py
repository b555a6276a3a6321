"""The rate search of one configuration (method: bench/README.md) and its result."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from cpslib.trial import Bench, Plan, Trial, Variant


@dataclass
class Result:
    variant: Variant
    best: int | None = None  # highest passing rate
    lowest_fail: int | None = None
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0
    truncated: bool = False  # stopped by the time budget

    @property
    def figure(self) -> str:
        if self.best is None:
            return f"<{min((t.rate for t in self.trials), default=0)}"
        return str(self.best)


def search(bench: Bench, variant: Variant, start: int | None = None, step: float = 2.0,
           deadline: float = math.inf) -> Result:
    """Multiply (or divide) the rate by step until the verdict flips, then bisect.

    The bisection is geometric and stops when lowest failing / highest passing rate
    is within the plan's precision, the trials are used up, or the next trial could
    end after deadline (time.monotonic()).
    """
    plan = bench.plan
    result = Result(variant)
    began = time.monotonic()
    rate = max(plan.min_rate, min(plan.max_rate, start or plan.start_rate))
    tried: set[int] = set()
    number = 0

    def time_left() -> bool:  # a failing trial lasts up to its timeout + start/stop
        return time.monotonic() + plan.trial_timeout_s + 5 <= deadline

    while number < plan.max_trials:
        if number and not time_left():
            bench.log(f"  {variant.key:<16} time budget used up: search stopped")
            result.truncated = True
            break
        tried.add(rate)
        number += 1
        trial = bench.trial(variant, rate, number)
        result.trials.append(trial)
        bench.log(f"  {variant.key:<16} trial {number}: {trial.describe()}")
        if (not trial.ok and plan.retry_failures and number < plan.max_trials
                and time_left()):
            number += 1
            trial = bench.trial(variant, rate, number)
            result.trials.append(trial)
            bench.log(f"  {variant.key:<16} trial {number}: {trial.describe()}  (retry)")
        if trial.ok:
            result.best = max(result.best or 0, rate)
            if result.lowest_fail is not None and result.lowest_fail <= rate:
                result.lowest_fail = None  # noise: a lower rate failed; look above again
        else:
            below = result.best is None or rate > result.best
            if below and (result.lowest_fail is None or rate < result.lowest_fail):
                result.lowest_fail = rate
        nxt = next_rate(plan, result, rate, step)
        if nxt is None or nxt in tried:
            break
        rate = nxt
    result.seconds = round(time.monotonic() - began, 1)
    return result

def next_rate(plan: Plan, result: Result, rate: int, step: float) -> int | None:
    best, fail = result.best, result.lowest_fail
    if fail is None:  # nothing failed above the best pass: go up
        return None if rate >= plan.max_rate else min(plan.max_rate, round(rate * step))
    if best is None:  # nothing passed yet: go down
        return None if rate <= plan.min_rate else max(plan.min_rate, round(rate / step))
    if fail / best <= plan.precision:
        return None
    return round(math.sqrt(best * fail))


