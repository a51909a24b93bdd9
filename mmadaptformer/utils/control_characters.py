# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Text from someone else's file, made safe to show on a terminal.

Class names come from a checkpoint's ``meta['dataset_meta']['classes']``,
a label map file or a config's dataset, and ``tools/infer.py`` prints them
in its result lines. A name that holds a terminal's control sequences
(``ESC [2J`` clears the screen, ``ESC ]0;...BEL`` retitles the window,
``ESC ]52;c;...BEL`` writes the clipboard, ``ESC [8m`` hides what follows)
did that to the terminal of whoever classified with the file, instead of
being shown. :func:`escaped_names` shows each control character as its
Python escape (``\\x1b``), once, where the names are read, so the result
lines, the JSON (``--out``) and the drawn frames (``--show-dir``) agree.
"""
import logging
import re
import unicodedata
from typing import List, Sequence

from mmengine.logging import print_log

__all__ = ['escape_controls', 'escaped_names']

# Unicode's bidirectional embeddings, overrides and isolates: they reorder
# how the text after them is shown, as the control characters change it.
_BIDI = '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069'
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f' + _BIDI + ']')


def escape_controls(text: str) -> str:
    """``text`` with each control character (C0, DEL, C1) and each
    bidirectional override shown as its Python escape.

    Args:
        text (str): Any text.

    Returns:
        str: The same text where it holds none.

    Examples:
        >>> escape_controls('cat\\x1b[2J')
        'cat\\\\x1b[2J'
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def escaped_names(names: Sequence[str], origin: str) -> List[str]:
    """Class names with their control characters escaped
    (:func:`escape_controls`), and a warning naming ``origin`` and the
    first such name where there was one.

    Args:
        names (Sequence[str]): The class names, as read.
        origin (str): Where they were read, for the warning (``"the
            checkpoint's meta['dataset_meta']['classes']"``).

    Returns:
        list[str]: The names to use.
    """
    shown = [escape_controls(name) for name in names]
    changed = [i for i, (a, b) in enumerate(zip(names, shown)) if a != b]
    if changed:
        first = changed[0]
        what = ', '.join(
            sorted({
                unicodedata.name(c,
                                 repr(c)[1:-1])
                for c in _CONTROL.findall(names[first])
            }))
        print_log(
            f'{origin}: {len(changed)} of the {len(names)} class names hold '
            f"control characters, e.g. class {first}, '{shown[first]:.120}' "
            f'({what}); they are shown escaped, not passed to the terminal.',
            logger='current',
            level=logging.WARNING)
    return shown
