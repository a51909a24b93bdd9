# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The inputs ``scan_transforms_numpy2.py`` gives each transform: what the
toolboxes' pipelines hand a step, made from real tiny files."""
import copy
import os
import os.path as osp

#: How many frames the tiny video has, and its size (decord 0.6.0 fails
#: to decode an mp4v video 48 wide: ``DECORDError ... from_size ==
#: to_size``, under NumPy 1 too).
FRAMES, HEIGHT, WIDTH = 16, 48, 64


def _write_data(root):
    """A tiny mp4, a png and a folder of JPEG frames under ``root``."""
    import cv2
    import numpy as np
    rng = np.random.RandomState(0)
    frames = [
        rng.randint(0, 256, (HEIGHT, WIDTH, 3)).astype(np.uint8)
        for _ in range(FRAMES)
    ]
    video = osp.join(root, 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 8,
                             (WIDTH, HEIGHT))
    for frame in frames:
        writer.write(frame)
    writer.release()
    image = osp.join(root, 'image.png')
    cv2.imwrite(image, frames[0])
    frame_dir = osp.join(root, 'frames')
    os.makedirs(frame_dir)
    for index, frame in enumerate(frames, 1):
        cv2.imwrite(osp.join(frame_dir, f'img_{index:05}.jpg'), frame)
    return video, image, frame_dir, frames


def input_kinds(root):
    """``{kind: results}``: what the toolboxes' pipelines hand a step."""
    import cv2
    import numpy as np
    from mmaction.datasets.transforms import (DecordInit, FormatShape,
                                              OpenCVInit, SampleFrames)
    from PIL import Image
    video, image, frame_dir, frames = _write_data(root)
    img = frames[0]
    kinds = dict(
        image=dict(
            img=img.copy(),
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            img_path=image,
            gt_label=1,
            sample_idx=0),
        image_file=dict(img_path=image, gt_label=1, sample_idx=0))
    clip = dict(
        filename=video,
        label=1,
        start_index=0,
        modality='RGB',
        total_frames=FRAMES)
    kinds['video_file'] = copy.deepcopy(clip)
    sample = SampleFrames(clip_len=4, frame_interval=2, num_clips=1)
    for name, init in (('decord', DecordInit()), ('opencv', OpenCVInit())):
        np.random.seed(0)
        kinds[name] = sample.transform(init.transform(copy.deepcopy(clip)))
    np.random.seed(0)
    kinds['rawframes'] = sample.transform(
        dict(
            frame_dir=frame_dir,
            filename_tmpl='img_{:05}.jpg',
            label=1,
            start_index=1,
            modality='RGB',
            total_frames=FRAMES))
    decoded = dict(
        imgs=[frame.copy() for frame in frames[:4]],
        img_shape=img.shape[:2],
        original_shape=img.shape[:2],
        modality='RGB',
        num_clips=1,
        clip_len=4,
        frame_interval=2,
        frame_inds=np.arange(0, 8, 2),
        label=1,
        filename=video,
        start_index=0,
        total_frames=FRAMES)
    kinds['frames'] = decoded
    # Frames and an image large enough for the zoo's crops (up to 336).
    large = [
        cv2.resize(frame, (400, 340), interpolation=cv2.INTER_NEAREST)
        for frame in frames[:4]
    ]
    kinds['frames_large'] = dict(
        decoded,
        imgs=large,
        img_shape=large[0].shape[:2],
        original_shape=large[0].shape[:2])
    kinds['image_large'] = dict(
        kinds['image'],
        img=large[0].copy(),
        img_shape=large[0].shape[:2],
        ori_shape=large[0].shape[:2])
    kinds['pil_image'] = dict(
        kinds['image'], img=Image.fromarray(img[..., ::-1].copy()))
    kinds['formatted'] = FormatShape('NCTHW').transform(copy.deepcopy(decoded))
    rng = np.random.RandomState(1)
    pose = dict(
        keypoint=(rng.rand(1, FRAMES, 17, 2) * [WIDTH, HEIGHT]).astype(
            np.float32),
        keypoint_score=rng.rand(1, FRAMES, 17).astype(np.float32),
        img_shape=(HEIGHT, WIDTH),
        original_shape=(HEIGHT, WIDTH),
        total_frames=FRAMES,
        start_index=0,
        label=1,
        modality='Pose',
        frame_dir='clip')
    kinds['pose'] = pose
    # NTU RGB+D's 25 joints in 3D, as its 3D recipes read them.
    kinds['pose_ntu3d'] = dict(
        pose,
        keypoint=rng.rand(2, FRAMES, 25, 3).astype(np.float32),
        keypoint_score=rng.rand(2, FRAMES, 25).astype(np.float32),
        body_center=np.zeros(3, np.float32))
    kinds['pose_frames'] = dict(
        pose, imgs=[frame.copy() for frame in frames], modality='RGB')
    return kinds
