# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An mmpretrain ``CustomDataset`` whose class names move with its data and
whose training survives broken image files."""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

from mmadaptformer.utils.local_files import is_local
from mmadaptformer.utils.png_decoding import (PngDecodingError,
                                              png_decoding_error)
from mmadaptformer.utils.transform_steps import (PipelineStepError,
                                                 TransformError,
                                                 run_transforms)
from mmadaptformer.utils.video_containers import one_line_error
from .annotation_lists import AnnotationError
from .evaluation_load import load_evaluation_sample
from .image_files import BrokenImageError, check_image_file, check_opened_image
from .label_map import load_class_names
from .listed_files import (CHECK_FILES, check_evaluation_files,
                           check_listed_files_exist)
from .training_refetch import IMAGES, load_training_sample

__all__ = ['CheckedImageDataset', 'rooted_classes']

#: Images looked up with ``check_files='sample'``, and at most named.
CHECK_SAMPLE_SIZE = 100
MAX_LISTED = 10


def rooted_classes(classes, data_root: str):
    """``classes`` as :class:`CheckedImageDataset` opens it: with ``~``
    expanded, as mmpretrain's ``CustomDataset`` expands it, then a relative
    file under ``data_root``; a list, or an absolute path, as it is."""
    if not isinstance(classes, str):
        return classes
    classes = osp.expanduser(classes)
    if data_root and not osp.isabs(classes):
        return osp.join(data_root, classes)
    return classes


@DATASETS.register_module()
class CheckedImageDataset(CustomDataset):
    """mmpretrain's ``CustomDataset`` with a ``classes`` file found under
    ``data_root``, as ``ann_file`` is, and checked, and with broken images
    skipped in training.

    Used in the image recipes of `AdaptFormer
    <https://arxiv.org/abs/2205.13535>`_ (Food-101), whose class names come
    in a file of the dataset (``meta/classes.txt``). mmpretrain opens a
    ``classes`` file from the working directory, so a recipe that moved
    ``data_root`` (``--cfg-options``) kept looking for the names where the
    data no longer was. The names become ``metainfo['classes']``, which
    MMEngine's Runner saves in every checkpoint.

    **A broken image** is one whose loading or transforms raise: a file
    that is empty, truncated, corrupt or not an image (mmcv's
    ``LoadImageFromFile``: ``failed to load image``, or a Pillow error), or
    one a transform fails on.

    **A PNG that OpenCV cannot decode in this process** (decord imported
    before cv2, see :mod:`mmadaptformer.utils.png_decoding`) is not a broken
    image: in training and evaluation alike it raises a
    :class:`~mmadaptformer.utils.png_decoding.PngDecodingError` naming the
    file and the cause, and is neither skipped nor counted as broken.

    * In training it is logged with a WARNING naming it and the error, and
      another sample is drawn at random, at most ``max_refetch`` times in a
      row before a :class:`BrokenImageError` names every file tried
      (:func:`~mmadaptformer.datasets.training_refetch.load_training_sample`,
      as for ``CheckedVideoDataset``'s videos). The images skipped before
      a sample travel in its data sample's metainfo under
      ``'skipped_images'``, so that ``DataHealthHook`` counts them per
      epoch across dataloader workers and ranks.
    * In validation and testing (``test_mode=True``) it is an error naming
      the file and what is wrong (:class:`BrokenImageError`, or
      :class:`~mmadaptformer.utils.transform_steps.PipelineStepError` when
      a transform failed after the image was read): evaluation must not
      silently drop samples.

    Args:
        data_root (str): The dataset's folder; ``ann_file``,
            ``data_prefix`` and a relative ``classes`` file are under it.
            Defaults to ``''``.
        classes (str | Sequence[str], optional): The class names in label
            order, or a file with the class of label ``i`` on line ``i + 1``
            (``~`` expanded as mmpretrain's datasets expand it, then
            relative to ``data_root`` unless absolute). A missing file, a
            count other than ``num_classes``, a blank line between names or
            a name given twice raise, naming the file and line. Defaults to
            None (names from ``metainfo``, or the class folders).
        num_classes (int, optional): How many names ``classes`` must have.
            Defaults to None (not checked).
        max_refetch (int): In training, how many other samples to draw in
            a row after a broken image before raising. Defaults to 10.
        check_files (str, optional): Which images of an ``ann_file`` to
            look up when the dataset is built, naming the missing ones
            with their lines: ``'sample'`` (a seeded sample of 100, the
            same on every rank), ``'all'`` or None (none; training then
            skips a missing image as a broken one). In test mode
            ``'sample'`` and ``'all'`` look up every listed image and
            refuse an empty one (evaluation would stop at it). Defaults
            to ``'sample'``, as ``CheckedVideoDataset``'s.
        **kwargs: Other arguments of ``CustomDataset``, such as
            ``ann_file``, ``data_prefix`` and ``pipeline``.

    Examples:
        >>> train_dataloader = dict(
        ...     dataset=dict(
        ...         type='CheckedImageDataset',
        ...         data_root='data/food-101',
        ...         ann_file='annotations/train.txt',
        ...         data_prefix='images',
        ...         classes='meta/classes.txt',
        ...         num_classes=101,
        ...         pipeline=train_pipeline))
    """

    #: One dict per sample (``prepare_data``'s own): ``utils.collate_check``.
    one_dict_per_sample = True

    def __init__(self,
                 data_root: str = '',
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 num_classes: Optional[int] = None,
                 max_refetch: int = 10,
                 check_files: Optional[str] = 'sample',
                 **kwargs) -> None:
        if check_files not in CHECK_FILES:
            raise ValueError(f'CheckedImageDataset: check_files='
                             f'{check_files!r} is not one of {CHECK_FILES}')
        self.check_files = check_files
        is_int = isinstance(max_refetch,
                            int) and not isinstance(max_refetch, bool)
        if not is_int or max_refetch < 0:
            raise ValueError('CheckedImageDataset: max_refetch must be an '
                             f'int >= 0, got {max_refetch!r}')
        names = load_class_names(
            rooted_classes(classes, data_root),
            num_classes,
            owner=f'CheckedImageDataset (data_root={data_root!r})',
            origin='it comes with the dataset; a relative path is taken '
            'from data_root')
        super().__init__(
            data_root=data_root,
            classes=names,
            max_refetch=max_refetch,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """mmpretrain's list, refusing an empty ``ann_file`` and, as set by
        ``check_files``, one that lists images that are not there (in
        test mode: any of them, or an empty image file).

        Returns:
            list[dict]: ``img_path`` and ``gt_label`` of each image.
        """
        data_list = super().load_data_list()
        if not self.ann_file:
            return data_list  # class folders: mmpretrain names an empty one
        if not data_list:
            raise AnnotationError(
                f'{self.ann_file}: the annotation file lists no images; '
                'give a list with a line <path> <label> per image')
        # mmpretrain reads every line of the list, one sample each.
        listed = [
            dict(filename=info['img_path'], source=f'{self.ann_file}:{i}')
            for i, info in enumerate(data_list, 1)
            if is_local(info['img_path'])
        ]
        if self.test_mode and self.check_files is not None:
            # Evaluation stops at the first image it cannot read: every
            # one is looked up now, before the run.
            check_evaluation_files(
                listed,
                self.ann_file,
                MAX_LISTED,
                self.img_prefix,
                'image',
                check_opened_image,
                BrokenImageError,
                advice='Replace them or remove their lines.')
            return data_list
        check_listed_files_exist(listed, self.ann_file, self.check_files,
                                 CHECK_SAMPLE_SIZE, MAX_LISTED,
                                 self.img_prefix, 'image')
        return data_list

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Run the pipeline on sample ``idx``, raising on an empty file and
        naming the transform that fails, or the process when it cannot
        decode PNG images.

        Args:
            idx (int): Index of the sample.

        Returns:
            dict | None: The pipeline's output; None if a transform
            rejected the sample.

        Raises:
            BrokenImageError: The image file is empty.
            PngDecodingError: A loading transform failed on a good PNG
                because OpenCV cannot decode PNG images in this process.
            TransformError: A transform raised; it names the transform.
        """
        results = self.get_data_info(idx)
        path = results.get('img_path')
        check_image_file(path)
        try:
            return run_transforms(self.pipeline.transforms, results)
        except TransformError as e:
            error = png_decoding_error(path) if e.reads_file else None
            if error is not None:
                raise error from e
            raise

    def _image(self, idx: int) -> str:
        info = self.get_data_info(idx)
        return str(info.get('img_path') or f'sample {idx}')

    def _unloadable(self, idx: int, error: Exception) -> RuntimeError:
        """The error for an evaluation image the pipeline fails on."""
        if isinstance(error, TransformError) and not error.reads_file:
            return PipelineStepError.in_evaluation(self._image(idx), error)
        why = error.describe() if isinstance(error, TransformError) else \
            one_line_error(error)
        cause = getattr(error, 'error', error)
        advice = ('' if isinstance(cause, FileNotFoundError) else
                  ' The file is not an image that can be decoded (empty, '
                  'truncated, corrupt or another format).')
        return BrokenImageError(
            f'Cannot load {self._image(idx)} for evaluation: {why}.{advice} '
            'Replace it, or remove it from the dataset.')

    def __getitem__(self, idx: int) -> dict:
        """Load a sample; in training replace broken images by others.

        Args:
            idx (int): Index of the sample.

        Returns:
            dict: The pipeline's output. In training its data sample's
            metainfo lists under ``'skipped_images'`` the broken images
            drawn before it.
        """
        if not self._fully_initialized:
            self.full_init()
        if self.test_mode:
            # A PngDecodingError is the process's, not the file's.
            return load_evaluation_sample(
                idx,
                prepare=self.prepare_data,
                describe=self._image,
                load_error=self._unloadable,
                files=IMAGES,
                passes=(PngDecodingError, ))
        return load_training_sample(
            idx,
            prepare=self.prepare_data,
            filename=self._image,
            describe=self._image,
            draw_another=self._rand_another,
            max_refetch=self.max_refetch,
            ann_file=self.ann_file or self.img_prefix,
            files=IMAGES)
