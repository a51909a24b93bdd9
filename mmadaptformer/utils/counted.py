# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A count and its noun, in the singular for one (``1 file``) and in the
plural otherwise (``2 files``, ``0 files``), for messages that count."""
__all__ = ['counted', 'singular']


def singular(plural: str) -> str:
    """The singular of a regular plural or of such plurals joined with
    ``or``/``and``: ``'clip folders or files'`` is ``'clip folder or
    file'``.

    Args:
        plural (str): Nouns whose plural adds an ``s``.

    Returns:
        str: Each noun before a conjunction, and the last, without its
        ``s``.
    """
    words = plural.split(' ')
    for i, word in enumerate(words):
        last = i == len(words) - 1 or words[i + 1] in ('or', 'and')
        if last and word.endswith('s') and not word.endswith('ss'):
            words[i] = word[:-1]
    return ' '.join(words)


def counted(count: int, plural: str) -> str:
    """``'1 file'``, ``'2 files'``, ``'0 files'``.

    Args:
        count (int): How many.
        plural (str): The noun in the plural, see :func:`singular`.

    Returns:
        str: The count, a space and the noun in the number it takes.
    """
    return f'{count} {singular(plural) if count == 1 else plural}'
