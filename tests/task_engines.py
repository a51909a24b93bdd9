# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Multi-task engines built from trained tasks, and what tests check."""
from typing import Dict, List, Sequence


def task_engine(tasks: Dict[str, dict], names: Sequence[str]):
    """A :class:`~mmadaptformer.apis.MultiTaskRecognizer` with the tasks
    ``names`` of ``tasks`` (each a ``config`` and a ``checkpoint``) added
    in that order."""
    from mmadaptformer.apis import MultiTaskRecognizer
    engine = MultiTaskRecognizer()
    for name in names:
        engine.add_task(name, tasks[name]['config'], tasks[name]['checkpoint'])
    return engine


def assert_answers_as_alone(engine, alone: Dict[str, dict],
                            images: List[str]) -> dict:
    """Every task of ``engine`` scores ``images`` (in batches of 4) as its
    own model did (``alone[name]``: its ModelInferencer's results).
    Returns the engine's results."""
    results = engine(images, batch_size=4)
    for image in images:
        assert set(results[image]) == set(engine.tasks)
    for name in engine.tasks:
        assert_task_scores(results, alone[name], name, images)
    return results


def assert_task_scores(results: dict, alone: dict, name: str,
                       images: List[str]) -> None:
    """The task ``name`` scores each of ``images`` in ``results`` (an
    engine's) as in ``alone`` (its own ModelInferencer's results)."""
    import torch
    for image in images:
        torch.testing.assert_close(
            torch.tensor(results[image][name]['scores']),
            torch.tensor(alone[image][name]['scores']),
            rtol=1e-5,
            atol=1e-7)


def routed_paths(engine) -> List[str]:
    """The paths of the engine's modules that route rows per task, sorted.
    """
    from mmadaptformer.models.multitask import TaskRoutedModule
    return sorted(path for path, module in engine.base.named_modules()
                  if isinstance(module, TaskRoutedModule))


def scores_alone(tasks: Dict[str, dict], names: Sequence[str],
                 images: List[str]) -> Dict[str, dict]:
    """The results on ``images`` of each task of ``names``, through its
    own model (a ModelInferencer named after the task): what
    :func:`assert_answers_as_alone` compares with."""
    from mmadaptformer.apis import ModelInferencer
    return {
        name: ModelInferencer(
            tasks[name]['config'], tasks[name]['checkpoint'],
            name=name)(images)
        for name in names
    }


def assert_results_as_alone(results: dict, alone: Dict[str, dict],
                            names: Sequence[str]) -> None:
    """Each input of ``results`` (an engine's) is answered by exactly the
    tasks ``names``, each with the scores and label of ``alone[name]`` (its
    own ModelInferencer's results)."""
    for answers in results.values():
        assert set(answers) == set(names)
    for name in names:
        assert_task_scores(results, alone[name], name, list(results))
        for path, answers in results.items():
            assert answers[name]['label'] == alone[name][path][name]['label']
