"""The numeric core: pot solve, transition and rounding over points x schools.

Arrays are shaped (points, schools). A single allocation is one point; a sweep is many, and
both go through the same arithmetic, so a sweep point equals a single run to the cent. Every
step is vectorised over schools and points; the only loops are bisection steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from wsf.errors import WsfError

BISECTIONS = 200


@dataclass(frozen=True)
class Rules:
    """Per-point values of the formula's solve parameters (each shaped (points,) or None)."""

    pot: np.ndarray | None
    max_loss: np.ndarray | None = None
    max_gain: np.ndarray | None = None
    gap_closure: np.ndarray | None = None
    transition: bool = False

    def _values(self) -> dict[str, np.ndarray]:
        return {f: v for f in ("pot", "max_loss", "max_gain", "gap_closure") if (v := getattr(self, f)) is not None}

    def points(self, *arrays: np.ndarray) -> int:
        """How many points: the rules' values per point, or the arrays' rows."""
        return max([len(v) for v in self._values().values()] + [len(a) for a in arrays])

    def select(self, rows: slice) -> Rules:
        """The rules of these points only."""
        return replace(self, **{f: v[rows] for f, v in self._values().items()})

    @property
    def solves_cap(self) -> bool:
        """With a pot and nothing else fixing the gains, the gain cap is what is solved."""
        return self.pot is not None and self.max_gain is None and self.gap_closure is None


@dataclass(frozen=True)
class Solution:
    scale: np.ndarray  # (points,)
    gain_cap: np.ndarray | None  # (points,): solved (NaN where the floor lifts no school, so none is needed), or the formula's max_gain
    formula: np.ndarray  # (points, schools): formula amounts at the solved scale
    target: np.ndarray  # after gap closure (the formula amount where there is none)
    final: np.ndarray  # after the loss floor and gain cap


def solve(path: Path, variable: np.ndarray, fixed: np.ndarray, rules: Rules, prior: np.ndarray | None = None,
          reference: np.ndarray | None = None, out: np.ndarray | None = None) -> Solution:
    """Scale to the pot, then apply the transition against last year's allocations.

    `prior` is last year's amount per school (0 or NaN: a new school, funded at formula);
    `reference` is what the floor and cap are fractions of: the prior itself, or the prior per
    pupil times this year's pupils. `out`, if given, receives the amounts without a transition.
    """
    scale = _pot_scale(path, variable, fixed, rules)
    if not rules.transition:
        if rules.pot is None:  # the scale is 1
            amount = np.add(variable, fixed, out=out)
        else:
            amount = np.multiply(scale[:, None], variable, out=out)
            amount += fixed
        return Solution(scale, None, amount, amount, amount)
    assert prior is not None and reference is not None
    # a school with no prior, or nothing this year to measure bounds against (no pupils under a
    # per-pupil basis), is funded at formula
    old = (np.nan_to_num(prior, nan=0.0) > 0) & (reference > 0)
    prior = np.where(old, prior, 0.0)
    floor = np.where(old, (1 - rules.max_loss[:, None]) * reference, -np.inf) if rules.max_loss is not None else np.full(variable.shape, -np.inf)

    def closed(amount: np.ndarray) -> np.ndarray:
        """The target: the formula amount, or last year's plus a share of the gap."""
        return amount if rules.gap_closure is None else np.where(old, prior + rules.gap_closure[:, None] * (amount - prior), amount)

    def held(target: np.ndarray, amount: np.ndarray, cap: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
        """Schools with a prior: the target held between the floor and the cap. New schools:
        the formula amount. (`out` lets a bisection step reuse one array.)"""
        if cap is None:
            result = np.maximum(floor, target, out=out)
        else:
            with np.errstate(invalid="ignore"):
                result = np.multiply(1 + cap[:, None], reference, out=out)
            np.maximum(floor, np.minimum(target, result, out=result), out=result)
        np.copyto(result, amount, where=~old)
        return result

    if rules.pot is None or rules.solves_cap:
        amount = scale[:, None] * variable + fixed
        target, cap = closed(amount), rules.max_gain
        if rules.solves_cap:
            if (row_sums(np.where(old, floor, amount)) > rules.pot).any():
                raise WsfError("the loss floor alone costs more than the pot", file=path, key="transition.max_loss",
                               fix="raise max_loss (allow larger losses) or raise pot.amount")
            gain = np.where(old, amount / np.where(old, reference, 1.0) - 1, -1.0)
            top = gain.max(axis=1, initial=-1.0)  # a cap at the largest gain holds back nothing
            step = np.empty_like(amount)
            cap = bisect(lambda g: row_sums(held(target, amount, g, out=step), out=step) - rules.pot, np.full_like(scale, -1.0), top)
            # where the floor lifts no school, no gain is capped: there is no cap (NaN), only the formula
            lifted = (old & (target < floor)).any(axis=1)
            final = held(target, amount, np.where(lifted, cap, top))
            return Solution(scale, np.where(lifted, cap, np.nan), amount, target, final)
        return Solution(scale, cap, amount, target, held(target, amount, cap))

    # A pot with the gains fixed (an explicit max_gain or gap closure): re-solve the scale.
    cap = rules.max_gain
    trial, step = np.empty((len(scale), variable.shape[1])), np.empty((len(scale), variable.shape[1]))

    def spent(s: np.ndarray) -> np.ndarray:
        np.add(np.multiply(s[:, None], variable, out=trial), fixed, out=trial)
        return row_sums(held(closed(trial), trial, cap, out=step), out=step)

    high = np.maximum(scale, 1.0)
    for _ in range(64):
        short = spent(high) < rules.pot
        if not short.any():
            break
        high = np.where(short, high * 2, high)
    if (spent(np.zeros_like(scale)) > rules.pot).any() or (spent(high) < rules.pot).any():
        raise WsfError("with these transition bounds no base scale spends the pot exactly", file=path, key="transition",
                       fix="remove max_gain (and gap_closure) to have the gain cap solved from the pot, or widen the bounds")
    scale = bisect(lambda s: spent(s) - rules.pot, np.zeros_like(scale), high)
    amount = scale[:, None] * variable + fixed
    target = closed(amount)
    return Solution(scale, cap, amount, target, held(target, amount, cap))


def _pot_scale(path: Path, variable: np.ndarray, fixed: np.ndarray, rules: Rules) -> np.ndarray:
    """The scale of each point; the components may be one row for every point."""
    pot = rules.pot
    if pot is None:
        return np.ones(rules.points(variable, fixed))
    fixed_total, variable_total = (np.broadcast_to(row_sums(a), pot.shape) for a in (fixed, variable))
    over = fixed_total > pot
    if over.any():
        i = int(np.argmax(over))
        raise WsfError(
            f"the fixed parts (per-pupil weights and foundations) cost ${fixed_total[i]:,.2f}, more than the pot of ${pot[i]:,.2f}",
            file=path,
            key="pot.amount",
            fix="raise pot.amount, or lower the foundations and per_pupil weights",
        )
    if (variable_total <= 0).any():
        raise WsfError("nothing in the formula scales with the base (no pupils?), so the pot cannot be met", file=path, key="pot",
                       fix="check the enrollment columns, or remove [pot]")
    return (pot - fixed_total) / variable_total


def bisect(excess: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per point, the smallest x in [low, high] with excess(x) >= 0, for a nondecreasing excess."""
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        settled = (middle == low) | (middle == high)
        if settled.all():
            break
        ok = excess(middle) >= 0
        high = np.where(ok & ~settled, middle, high)
        low = np.where(~ok & ~settled, middle, low)
    return high


def fold(terms: list[np.ndarray], schools: int, out: np.ndarray | None = None) -> np.ndarray:
    """Add component arrays left to right: one order of additions for a single run and a sweep
    alike, so both get the same bits. Terms are per school (schools,) or per point and school
    (points, schools); the result is (1, schools) if every term is per school, else `out`
    (if given) holds it."""
    total = np.zeros(schools)
    for term in terms:
        if term.ndim > total.ndim:
            total = np.add(total, term, out=out)  # the first per-point term: from here on, one row per point
        else:
            np.add(total, term, out=total)
    return np.atleast_2d(total)


def row_sums(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Sum of each row, added left to right: the same bits whether a row is alone or one of many
    (NumPy's pairwise reduction can group a row differently inside a larger array). `out` is
    scratch for the running sums (it may be `values`)."""
    if values.shape[-1] == 0:
        return np.zeros(values.shape[:-1])
    return np.cumsum(values, axis=-1, out=out)[..., -1].copy()


def round_totals(totals: np.ndarray, pot_units: np.ndarray | None) -> np.ndarray:
    """Whole units per school: half up, or by largest remainder so each point sums to its pot (a
    school with nothing gets no unit before the others)."""
    if pot_units is None:
        return half_up(totals).astype(np.int64)
    totals = np.round(totals, 6)  # float noise below a millionth of a unit is not money
    floors = np.floor(totals).astype(np.int64)
    short = pot_units - floors.sum(axis=1)
    if ((short < 0) | (short > totals.shape[1])).any():
        raise AssertionError(f"rounding to the pot is off by {short} units")
    return floors + (_ranks(np.where(totals == 0, -1.0, totals - floors)) < short[:, None])


def half_up(units: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Round half up to whole units, after dropping float noise below a millionth of a unit:
    floor(round(x, 6) + 0.5), computed in place (NumPy's round is x * 1e6, rint, / 1e6) in
    `out` (which may be `units`) or a new array."""
    work = np.multiply(units, 1e6, out=out)
    np.rint(work, out=work)
    work /= 1e6
    work += 0.5
    return np.floor(work, out=work)


def split(parts: np.ndarray, totals: np.ndarray, fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Round each school's parts (schools x parts, of any sign) to whole units that sum to its total:
    floors, then the units still short go one each to the largest remainders (a total below the
    floors takes them back from the smallest). Only parts that are something and not `fixed` (a
    position's dollars: FTE x cost, exact) take a unit; a school with none such returns the units
    as its residual (the caller's to place), so no line of $0 becomes -$0.01. Returns (units, residual)."""
    parts = np.round(parts, 6)
    floors = np.floor(parts).astype(np.int64)
    short = totals - floors.sum(axis=1)
    free = np.ones(parts.shape[1], dtype=bool) if fixed is None else ~fixed
    eligible = (parts != 0) & free[None, :]
    count = eligible.sum(axis=1)
    if parts.size and (np.abs(short) > 2 * np.maximum(count, 1)).any():
        raise AssertionError("rounding cannot reach a school's total")
    whole, extra = np.divmod(short, np.maximum(count, 1))
    remainders = np.where(eligible, parts - floors, -np.inf)  # a part that takes no unit ranks last
    units = floors + np.where(eligible, whole[:, None] + (_ranks(remainders) < extra[:, None]), 0)
    residual = np.where(count == 0, short, 0)
    return units, residual


def _ranks(remainders: np.ndarray) -> np.ndarray:
    """Rank of each remainder in its row, largest first; ties go to the earlier column."""
    order = np.argsort(-remainders, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(remainders.shape[1]), remainders.shape), axis=1)
    return ranks
