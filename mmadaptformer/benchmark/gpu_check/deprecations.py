# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The deprecation and future warnings the GPU check's AMP training
checks see: in their own process, and in the output of the tools they
run. torch 2 deprecates ``torch.cuda.amp.GradScaler`` (a FutureWarning)
and ``torch.get_autocast_gpu_dtype`` (a DeprecationWarning, hidden by
default), which MMEngine's ``AmpOptimWrapper`` call; only a CUDA run of
those paths shows whether any remains."""
import re
import warnings
from contextlib import contextmanager
from typing import Iterator, List

__all__ = [
    'AMP_NAMES', 'DEPRECATION_ENV', 'amp_deprecations', 'deprecations_in_log',
    'record_deprecations'
]

#: The environment of a tool run that prints each deprecation and future
#: warning once per place (Python hides DeprecationWarning outside
#: ``__main__``).
DEPRECATION_ENV = dict(
    PYTHONWARNINGS='default::DeprecationWarning,default::FutureWarning')

#: What names a warning about the AMP path.
AMP_NAMES = re.compile(r'\bamp\b|autocast|GradScaler', re.IGNORECASE)

# ``path:line: Category: message``, as ``warnings.showwarning`` writes it.
_WARNING_LINE = re.compile(
    r'^(?P<place>\S.*?:\d+): (?P<category>\w*'
    r'(?:DeprecationWarning|FutureWarning)): '
    r'(?P<message>.*)$', re.MULTILINE)


def _is_deprecation(category: type) -> bool:
    return issubclass(category, (DeprecationWarning, FutureWarning))


@contextmanager
def record_deprecations() -> Iterator[List[str]]:
    """Record each deprecation and future warning raised inside, once per
    message, as ``'Category: message (path:line)'``; other warnings are
    shown as usual.

    Yields:
        list[str]: The warnings, filled in when the block ends.
    """
    seen: List[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            yield seen
    finally:
        # Outside the recording: shown warnings are not recorded again.
        for w in caught:
            if not _is_deprecation(w.category):
                warnings.warn_explicit(w.message, w.category, w.filename,
                                       w.lineno)
                continue
            line = (f'{w.category.__name__}: {w.message} '
                    f'({w.filename}:{w.lineno})')
            if line not in seen:
                seen.append(line)


def deprecations_in_log(text: str) -> List[str]:
    """The deprecation and future warnings in a tool's output (run with
    :data:`DEPRECATION_ENV`), once each, as :func:`record_deprecations`
    gives them."""
    found: List[str] = []
    for m in _WARNING_LINE.finditer(text):
        line = f'{m["category"]}: {m["message"]} ({m["place"]})'
        if line not in found:
            found.append(line)
    return found


def amp_deprecations(lines: List[str]) -> List[str]:
    """Those of ``lines`` that name the AMP path (:data:`AMP_NAMES`)."""
    return [line for line in lines if AMP_NAMES.search(line)]
