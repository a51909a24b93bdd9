# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How a GPU check records what it measured against what it expected."""
from typing import Any, List, Optional


class SkipCheck(Exception):
    """Raised by a check that cannot run here; the message says why."""


class Verdict:
    """Expectations of one check: each measured value, its limit, and
    whether it was met.

    Examples:
        >>> verdict = Verdict()
        >>> verdict.expect('loss rel. diff fp16 vs fp32', 0.002, '<=', 0.01)
        >>> verdict.passed
        True
    """

    def __init__(self) -> None:
        self.expectations: List[dict] = []
        self.details: dict = {}

    def expect(self,
               name: str,
               measured: Any,
               relation: str,
               limit: Any = None,
               note: Optional[str] = None) -> bool:
        """Record ``measured relation limit``; ``relation`` is one of
        ``'<='``, ``'>='``, ``'=='`` or ``'true'`` (``measured`` is a
        bool)."""
        if relation == '<=':
            ok = measured is not None and measured <= limit
        elif relation == '>=':
            ok = measured is not None and measured >= limit
        elif relation == '==':
            ok = measured == limit
        elif relation == 'true':
            ok = bool(measured)
        else:
            raise ValueError(f'relation must be <=, >=, == or true, got '
                             f'{relation!r}')
        self.expectations.append(
            dict(
                name=name,
                measured=measured,
                relation=relation,
                limit=limit,
                ok=ok,
                note=note))
        return ok

    @property
    def passed(self) -> bool:
        """Whether every expectation was met."""
        return all(e['ok'] for e in self.expectations)

    def failures(self) -> List[str]:
        """One line per expectation that was not met."""
        return [
            f'{e["name"]}: {e["measured"]!r} not {e["relation"]} '
            f'{e["limit"]!r}' for e in self.expectations if not e['ok']
        ]

    def to_dict(self) -> dict:
        """``status`` (``'passed'``/``'failed'``), expectations, details."""
        return dict(
            status='passed' if self.passed else 'failed',
            failures=self.failures(),
            expectations=self.expectations,
            details=self.details)
