"""L2-regularised logistic regression on a sparse matrix, for bench/eval_reranker.py.

A trainer of its own rather than a library's: scikit-learn and scipy are not dependencies of newswatch,
and a re-ranker that is measured, not shipped, should not add one. numpy is (through py3langid). The
trainer is Newton's method with preconditioned conjugate-gradient steps: no learning rate, no random
start, so two runs give the same weights to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]
Indices = NDArray[np.int64]


def _floats(values: NDArray[np.float64] | NDArray[np.int64]) -> Vector:
    """`values` as float64 (np.bincount's type does not say it returns floats when given weights)."""
    return values.astype(np.float64, copy=False)


@dataclass(frozen=True, slots=True)
class Coo:
    """A sparse matrix as (row, column, value) triples: numpy has none, and scipy is not a declared dependency.

    An item has a few dozen non-zero features out of thousands, so a dense matrix would make every
    Newton step read tens of megabytes; the triples make a product cost one pass over the non-zeros.
    """

    rows: Indices
    cols: Indices
    data: Vector
    shape: tuple[int, int]

    @classmethod
    def from_dense(cls, matrix: NDArray[np.float64]) -> Coo:
        """The non-zeros of a dense 2-D array."""
        rows, cols = np.nonzero(matrix)
        return cls(rows.astype(np.int64), cols.astype(np.int64), matrix[rows, cols].astype(np.float64),
                   (int(matrix.shape[0]), int(matrix.shape[1])))

    def dot(self, v: Vector) -> Vector:
        """X v."""
        return _floats(np.bincount(self.rows, weights=self.data * v[self.cols], minlength=self.shape[0]))

    def tdot(self, u: Vector) -> Vector:
        """Xᵀ u."""
        return _floats(np.bincount(self.cols, weights=self.data * u[self.rows], minlength=self.shape[1]))

    def tdot_squares(self, u: Vector) -> Vector:
        """diag(Xᵀ diag(u) X): the Hessian's diagonal, for preconditioning."""
        return _floats(np.bincount(self.cols, weights=self.data**2 * u[self.rows], minlength=self.shape[1]))


@dataclass(frozen=True, slots=True)
class Model:
    """A fitted logistic regression: P(yes) = sigmoid(x · weights + bias)."""

    weights: Vector = field(repr=False)
    bias: float
    iterations: int
    converged: bool

    def probability(self, x: Coo) -> Vector:
        """P(yes) of each row of `x`."""
        return _sigmoid(x.dot(self.weights) + self.bias)


def _sigmoid(z: Vector) -> Vector:
    return np.exp(-np.logaddexp(0.0, -z))


def _objective(x: Coo, y: Vector, l2: float, theta: Vector) -> float:
    w, b = theta[:-1], theta[-1]
    z = x.dot(w) + b
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w + 0.5 * _BIAS_L2 * b * b)


# A whisker of penalty on the bias keeps the Hessian positive definite when one class is absent.
_BIAS_L2 = 1e-6


def fit_logistic(x: Coo, y: Vector, l2: float, *, max_iter: int = 100, tol: float = 1e-10) -> Model:
    """Minimise Σ log-loss + l2/2 |w|² (bias unpenalised) by Newton's method, steps by preconditioned CG.

    Newton's method, rather than gradient descent, because it needs no learning rate and reaches the
    optimum to machine precision in a few dozen steps, so the result does not depend on a tuning knob or
    on where a fixed number of epochs happened to stop; nothing in it is random, so it is deterministic.

    Args:
        x: the feature matrix (n items x d features).
        y: 1.0 for yes, 0.0 for no, one per row.
        l2: the L2 strength (> 0).
        max_iter: Newton steps at most.
        tol: stop when the Newton decrement is below ``tol x (1 + objective)``.

    Returns:
        The model, with the number of Newton steps taken and whether it converged.

    Raises:
        ValueError: `l2` is not positive, or `y` does not have one 0/1 value per row.
    """
    if l2 <= 0:
        raise ValueError(f"l2 must be positive, got {l2}")
    if y.shape != (x.shape[0],) or not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold one 0/1 label per row ({x.shape[0]}), got shape {y.shape}")
    d = x.shape[1]
    penalty = np.full(d + 1, l2)
    penalty[-1] = _BIAS_L2
    theta = np.zeros(d + 1)
    loss = _objective(x, y, l2, theta)
    for step in range(1, max_iter + 1):
        p = _sigmoid(x.dot(theta[:-1]) + theta[-1])
        residual = p - y
        grad = np.append(x.tdot(residual), residual.sum()) + penalty * theta
        curvature = p * (1.0 - p)

        def hessian_times(v: Vector, curvature: Vector = curvature) -> Vector:
            u = curvature * (x.dot(v[:-1]) + v[-1])
            return np.append(x.tdot(u), u.sum()) + penalty * v

        diagonal = np.append(x.tdot_squares(curvature), curvature.sum()) + penalty
        direction = _conjugate_gradient(hessian_times, -grad, 1.0 / diagonal)
        decrement = float(-grad @ direction)
        if decrement / 2 <= tol * (1.0 + abs(loss)):
            return Model(theta[:-1].copy(), float(theta[-1]), step - 1, True)
        t = 1.0
        while True:  # backtracking (Armijo): a full Newton step is nearly always taken
            candidate = theta + t * direction
            new_loss = _objective(x, y, l2, candidate)
            if new_loss <= loss - 1e-4 * t * decrement or t < 1e-10:
                break
            t /= 2
        theta, loss = candidate, new_loss
    return Model(theta[:-1].copy(), float(theta[-1]), max_iter, False)


def _conjugate_gradient(apply: Callable[[Vector], Vector], b: Vector, inverse_diagonal: Vector,
                        rtol: float = 1e-10, max_iter: int = 500) -> Vector:
    """Solve A s = b for a symmetric positive definite A given as a product, Jacobi-preconditioned."""
    s = np.zeros_like(b)
    r = b.copy()
    z = inverse_diagonal * r
    p = z.copy()
    rz = float(r @ z)
    limit = rtol * float(np.linalg.norm(b))
    for _ in range(max_iter):
        if float(np.linalg.norm(r)) <= limit:
            break
        ap = apply(p)
        alpha = rz / float(p @ ap)
        s += alpha * p
        r -= alpha * ap
        z = inverse_diagonal * r
        rz_next = float(r @ z)
        p = z + (rz_next / rz) * p
        rz = rz_next
    return s
