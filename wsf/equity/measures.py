"""Equity measures of per-pupil dollars, weighted by pupils.

Every function takes `x` (a school's per-pupil dollars) and `w` (its pupils) as arrays, one
element per school, and treats the data as the list in which every pupil carries their
school's amount. Schools with no pupils must be removed by the caller (their per-pupil amount
does not exist). The exact definitions, with the percentile rule, are in docs/equity.md; the
functions are vectorised (NumPy): no loop visits a school.

A measure that is undefined for the data (a mean of zero, a poverty share that never varies)
is NaN, which the reports print as blank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAN = float("nan")
TIE = 1e-12  # relative tolerance for "the cumulative pupils reach q x W exactly"


def _arrays(x, w) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.shape != w.shape or x.ndim != 1:
        raise ValueError("x and w must be one-dimensional and the same length")
    if x.size == 0:
        raise ValueError("no schools with pupils")
    if (w <= 0).any() or not np.isfinite(w).all() or not np.isfinite(x).all():
        raise ValueError("pupils must be positive and amounts finite")
    return x, w


def mean(x, w) -> float:
    x, w = _arrays(x, w)
    return float(np.sum(w * x) / np.sum(w))


def percentile(x, w, q):
    """Pupil-weighted percentile (q in [0, 1]): Hyndman-Fan type 2 over the pupil list.

    Sort schools by amount; C_i is the cumulative pupils up to school i. P_q is the amount of
    the first school with C_i >= q*W; when C_i equals q*W exactly, the mean of that school's
    amount and the next one's (as the median of an even list is).
    """
    x, w = _arrays(x, w)
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order])
    total = cum[-1]
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    target = qs * total
    i = np.minimum(np.searchsorted(cum, target * (1 - TIE), side="left"), xs.size - 1)
    exact = np.abs(cum[i] - target) <= TIE * total
    following = np.minimum(i + 1, xs.size - 1)
    value = np.where(exact, (xs[i] + xs[following]) / 2, xs[i])
    return float(value[0]) if np.ndim(q) == 0 else value


def range_(x, w) -> float:
    x, _ = _arrays(x, w)
    return float(x.max() - x.min())


def restricted_range(x, w) -> float:
    p5, p95 = percentile(x, w, [0.05, 0.95])
    return float(p95 - p5)


def federal_range_ratio(x, w) -> float:
    p5, p95 = percentile(x, w, [0.05, 0.95])
    return float((p95 - p5) / p5) if p5 > 0 else NAN


def cv(x, w) -> float:
    """Pupil-weighted standard deviation (population form, divide by W) over the mean."""
    x, w = _arrays(x, w)
    mu = np.sum(w * x) / np.sum(w)
    if mu <= 0:
        return NAN
    return float(np.sqrt(np.sum(w * (x - mu) ** 2) / np.sum(w)) / mu)


def mcloone(x, w) -> float:
    """Dollars of pupils strictly below the median over what they would get at the median."""
    x, w = _arrays(x, w)
    m = percentile(x, w, 0.5)
    below = x < m
    if not below.any():
        return 1.0  # nobody is below the median: every pupil is funded at least at it
    return float(np.sum(w[below] * x[below]) / (m * np.sum(w[below])))


def verstegen(x, w) -> float:
    """Dollars of pupils strictly above the median over what they would get at the median."""
    x, w = _arrays(x, w)
    m = percentile(x, w, 0.5)
    above = x > m
    if not above.any():
        return 1.0
    if m <= 0:
        return NAN
    return float(np.sum(w[above] * x[above]) / (m * np.sum(w[above])))


def gini(x, w) -> float:
    """Σ_i Σ_j w_i w_j |x_i - x_j| / (2 W² μ), by one sort: O(n log n), no n x n matrix."""
    x, w = _arrays(x, w)
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    total = ws.sum()
    mu = np.sum(ws * xs) / total
    if mu <= 0:
        return NAN
    d = xs - xs[0]  # differences are shift-free; measuring from the minimum avoids cancellation
    pupils_before = np.cumsum(ws) - ws
    dollars_before = np.cumsum(ws * d) - ws * d
    pairs = np.sum(ws * (d * pupils_before - dollars_before))  # Σ_{i<j} w_i w_j (x_j - x_i)
    return float(max(pairs, 0.0) * 2 / (2 * total**2 * mu))


def theil(x, w) -> float:
    """Theil T: (1/W) Σ w (x/μ) ln(x/μ), with 0 ln 0 = 0."""
    x, w = _arrays(x, w)
    if (x < 0).any():
        return NAN
    mu = np.sum(w * x) / np.sum(w)
    if mu <= 0:
        return NAN
    r = x / mu
    terms = np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)
    return float(np.sum(w * terms) / np.sum(w))


@dataclass(frozen=True)
class Neutrality:
    correlation: float
    slope: float  # dollars per pupil for a poverty share of 1.0 rather than 0.0
    intercept: float
    elasticity: float


def neutrality(x, w, share) -> Neutrality:
    """Pupil-weighted correlation and least-squares line of x on a poverty share."""
    x, w = _arrays(x, w)
    p = np.asarray(share, dtype=float)
    total = np.sum(w)
    mx, mp = np.sum(w * x) / total, np.sum(w * p) / total
    cov = np.sum(w * (x - mx) * (p - mp)) / total
    var_p = np.sum(w * (p - mp) ** 2) / total
    var_x = np.sum(w * (x - mx) ** 2) / total
    if var_p <= 0:
        return Neutrality(NAN, NAN, NAN, NAN)
    slope = cov / var_p
    correlation = cov / np.sqrt(var_p * var_x) if var_x > 0 else NAN
    elasticity = slope * mp / mx if mx != 0 else NAN
    return Neutrality(float(correlation), float(slope), float(mx - slope * mp), float(elasticity))


@dataclass(frozen=True)
class Regression:
    intercept: float
    slopes: tuple[float, ...]
    r_squared: float

    @property
    def implied_weights(self) -> tuple[float, ...]:
        """Coefficient / intercept: extra dollars for a need pupil as a multiple of a no-need pupil's."""
        if not np.isfinite(self.intercept) or self.intercept <= 0:
            return tuple(NAN for _ in self.slopes)
        return tuple(s / self.intercept for s in self.slopes)


def regress(x, w, shares: np.ndarray) -> Regression:
    """Weighted least squares of x on [1, shares...] with weights w; NaN when not identified."""
    x, w = _arrays(x, w)
    shares = np.asarray(shares, dtype=float).reshape(x.size, -1)
    design = np.column_stack([np.ones(x.size), shares])
    k = design.shape[1]
    if x.size <= k:
        return Regression(NAN, tuple(NAN for _ in range(k - 1)), NAN)
    root = np.sqrt(w)
    beta, _, rank, _ = np.linalg.lstsq(design * root[:, None], x * root, rcond=None)
    if rank < k:
        return Regression(NAN, tuple(NAN for _ in range(k - 1)), NAN)
    fitted = design @ beta
    mx = np.sum(w * x) / np.sum(w)
    total = np.sum(w * (x - mx) ** 2)
    r2 = 1 - np.sum(w * (x - fitted) ** 2) / total if total > 0 else NAN
    return Regression(float(beta[0]), tuple(float(b) for b in beta[1:]), float(r2))


# The measures of statistics.csv, in order: name -> function of (x, w).
DISPERSION = {
    "range": range_,
    "restricted_range": restricted_range,
    "federal_range_ratio": federal_range_ratio,
    "cv": cv,
    "mcloone": mcloone,
    "verstegen": verstegen,
    "gini": gini,
    "theil": theil,
}
