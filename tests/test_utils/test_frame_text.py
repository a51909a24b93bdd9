# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video's label text drawn once and blended onto each frame
(``TextOverlay``) gives the frames that drawing each one gives."""
import numpy as np
import pytest
from mmaction.visualization import ActionVisualizer

from mmadaptformer.utils.frame_text import TextOverlay, draw_frame_text

TEXT = 'task:\n  left (0.70)\n  right (0.30)'


def test_blending_the_text_matches_drawing_it_on_each_frame():
    visualizer = ActionVisualizer.get_instance('test_frame_text')
    overlay = TextOverlay(visualizer, 120, 160, TEXT)
    rng = np.random.default_rng(0)
    for _ in range(3):
        frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
        drawn = draw_frame_text(visualizer, frame, TEXT).astype(int)
        blended = overlay(frame).astype(int)
        assert np.abs(drawn - blended).max() <= 2
        # The text is there: the drawing changed the corner.
        assert np.abs(drawn - frame)[:20, :40].mean() > 20
    with pytest.raises(ValueError, match=r'a frame of shape \(60, 160, 3\)'):
        overlay(np.zeros((60, 160, 3), np.uint8))
