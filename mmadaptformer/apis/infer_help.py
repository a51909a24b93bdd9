# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The help text ``tools/infer.py --help`` prints after its options: what
an INPUT is, what goes to stdout, ``--show-dir`` and ``--label-map``, the
JSON results and the exit status of each case."""

__all__ = ['EPILOG']

#: ``tools/infer.py``'s epilog (see :func:`~.infer_cli.infer_parser`).
EPILOG = """\
INPUT is a video or image file, or a folder (searched recursively, through
symlinked subfolders too, for video and image files; one without a file of the
kind the models classify is refused). For a config whose test pipeline reads
extracted frames (RawFrameDecode, as MMAction2's rawframe configs), a folder of
frames named as the test set's filename_tmpl names them (img_00001.jpg, ... by
default, contiguous from its start_index) is one clip, and a folder of such
folders is its clips, in sorted order, each answered under its folder's path.
With --task, a folder is expanded for all the tasks alike, whatever their
order: into its clip folders for the tasks that read frames and its video files
for the others, sorted together; each task answers what its test pipeline
reads, and skips the other kind (see the JSON below), failing only on an input
no task reads. Hidden files and folders (names starting with .) are left out,
with a warning that counts them. --list FILE adds the paths a text file names,
one a line, after the INPUTs and in its order: blank lines and lines starting
with # are skipped, and in MMAction2's and MMPretrain's annotation lines ("path
label", "frame_dir total_frames label") the first field is the path (a "path
label" line whose path holds spaces is split at its last space, as MMPretrain's
CustomDataset reads it). Relative paths are resolved against the list's folder,
or against --list-root DIR (an annotation file's data_prefix). --list - reads
the list from standard input ("find data -name '*.mp4' | infer.py CONFIG
CHECKPOINT --list -"), its relative paths resolved against the current
directory, or --list-root DIR. Each input is transformed by the config's test
pipeline (test_dataloader.dataset.pipeline, views included), so it gets the
scores tools/test.py --dump gives it. Videos shorter than a clip are classified
with repeated frames, as tools/test.py evaluates them, and named after the run.

Standard output holds the results alone, one line per input and task
("PATH: TASK: CLASS (score), ..."), or with --out - the JSON alone; log
lines, warnings and the progress bar go to standard error, so
"infer.py ... > results.txt" or "infer.py ... --out - | jq" get only the
results.

--show-dir DIR draws each answered input's --topk classes and scores, per
task, with the task's name, into DIR (made if missing): a video (or a
clip's folder of frames) as an .mp4 of all its frames at its own size and
frame rate (MPEG-4 Part 2, "mp4v": VLC, mpv and FFmpeg play it; browsers
mostly do not), an image as a .png. Each keeps its path relative to the
folder all the inputs are in, extension replaced (a/clip.webm ->
DIR/a/clip.mp4, b/clip.webm -> DIR/b/clip.mp4); inputs of one folder that
share a stem keep their whole names (clip.avi.mp4, clip.webm.mp4). An input
that failed draws nothing; one answered but not drawn (a frame that does
not decode) is said on stderr and makes the exit status 1. The results are
the same with or without it.

--label-map FILE names the model's classes, the class of label i on line
i + 1; with --task, --label-map NAME=FILE names task NAME's, repeated for
each task that needs one ("--label-map hmdb51=hmdb51_label_map.txt").
Without it, a model or task keeps the classes its checkpoint's meta
records (MMEngine's Runner saves them), else those of its config's test
set, else none (labels only).

The JSON maps each input to {TASK: {"label": int, "class": str or null,
"scores": [float, ...]}}; TASK is the config file's stem, or the --task
name. An input that cannot be classified gets {"error": "..."} (or
{TASK: {"error": "..."}} where only some tasks failed), a task that cannot
be loaded gets {TASK: {"error": "..."}} in every input (printed once, as
"task TASK: ERROR ..." on stderr), and the others are still answered. A
model that cannot be loaded (or every --task) is printed once ("model NAME:
ERROR ..."), and nothing is classified, printed or written: no --out file
(one from before is left as it was), exit status 1.
With --task, a task whose test pipeline does not read an input's kind (a
clip folder for a task that decodes video files, a video file for one that
reads frames, a clip named as another task's test set names frames) gets
{TASK: {"skipped": "..."}} where another task reads it: no result and no
failure, counted once per task on stderr
("task TASK: skipped N inputs ..."). An input that no task reads gets an
error for each.

Exit status, as a Unix command's: 0 if every input was answered by every task
that reads its kind, and nothing else failed; 1 if anything failed while
running (an input or task: the others are answered, and --out holds the errors;
a model, or every --task, that cannot be loaded: nothing is written;
scores that are NaN or inf are such an error, not a label); 2 if the command
line cannot be used, found before any input is classified and with nothing
written: an option's value (--topk 0, a --device this machine lacks), a file it
names that does not exist (CONFIG, CHECKPOINT, --pretrained, --label-map), an
INPUT that does not exist or this user cannot read (a quoted pattern and an
address are named as such), a video, image or config given as a CHECKPOINT (the
checkpoint left out) or as --pretrained, a CONFIG or --label-map given as an
address, a CONFIG that is no config file (a checkpoint given first, with --task
too), a CONFIG without --task that cannot be read (Python that does not parse,
a _base_ that does not exist: the file and line are named; with --task, that
task fails in every input, and folders are expanded by the tasks whose configs
were read), a folder INPUT without a file of the models' kind, a text file
INPUT (give it as --list), a --list that cannot be read or names a path that
does not exist (the line is named), an --out that is one of the files read (a
config's _base_ files and the files it names included), whose folder cannot be
made or whose extension names another format (.pkl, .pickle, .yaml, .yml),
a --show-dir that is a file or would put a drawing over a file read or inside a
folder INPUT (a rerun would classify the drawings), a config or checkpoint
among the INPUTs of --task, a --label-map NAME=FILE whose NAME is no --task's
or whose task already has one (a plain FILE with --task, a NAME=FILE without
it, two with one model), or a --label-map whose number of names is not its
model's (task's) number of classes; 141 if the reader of standard output went
away before the results were all written ("infer.py ... | head -1"), as for cat
or grep ended by SIGPIPE, with the --out file still written; 130 (Ctrl-C), 143
(SIGTERM) or 129 (SIGHUP) if stopped, ending with one line that says what was
printed and written: the results of the inputs answered before the stop,
written beside --out as NAME.partial.EXT (results.json: results.partial.json),
never over --out (the file of an earlier run is left as it was), and --out
before any drawing; a later complete run of that --out removes the partial
file (one holding infer.py's results; said in one line).
"""
