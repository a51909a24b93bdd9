# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Write a label text on a frame, as MMAction2's ``ActionVisualizer``
writes its labels: white monospace on a rounded, half-transparent black
box in the top-left corner, sized to the frame. ``tools/test.py
--show-dir`` (the ``VideoVisualizationHook``) and ``tools/infer.py
--show-dir`` draw through here, so their pictures read alike."""
import numpy as np

__all__ = ['text_scale', 'draw_frame_text']


def text_scale(height: int, width: int) -> float:
    """The size of the text on a ``height x width`` frame, relative to a
    224-pixel short edge (a font of 7 px there), between 0.3 and 3."""
    return min(max(min(height, width) / 224., 0.3), 3.)


def draw_frame_text(visualizer, frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` written on it.

    Args:
        visualizer (mmengine.visualization.Visualizer): Draws it (an
            ``ActionVisualizer`` or a ``UniversalVisualizer``); its image
            is set to ``frame``.
        frame (np.ndarray): ``H x W x 3`` uint8 RGB.
        text (str): The lines to write; none is written if empty.

    Returns:
        np.ndarray: The drawn frame, ``H x W x 3`` uint8 RGB.
    """
    scale = text_scale(*frame.shape[:2])
    visualizer.set_image(frame)
    if text:
        visualizer.draw_texts(
            text,
            positions=np.array([[scale * 5, scale * 5]]),
            font_sizes=max(int(scale * 7), 1),
            font_families='monospace',
            colors='white',
            bboxes=dict(facecolor='black', alpha=0.5, boxstyle='Round'))
    return visualizer.get_image()
