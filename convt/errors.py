"""The one exception of convt."""

from __future__ import annotations

__all__ = ["ConvError"]


class ConvError(ValueError):
    """An invalid value or shape given to a convt function.

    A subclass of :class:`ValueError`, so code that catches ``ValueError`` for
    bad arguments keeps working. The message names the function, the argument,
    the rule that was broken, the values given and what would be valid.

    Examples
    --------
    >>> import convt
    >>> try:
    ...     convt.conv_output_size(5, 3, stride=0)
    ... except convt.ConvError as e:
    ...     print(e)
    conv_output_size: stride must be >= 1 on every axis, got 0 (axis 0)
    """
