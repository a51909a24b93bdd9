# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A stderr that tells a stand-in worker it was shown the worker's line:
for the tests that a tool passes a worker's stderr on while it runs."""


class StderrSpy:
    """A stderr that touches ``marker`` once it was shown the warning."""

    def __init__(self, marker, real):
        self.marker, self.real, self.text = marker, real, ''

    def write(self, text):
        self.text += text
        if 'a worker warning' in self.text:
            open(self.marker, 'w').close()
        return self.real.write(text)

    def flush(self):
        self.real.flush()
