# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Many AdaptFormer tasks on one frozen backbone, in one batched forward.

See ``docs/multitask.md`` for the design: the batch layout, the shared
prefix, what a task costs in memory, which tasks are refused and how inputs
are grouped by test pipeline. Loading the tasks onto the backbone is
:class:`~mmadaptformer.apis.shared_backbone.SharedBackbone`; the refusal
rules are in :mod:`mmadaptformer.apis.multitask_tasks` and
:mod:`mmadaptformer.apis.backbone_match`.
"""
import copy
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmadaptformer.utils.stop_signals import Stopped
from .array_inputs import InputKey, collect_items
from .batching import check_batch_size, same_shape_runs
from .folder_readers import FolderReaders
from .forward_guard import eval_mode, serialized
from .infer_files import InferenceInputError, OtherKindInputError
from .infer_stop import keep_answers
from .inputs import format_scores, progress_bar
from .multitask_tasks import PipelineGroup, TaskError, TaskLoadError
from .shared_backbone import SharedBackbone

__all__ = ['TaskError', 'TaskLoadError', 'MultiTaskRecognizer']


def _first_tensor(feats) -> torch.Tensor:
    """The first tensor in an output: a tensor, or tuples of them (DeiT
    gives a (cls, dist) pair)."""
    while isinstance(feats, (tuple, list)):
        feats = feats[0]
    return feats


def _rows(feats, part: slice):
    """``feats`` with every tensor in it cut to the rows ``part``, in the
    same nesting of tuples and lists."""
    if isinstance(feats, torch.Tensor):
        return feats[part]
    if isinstance(feats, (tuple, list)):
        return type(feats)(_rows(item, part) for item in feats)
    return feats


class MultiTaskRecognizer(SharedBackbone):
    """Serve many AdaptFormer tasks with one frozen backbone.

    Each task is a config and a checkpoint (adapter-only, merged or full) of
    a model trained on the same frozen backbone. The first task's model is
    kept as the shared backbone; of every other task only the adapters, the
    head and the backbone modules it trained (such as ``fc_norm``) are kept.
    Every input is answered by every task in one batched forward per test
    pipeline, each sample with its own task's adapters; blocks before a
    task's first adapter run once for all tasks that have not split yet.

    Tasks trained on another backbone (frozen tensors that differ, or
    another backbone config) are refused with an error naming both tasks.

    Args:
        device (str): Where the model runs, a device this machine has
            (else ``ValueError``). Defaults to ``'cpu'``.

    Examples:
        >>> engine = MultiTaskRecognizer()
        >>> engine.add_task('motion', 'motion.py', 'motion/epoch_3.pth')
        >>> engine.add_task('scene', 'scene.py', 'scene/epoch_3.pth')
        >>> results = engine(['a.mp4', 'b.mp4'])
        >>> results['a.mp4']['scene']['label']
        0
    """

    def _forward_group(self, group: PipelineGroup, tasks: Sequence[str],
                       data: List[dict]) -> Dict[str, List[torch.Tensor]]:
        """Class scores of every task for a batch of transformed inputs,
        one forward per input shape (see :func:`same_shape_runs`).

        Args:
            group (PipelineGroup): The pipeline group the inputs went through.
            tasks (Sequence[str]): Tasks of that group to answer.
            data (list[dict]): Outputs of the group's test pipeline.

        Returns:
            dict[str, list[Tensor]]: Scores per task, one per input.
        """
        out: Dict[str, List[Optional[torch.Tensor]]] = {
            name: [None] * len(data)
            for name in tasks
        }
        for run in same_shape_runs(data):
            scores = self._forward_run(group, tasks, [data[i] for i in run])
            for name, task_scores in scores.items():
                for index, score in zip(run, task_scores):
                    out[name][index] = score
        return out

    def _forward_run(self, group: PipelineGroup, tasks: Sequence[str],
                     data: List[dict]) -> Dict[str, List[torch.Tensor]]:
        """As :meth:`_forward_group`, for inputs of one shape."""
        init_default_scope(self._toolbox)
        batch = group.preprocessor(pseudo_collate(data), False)
        inputs, samples = batch['inputs'], batch['data_samples']
        heads = [self._tasks[name].head for name in tasks]
        self.streams.begin(tasks)
        try:
            with eval_mode(self.base, *heads):
                if self._toolbox == 'mmaction':
                    feats, kwargs = self.base.extract_feat(
                        inputs, test_mode=True)
                else:
                    feats, kwargs = self.base.extract_feat(inputs), {}
                # mmpretrain gives one output per out index, of which
                # check_servable allows one; the heads read the last.
                rows = _first_tensor(
                    feats[-1] if isinstance(feats, tuple) else feats).shape[0]
                out = {}
                for name in tasks:
                    part = self.streams.slice_of(name, rows)
                    mine = _rows(feats, part)
                    preds = self._tasks[name].head.predict(
                        mine, copy.deepcopy(samples), **kwargs)
                    if len(preds) != len(samples):
                        raise RuntimeError(
                            f'Task {name!r}: its head answered {len(preds)} '
                            f'of {len(samples)} inputs.')
                    out[name] = [p.pred_score for p in preds]
        finally:
            self.streams.end()
        return out

    def _items(self, inputs, tasks: Sequence[str]) -> list:
        """The inputs of a call for ``tasks``, folders expanded for all of
        them alike: into clip folders for the tasks that read extracted
        frames and into files for the others, in an order that does not
        depend on the tasks' (see :class:`FolderReaders`)."""
        readers = [
            self._groups[key].inputs
            for key in dict.fromkeys(self._tasks[name].group for name in tasks)
        ]
        # Every task reads one toolbox's inputs (add_task refuses a mix).
        folders = FolderReaders(
            [r.frames for r in readers],
            [ext for r in readers if r.frames is None for ext in r.extensions])
        return collect_items(inputs, readers[0].toolbox, readers[0].extensions,
                             folders.collect)

    @serialized
    def predict(
        self,
        data: List[dict],
        tasks: Optional[Union[str, Sequence[str]]] = None
    ) -> Dict[str, List[torch.Tensor]]:
        """Class scores of test-pipeline outputs, in one batched forward.

        Args:
            data (list[dict]): Outputs of the tasks' (common) test pipeline.
            tasks (str | Sequence[str], optional): A task or tasks, all of
                one pipeline group. Defaults to None, i.e. all.

        Returns:
            dict[str, list[Tensor]]: Scores per task, one per input.
        """
        tasks = self.chosen_tasks(tasks)
        groups = {self._tasks[name].group for name in tasks}
        if len(groups) != 1:
            raise ValueError(
                f'Tasks {tasks} have different test pipelines or data '
                'preprocessors; predict() takes tasks of one group.')
        return self._forward_group(self._groups[groups.pop()], tasks, data)

    @serialized
    def __call__(self,
                 inputs: Union[str, os.PathLike, np.ndarray, Sequence],
                 tasks: Optional[Union[str, Sequence[str]]] = None,
                 batch_size: int = 1,
                 progress: bool = False) -> Dict[InputKey, dict]:
        """Answer every task for every input.

        Args:
            inputs (str | os.PathLike | np.ndarray | Sequence): A video or
                image file or folder, or an array, or a sequence of them,
                as :meth:`ModelInferencer.__call__
                <mmadaptformer.apis.ModelInferencer.__call__>` takes them
                (a folder expanded for every task alike: its clip folders
                for a task that reads extracted frames, its files for the
                others, see :class:`FolderReaders`);
                each task gets the same scores for an array as for its
                file.
            tasks (str | Sequence[str], optional): The task or tasks to
                answer. Defaults to None, i.e. all.
            batch_size (int): Inputs per forward (an int >= 1). Defaults
                to 1.
            progress (bool): Show a progress bar. Defaults to False.

        Returns:
            dict: ``{key: {task: {"label", "class", "scores"}}}``, the key
            a file's path (``str``) or an array's index in ``inputs``
            (``int``), the tasks in the order of ``tasks`` (or in the
            order they were added); an input that cannot be read for any
            task gets ``{"error": message}``; otherwise a task that fails
            on it (scores that are not finite, a damaged file) gets
            ``{task: {"error": message}}``, and a task whose test pipeline
            does not read its kind, when another task does (a clip's
            folder of frames for a task that decodes video files, a video
            file for one that reads frames, a clip named as another task's
            test set names frames), gets ``{task: {"skipped": message}}``
            saying why: no failure. An input that no task reads gets an
            error for each.

        Raises:
            KeyError: If a task is not loaded.
            ValueError: If ``batch_size`` is not an int >= 1, or ``tasks``
                names none.
            TypeError: If an input is neither a path nor an array.
            InferenceInputError: If a folder holds nothing the tasks read
                (a file of their kind, or a clip folder of frames for a task
                whose test pipeline reads extracted frames), or an array is
                not of the layout they take, before anything is classified.
            KeyboardInterrupt: Ctrl-C while classifying (or a tool's
                stop signal, :class:`~mmadaptformer.utils.stop_signals.
                Stopped`), as raised, with two attributes added:
                ``results``, the answers of the inputs that every task
                answered before it (as returned, without the others), and
                ``num_inputs``, how many inputs there were.
        """
        check_batch_size(batch_size)
        if tasks is None and not self.tasks:
            raise KeyError('No task is loaded; call add_task first.')
        tasks = self.chosen_tasks(tasks)
        items = self._items(inputs, tasks)
        results = OrderedDict((key, OrderedDict()) for key, _ in items)
        # What reading each input raised: only such an error is the
        # input's, not a task's (two diverged tasks' identical NaN errors).
        input_errors: Dict[InputKey, set] = {key: set() for key, _ in items}
        # The tasks whose test pipeline does not read an input's kind.
        other_kind: Dict[InputKey, set] = {key: set() for key, _ in items}
        bar = progress_bar(len(items)) if progress else None
        # The inputs of the chunks every task has answered: a stop keeps
        # them, not a chunk that some groups answered and others not.
        answered = 0
        try:
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                self._answer_chunk(chunk, tasks, results, input_errors,
                                   other_kind)
                answered = start + len(chunk)
                if bar is not None:
                    for _ in chunk:
                        bar.update()
        except (KeyboardInterrupt, Stopped) as stop:
            # Ctrl-C (or a tool's stop signal) in a long call: what was
            # answered goes with it, as ModelInferencer's does.
            kept = OrderedDict(
                (key, results[key]) for key, _ in items[:answered])
            keep_answers(stop,
                         self._finished(kept, tasks, input_errors, other_kind),
                         len(items), bar)
            raise
        return self._finished(results, tasks, input_errors, other_kind)

    def _answer_chunk(self, chunk: list, tasks: Sequence[str], results: dict,
                      input_errors: dict, other_kind: dict) -> None:
        """Answer ``tasks`` for the ``(key, item)`` pairs of ``chunk``
        into ``results``, one forward per pipeline group; record what
        reading an input raised (``input_errors``) and the tasks that do
        not read its kind (``other_kind``)."""
        for group in self._groups.values():
            names = [t for t in group.tasks if t in tasks]
            if not names:
                continue
            data, keys = [], []
            for key, item in chunk:
                try:
                    data.append(group.inputs.load(key, item))
                    keys.append(key)
                except InferenceInputError as e:
                    input_errors[key].add(str(e))
                    if isinstance(e, OtherKindInputError):
                        other_kind[key].update(names)
                    for name in names:
                        results[key][name] = dict(error=str(e))
            if not data:
                continue
            scores = self._forward_group(group, names, data)
            for name in names:
                classes = self._tasks[name].classes
                for key, score in zip(keys, scores[name]):
                    results[key][name] = format_scores(score, classes)

    @staticmethod
    def _finished(results: dict, tasks: Sequence[str], input_errors: dict,
                  other_kind: dict) -> dict:
        """``results`` as :meth:`__call__` returns them: the tasks in the
        order of ``tasks``, a task that does not read an input's kind
        skipped when another does, and an input that no task could read
        given its one error."""
        for key, answers in results.items():
            # The groups answered in turn; the results name the tasks in
            # the order asked for (``--task`` order), not the groups'.
            answers = results[key] = OrderedDict(
                (name, answers[name]) for name in tasks if name in answers)
            if other_kind[key] and len(other_kind[key]) < len(answers):
                # Another task reads its kind: not these tasks' failure.
                for name in other_kind[key]:
                    answers[name] = dict(skipped=answers[name]['error'])
            errors = {a['error'] for a in answers.values() if 'error' in a}
            if len(errors) == 1 and errors <= input_errors[key] and all(
                    'error' in a for a in answers.values()):
                results[key] = dict(error=errors.pop())
        return results
