"""Plan: the jobs a command asks for, every one checked before any weights load.

Every command that scores (run, reproduce, sweep-stride, sensitivity) is a front-end that
turns its options into ``Job``s and hands them to the pipeline::

    front-end   jobs = [job("ptb", window, data, path, sweep=...), ...]   presets resolved once
    plan        1. task options      every job's task built from its resolved config
                2. outputs           writable (results, the work-unit store's folder)
                3. data              every document of every job
                4. model             its config and tokenizer alone (causal? context? ids?),
                                     each job's window, device
                5. existing results  one of another run (data, weights, options as run:
                                     overwrite.py) kept, refused or skipped
    execute     one loaded model, work units (cache, torchrun), one atomic result per job
    report      the front-end's table, summary or figure, read from the results

A job list that passes ``plan_jobs`` runs to its end unless the model itself fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gpt2eval.config import DataConfig, ModelConfig, RunConfig, WindowConfig
from gpt2eval.engine.lm import check_window
from gpt2eval.errors import UsageError
from gpt2eval.models import checks
from gpt2eval.models.loading import context_length
from gpt2eval.pipeline.overwrite import model_identity


@dataclass
class Job:
    """One result file to produce: a task under its resolved configs (see ``job``)."""

    task: str  # registered name
    window: WindowConfig  # as resolved by the preset (``presets.resolve``), once
    data: DataConfig
    path: Path  # the result file
    sweep: dict | None = None  # written as ``result["sweep"]``: a stride sweep or a sensitivity variant
    label: str = ""  # how output lines name the job: "ptb", "ptb stride 64", "ptb --detokenizer none"
    log_samples: bool = False  # also write <result>.samples.jsonl
    save_tokens: bool = False  # also write <result>.tokens.parquet (the task keeps its rows while scoring)
    # Set by ``plan_jobs``:
    instance: object = None  # the Task, built from ``data``, with ``window`` attached
    docs: list = field(default_factory=list)
    action: str = "run"  # run | skip (same config done) | keep (another config there) | missing (no data)
    why: str = ""  # for skip, keep and missing (and a rerun for a tokens file): what to tell the user

    @property
    def samples_path(self) -> Path:
        return self.path.with_suffix(".samples.jsonl")

    @property
    def tokens_path(self) -> Path:
        from gpt2eval.results.tokens import tokens_path

        return tokens_path(self.path)


def job(name: str, window_cfg: WindowConfig, data_cfg: DataConfig, path, sweep: dict | None = None,
        label: str | None = None, log_samples: bool = False, save_tokens: bool = False) -> Job:
    """A job for task ``name``, its options as given filled in by the preset (the one resolve)."""
    from gpt2eval.pipeline.presets import resolve
    from gpt2eval.registry import get_task_class

    cls = get_task_class(name)
    window, data = resolve(cls, window_cfg, data_cfg)
    return Job(cls.name, window, data, Path(path), sweep, label or cls.name, log_samples, save_tokens)


@dataclass
class Plan:
    jobs: list[Job]
    model_cfg: ModelConfig
    run_cfg: RunConfig
    dist: object  # engine.distributed.Dist: this process's place in a torchrun launch
    device: str  # this rank's device, checked
    notes: set = field(default_factory=set)  # lines already printed (a --limit note)

    @property
    def todo(self) -> list[Job]:
        return [j for j in self.jobs if j.action == "run"]

    @property
    def store_dir(self) -> Path:
        """The work-unit store's folder: --store-dir, else beside the (first) result."""
        return Path(self.run_cfg.store_dir) if self.run_cfg.store_dir else self.jobs[0].path.parent


def plan_jobs(jobs: list[Job], model_cfg: ModelConfig, run_cfg: RunConfig | None = None, *, force: bool = False,
              existing: str = "refuse", missing_data: str = "raise", config=None) -> Plan:
    """Check ``jobs`` whole, in the order above; raise ``UsageError`` at the first problem.

    ``existing``: what a result already at a job's path does when it is not ``force``d:
    ``refuse`` (another config is an error; the same config is rerun, mostly from the
    cache) or ``skip`` (the same config is skipped, another one kept: ``reproduce``).
    ``missing_data``: ``raise``, or ``skip`` (the job is reported and the others run).
    ``config``: the model's config when the front-end already read it (``model_config``).
    """
    from gpt2eval.engine.allocator import setting
    from gpt2eval.engine.distributed import from_env
    from gpt2eval.models.fingerprint import check_revision
    from gpt2eval.models.loading import resolve_device

    assert jobs, "a plan needs at least one job"
    assert existing in ("refuse", "skip") and missing_data in ("raise", "skip"), (existing, missing_data)
    run_cfg = run_cfg or RunConfig()
    setting()  # GPT2EVAL_CPU_ALLOCATOR, read when the scorer starts
    dist = from_env()
    check_revision(model_cfg.model, model_cfg.revision)
    build_tasks(jobs)
    check_outputs(jobs, run_cfg)
    for j in (j for j in jobs if j.action == "run"):
        try:
            j.docs = load_documents(j.instance)
        except UsageError as e:
            if missing_data == "raise":
                raise
            j.action, j.why = "missing", str(e).removeprefix(f"{j.task}: ")
    config = config if config is not None else model_config(model_cfg)
    for window in dict.fromkeys(j.window for j in jobs):
        check_window_early(window, config)
    check_existing(jobs, model_identity(model_cfg, config), force, existing)
    device = dist.device(model_cfg.device)
    resolve_device(device)  # --device cuda:7 on a machine with one GPU: refused now, not after the data
    return Plan(jobs, model_cfg, run_cfg, dist, device)


def build_tasks(jobs: list[Job]) -> None:
    """Each job's task, from its resolved config: an option the task does not read is refused here."""
    from gpt2eval.registry import get_task_class

    for j in jobs:
        if j.instance is None:
            j.instance = get_task_class(j.task)(j.data)
            j.instance.window = j.window
            j.instance.save_tokens = j.save_tokens


def check_outputs(jobs: list[Job], run_cfg) -> None:
    """Every file the jobs write can be written (what is there already: ``check_existing``)."""
    from gpt2eval.results.paths import check_output_dir, check_output_file

    paths = [j.path for j in jobs]
    if len(set(paths)) < len(paths):
        same = next(p for p in paths if paths.count(p) > 1)
        raise UsageError(f"two jobs would write {same}: pass a folder as --output")
    if any(j.save_tokens for j in jobs):
        check_pyarrow()
    for j in jobs:
        check_output_file(j.path)
        if j.log_samples:
            check_output_file(j.samples_path, "--log-samples")
        if j.save_tokens:
            check_output_file(j.tokens_path, "--save-tokens")
    if run_cfg.resume and run_cfg.store_dir:
        check_output_dir(run_cfg.store_dir, "--store-dir")


def check_existing(jobs: list[Job], model: dict, force: bool, existing: str) -> None:
    """What to do with a result already at a job's path: compared with what the job will
    compute (its data as read, the model's identity, options as run: ``overwrite``)."""
    from gpt2eval.pipeline.overwrite import check_replace, differences

    for j in jobs:
        if force or not j.path.exists() or j.action != "run":
            continue  # a job without its data keeps the file there (reproduce says so)
        if existing == "refuse":
            check_replace(j.path, j.instance, j.docs, model, force)
            continue
        diffs = differences(j.path, j.instance, j.docs, model)
        if not diffs and j.save_tokens and not j.tokens_path.exists():
            j.why = f"{j.label}: rerun for its tokens file (--save-tokens; finished work units come from the store)"
        elif not diffs:
            j.action, j.why = "skip", f"{j.label}: skipped, {j.path} exists with the same config and data (--force reruns it)"
        else:
            j.action = "keep"
            j.why = f"{j.label}: kept {j.path}, a result of another config ({'; '.join(diffs)}): --force replaces it"


def check_pyarrow() -> None:
    """--save-tokens writes Parquet through pyarrow (``datasets`` brings it): said before any work."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError("--save-tokens writes Parquet and needs pyarrow: pip install pyarrow")


def load_documents(task) -> list:
    """The task's documents (less those ``--exclude-overlap`` names); none is an error."""
    docs = task.documents()
    if task.data.exclude_overlap:
        from gpt2eval.results.overlap import keep_clean

        docs = keep_clean(task, docs, task.data.exclude_overlap)
    if not docs:
        raise UsageError(f"task {task.name}: no documents to score (empty data, --limit or --exclude-overlap)")
    return docs


def model_config(model_cfg):
    """The model's config, read without weights; raises ``UsageError`` for what it rules out
    (not there, not causal: ``gpt2eval.models.checks``; a tokenizer that does not fit it:
    ``gpt2eval.models.tokenizer``)."""
    from transformers import AutoConfig

    from gpt2eval.models.tokenizer import check_tokenizer

    checks.check_location(model_cfg)
    try:
        config = AutoConfig.from_pretrained(model_cfg.model, revision=model_cfg.revision,
                                            trust_remote_code=model_cfg.trust_remote_code)
    except Exception as e:  # noqa: BLE001 - the hub and transformers raise many types; load_error sorts them
        raise checks.load_error(model_cfg, e) from None
    checks.check_causal_config(config, model_cfg.model)
    check_tokenizer(model_cfg, config)
    return config


def preflight(model_cfg, window_cfg=None):
    """``model_config``, and with ``window_cfg`` the window options against its context length."""
    config = model_config(model_cfg)
    if window_cfg is not None:
        check_window_early(window_cfg, config)
    return config


def window_length(window_cfg, config) -> int:
    """The window length L a job runs with: --max-length, else the model's context."""
    return window_cfg.max_length if window_cfg.max_length is not None else context_length(config)


def check_window_early(window_cfg, config) -> None:
    """--max-length/--stride against the context length in the config, before any weights load."""
    length = window_cfg.max_length
    try:
        context = context_length(config)
    except UsageError:
        if length is None:
            raise
        context = length  # unknown context: only check --max-length/--stride against each other
    length = context if length is None else length
    check_window(length, length if window_cfg.stride is None else window_cfg.stride, context)
