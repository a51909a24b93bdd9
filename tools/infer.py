# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Classify videos or images with trained models.

One model::

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out r.json \\
        [--pretrained BACKBONE.pth]

Many tasks on one frozen backbone (adapter-only, merged or full checkpoints
of AdaptFormer models trained on the same backbone)::

    python tools/infer.py --task NAME CONFIG CHECKPOINT \\
        [--task NAME CONFIG CHECKPOINT ...] INPUT [INPUT ...] --out r.json \\
        [--label-map NAME=FILE ...]

``--label-map FILE`` names one model's classes (the class of label ``i`` on
line ``i + 1``); with ``--task``, ``--label-map NAME=FILE`` names task
NAME's, once per task that needs one.

The inputs may also come from a list file, one path a line (MMAction2's and
MMPretrain's ``path label`` annotation lines too), resolved against its
folder or ``--list-root``::

    python tools/infer.py CONFIG CHECKPOINT --list val.txt \\
        --list-root videos/ --out r.json

``--show-dir vis/`` also draws each input with its ``--topk`` classes (every
task's): a video as an ``.mp4``, an image as a ``.png``, named by its path
under the folder all the inputs are in.

Stdout holds the results alone: a line ``PATH: TASK: CLASS (score), ...``
per input and task, or, with ``--out -``, the JSON alone. MMEngine's log
lines, warnings, the progress bar and the errors go to stderr, so
``infer.py ... > results.txt`` and ``infer.py ... --out - | jq`` get the
results only. ``--help`` lists the rest.
"""
import functools
import json
import logging
import sys

from mmengine.logging import print_log

import mmadaptformer  # noqa: F401  (registers modules, closes gaps)
from mmadaptformer.apis import (LabelMapError, ModelInferencer,
                                MultiTaskRecognizer, PretrainedLoadError,
                                TaskLoadError, build_test_pipeline)
from mmadaptformer.apis.frame_folders import FrameFolders
from mmadaptformer.apis.infer_cli import STDOUT, infer_parser, parse_infer_args
from mmadaptformer.apis.infer_label_maps import label_map_role
from mmadaptformer.apis.infer_load_errors import (FIRST_TASK_HINT, load_error,
                                                  load_error_lines,
                                                  nothing_loaded_line)
from mmadaptformer.apis.infer_partial import remove_stale_partial
from mmadaptformer.apis.infer_skips import SkippedInputs
from mmadaptformer.apis.infer_stop import InferStage
from mmadaptformer.apis.short_inputs import clip_span, short_video_inputs
from mmadaptformer.apis.visualize import draw_and_report, top_classes
from mmadaptformer.datasets.short_videos import short_videos_notice
from mmadaptformer.engine import refusal_line
from mmadaptformer.models import set_host_pretrained
from mmadaptformer.utils import ConfigError, backbone_init_cfg_key
from mmadaptformer.utils.atomic_file import AtomicWriteError, atomic_write
from mmadaptformer.utils.cfg_options_merge import merge_cfg_options
from mmadaptformer.utils.closed_pipe import (BROKEN_PIPE_STATUS, ResultOutput,
                                             silence)
from mmadaptformer.utils.config_loading import load_config_file
from mmadaptformer.utils.config_mistakes import config_mistake
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.log_streams import results_only_stdout
from mmadaptformer.utils.recognizer_check import check_inference_cfg
from mmadaptformer.utils.stop_signals import Stopped, exit_on_stop


def _top(answer: dict, k: int) -> str:
    if 'error' in answer:
        return f'ERROR {answer["error"]}'
    return ', '.join(
        f'{name} ({score:.4f})'
        for name, score in top_classes(answer, answer.get('names'), k))


def _config(path: str, pretrained, options=None):
    """The config at ``path``, with ``--cfg-options`` merged in and
    ``--pretrained`` as its backbone's weights if given.

    Raises:
        PretrainedLoadError: If the ``--pretrained`` file cannot be read
            (damaged, not a checkpoint, an adapter-only one).
    """
    cfg = merge_cfg_options(load_config_file(path), options)
    if pretrained is not None:
        try:
            backbone_init_cfg_key(cfg)
        except KeyError as e:  # a mistake of the config, not of the file
            raise ConfigError(e.args[0]) from None
        try:
            set_host_pretrained(cfg, pretrained)
        except Exception as e:
            raise PretrainedLoadError(
                f'--pretrained {pretrained}: {refusal_line(e)}',
                path=pretrained,
                key='--pretrained') from e
    return cfg


def _model(config: str, pretrained, options, build):
    """``build(cfg)`` for the config at ``config`` (with ``--cfg-options``
    and ``--pretrained``), and the frames one clip of its test pipeline
    spans (None for images) and how its test set names a clip's frames
    (None unless its test pipeline reads frames); a misspelled type, or an
    argument that a class does not take, names the config file and key, or
    the option."""
    cfg = _config(config, pretrained, options)
    if options and cfg.get('default_scope') in ('mmaction', 'mmpretrain'):
        # The engine checks these again, from the merged config alone.
        # Checked here first, a transform or a recognizer's test_cfg key
        # that an option broke is named by the option, as train.py and
        # test.py name it.
        build_test_pipeline(cfg, cfg.default_scope, config, options)
        check_inference_cfg(cfg, config, options)
    try:
        built = build(cfg)
    except Exception as exc:
        # MultiTaskRecognizer.add_task wraps what failed in a TaskLoadError.
        cause = exc.__cause__ if isinstance(exc, TaskLoadError) else exc
        error = config_mistake(cause, cfg, config, options)
        if error is None:
            raise
        raise error from cause
    frames = FrameFolders.of_config(cfg, config)
    return built, clip_span(cfg, config), frames


def _load(args):
    """The engine, the errors of tasks that could not be loaded and the
    frames a clip of each video task spans, and how each names a clip's
    frames."""
    failed, spans, frames = {}, {}, {}
    if not args.task:
        name = ModelInferencer.default_name(args.config)
        try:
            engine, spans[name], frames[name] = _model(
                args.config, args.pretrained, args.cfg_options,
                lambda cfg: ModelInferencer(
                    cfg,
                    args.checkpoint,
                    device=args.device,
                    label_map=args.label_map,
                    name=name))
        except LabelMapError as e:
            # The file the user gave, not the checkpoint, and not once per
            # input: nothing can be answered with it.
            infer_parser().error(f'--label-map {e}')
        except Exception as e:
            engine = None
            failed[name] = load_error(e, args.config, args.checkpoint,
                                      args.pretrained)
        return engine, failed, spans, frames
    engine = MultiTaskRecognizer(device=args.device)
    for name, config, checkpoint in args.task:
        label_map = args.label_maps.get(name)
        first = not engine.tasks
        try:
            _, spans[name], frames[name] = _model(
                config, args.pretrained, args.cfg_options,
                lambda cfg: engine.add_task(
                    name, cfg, checkpoint, label_map=label_map))
        except Exception as e:
            if label_map is not None and isinstance(
                    e, TaskLoadError) and isinstance(e.__cause__,
                                                     LabelMapError):
                # As with one model: the file the user gave is wrong.
                infer_parser().error(f'{label_map_role(name)} {e.__cause__}')
            failed[name] = load_error(
                e, config, checkpoint, args.pretrained, task=True)
            if first and len(args.task) > 1 and args.pretrained is None \
                    and isinstance(e.__cause__, PretrainedLoadError):
                failed[name] = failed[name].rstrip('.') + '.' + \
                    FIRST_TASK_HINT
    return (engine if engine.tasks else None), failed, spans, frames


def _say(level: int, line: str) -> None:
    """A drawing's report line on stderr; one that it failed as an
    ERROR line."""
    line = escape_controls(line)  # it names the input
    print(
        f'ERROR {line}' if level >= logging.WARNING else line, file=sys.stderr)


def _draw(args, results: dict, classes: dict, frames: dict) -> bool:
    """Draw the answered inputs into ``--show-dir``, a clip's folder read
    as a task that answered it names its frames (``frames``: ``{task:
    FrameFolders or None}``); say where they went, and each that could not
    be drawn, on stderr. Whether all were drawn."""
    _, failed = draw_and_report(
        results,
        classes,
        args.show_dir,
        topk=args.topk,
        frames=frames,
        report=_say,
        count_all=False)
    return not failed


parse_args = parse_infer_args


def main(argv=None) -> int:
    # Ctrl-C, SIGTERM or SIGHUP ends the run with one line that says what
    # it leaves, and 128 + the signal (130 for Ctrl-C), not a traceback.
    stage = InferStage()
    try:
        with results_only_stdout():
            return exit_on_stop(
                'infer.py',
                lambda: _run(parse_args(argv), ResultOutput(), stage),
                stage.left)
    except BrokenPipeError:
        # The reader of stderr (``2>&1 | head``) or of --help went away.
        silence(sys.stdout)
        silence(sys.stderr)
        return BROKEN_PIPE_STATUS


def _run(args, out: ResultOutput, stage: InferStage) -> int:
    """Classify ``args.files``; print the result lines (or, with ``--out
    -``, the JSON) to ``out``, and return the exit status; say in
    ``stage`` how far it got."""
    to_stdout = args.out == STDOUT
    stage.start(args.out, args.show_dir)
    engine, failed, spans, frames = _load(args)
    for name, message in failed.items():
        print(
            load_error_lines(name, message, bool(args.task)), file=sys.stderr)
    if engine is None:
        # Nothing can be answered: no --out of an error per input, which
        # would read as if each input had been tried.
        print(
            escape_controls(
                nothing_loaded_line(
                    bool(args.task), args.out, stage.out_existed,
                    args.show_dir)),
            file=sys.stderr)
        return 1
    stage.reach('classifying')
    stopped = None
    try:
        results = engine(args.files, batch_size=args.batch_size, progress=True)
    except (KeyboardInterrupt, Stopped) as stop:
        # What was answered before the stop (the engine gives it) is
        # printed as a whole run's results are, and written beside --out,
        # never over it (the complete results of an earlier run stay
        # whole); the stop ends the run afterwards; with no answer, now.
        if not getattr(stop, 'results', None):
            raise
        stopped, results = stop, stop.results
        stage.stopped_after(results, stop.num_inputs, failed)
    classes = {}
    if isinstance(engine, ModelInferencer):
        classes[engine.name] = engine.classes
    else:
        classes = {name: engine.classes_of(name) for name in engine.tasks}
    ok = not failed
    order = [task[0] for task in args.task or ()]
    skipped = SkippedInputs()
    # The result lines; with --out -, stdout is the JSON alone, and only
    # the errors are said, on stderr. They name the inputs, whose file
    # names may hold a terminal's control sequences: shown escaped (the
    # JSON keeps the real paths, escaped as JSON escapes them).
    show = functools.partial(print, file=sys.stderr) if to_stdout else \
        out.print

    def say(line: str) -> None:
        show(escape_controls(line))

    stage.reach('printing')
    for path, answers in results.items():
        if 'error' not in answers:
            for name, message in failed.items():
                answers[name] = dict(error=message)
            # In the --task order, a task that could not be loaded too.
            ordered = {n: answers.pop(n) for n in order if n in answers}
            answers.update(ordered)
        if 'error' in answers:
            ok = False
            say(f'{path}: ERROR {answers["error"]}')
            continue
        for name, answer in answers.items():
            if name in failed:
                # Said once above; the JSON keeps it in every input.
                continue
            if 'skipped' in answer:
                # Not this task's kind, and another task's: no result,
                # no failure; counted once per task below.
                skipped.add(name, answers)
                continue
            ok &= 'error' not in answer
            if not to_stdout or 'error' in answer:
                shown = dict(answer, names=classes.get(name))
                say(f'{path}: {name}: {_top(shown, args.topk)}')
    for line in skipped.lines():
        print(escape_controls(line), file=sys.stderr)
    short = short_video_inputs(results, spans, frames=frames)
    if short:
        print_log(
            escape_controls(
                short_videos_notice('classified', len(short), short)),
            logger='current',
            level=logging.WARNING)
    if to_stdout:
        # The JSON alone, as one document: the lines above were left out.
        out.print(json.dumps(results, indent=1))
    out.flush()
    stage.reach('printed')
    written = True
    if args.out and not to_stdout:
        # Atomic, as the checkpoints: an older file of that name stays
        # whole if the write fails or the process is killed while writing.
        # Before the drawings, which may take long: a run stopped while
        # drawing keeps its results.
        stage.reach('writing')
        try:
            atomic_write(
                json.dumps(results, indent=1) + '\n', stage.results_file())
        except AtomicWriteError as e:
            print(refusal_line(e), file=sys.stderr)
            written = False
        else:
            stage.reach('written')
            if stopped is None:
                inputs = 'input' if len(results) == 1 else 'inputs'
                # A note, not a result: stdout holds the result lines alone.
                print(
                    f'Results of {len(results)} {inputs} written to '
                    f'{args.out}',
                    file=sys.stderr)
                stale = remove_stale_partial(args.out)
                if stale is not None:
                    print(escape_controls(stale), file=sys.stderr)
    if stopped is not None:
        # The stop's line says what was printed and written; a second
        # Ctrl-C would not stop a long drawing, so none is made.
        raise stopped
    if args.show_dir is not None:
        stage.reach('drawing')
        ok &= _draw(args, results, classes, frames)
    if not written:
        return 1
    if out.gone:
        return BROKEN_PIPE_STATUS
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
