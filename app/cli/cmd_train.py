"""`python -m app train MODEL`: step 6, DeepFaceLab 1.0's trainer (models: app/models/).

First run: the general questions, then the model's (all saved with the model). Later runs:
"Press enter in 2 seconds to override some model settings." and then only the overridable ones.
Flags answer questions without asking (`--batch-size 4`, `--option resolution=96`), so the step
runs headless too.
"""

from __future__ import annotations

import sys

from app.cli.ask import ask_choice, ask_device_spec, interactive, number
from app.cli.option_table import ask_option
from backends import ENGINES
from app.models import model_entries, model_names


def register(sub) -> None:
    p = sub.add_parser("train", help=f"step 6: train a model ({', '.join(model_names())})",
                       description="Train a face-swap model on data_src/aligned and "
                                   "data_dst/aligned; preview window (Enter: save and exit, "
                                   "s: save, p: refresh) or model/<NAME>_preview.png headless.")
    p.add_argument("model", nargs="?", help="model: " + ", ".join(model_names()))
    p.add_argument("--src-dir", help="aligned src faces (default: workspace data_src/aligned)")
    p.add_argument("--dst-dir", help="aligned dst faces (default: workspace data_dst/aligned)")
    p.add_argument("--model-dir", help="model folder (default: workspace model/)")
    p.add_argument("--pretrain-dir", help="SAEHD's pretrain option: aligned faces of any people "
                   "to pretrain on (both sides)")
    p.add_argument("--engine", choices=ENGINES, default="torch",
                   help="torch (CUDA/ROCm/XPU/MPS/CPU) or opencl (any OpenCL device)")
    p.add_argument("--device", help="GPU idx, best, all (every GPU, one process each), a list "
                   "such as 0,2, cpu, or cpu,cpu (two CPU processes) (default: best; env "
                   "FACESTUDIO_DEVICE). Several devices split the batch size between them")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--target-iter", type=int, help="save and stop at this iteration (0: never)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a model or trainer option, e.g. resolution=96 or archi=liae (repeatable)")
    p.add_argument("--save-every", type=number, default=25.0, metavar="MIN",
                   help="minutes between saves (default 25)")
    p.add_argument("--no-window", action="store_true",
                   help="write the preview to model/<NAME>_preview.png instead of a window")
    p.add_argument("--seed", type=int, help="random seed of a new model (same seed: same run)")
    p.set_defaults(run=run)


def run(args) -> int:
    from app.errors import UserError
    from app.models import model_class
    from app.models.files import ModelFiles
    from app.models.saved_state import SEED_MAX
    from app.train import distributed
    from app.train.model_lock import ModelLock
    from app.workspace import Workspace

    ws = Workspace.resolve(args.workspace)
    if args.seed is not None and not 0 <= args.seed <= SEED_MAX:
        raise UserError(f"--seed {args.seed} is out of range: give a whole number from 0 to "
                        f"{SEED_MAX}")
    if args.save_every <= 0:   # 0 saved (and rotated the backups) after every step
        raise UserError(f"--save-every {args.save_every:g} is out of range: give the minutes "
                        "between saves, more than 0")
    cls = model_class(ask_model(args.model))
    given = _given(args, cls)
    model_dir = args.model_dir or ws.model_dir
    if ModelFiles(model_dir, cls.name).data.is_file():   # a bad saved file, before torch too
        ModelFiles(model_dir, cls.name).read_data()
    choice = _choose_device(args)
    job = distributed.TrainJob(str(args.src_dir or ws.aligned_dir("src")),
                               str(args.dst_dir or ws.aligned_dir("dst")), str(model_dir),
                               cls.name, engine=choice.engine, prefix=choice.prefix,
                               save_every_min=args.save_every,
                               window=False if args.no_window else None,
                               pretrain_dir=args.pretrain_dir)
    files = ModelFiles(model_dir, cls.name, choice.prefix)
    # held until this process exits (the launcher of several processes holds it for them)
    ModelLock(model_dir, files.stem).acquire()
    where = distributed.torchrun_rank()
    if where is None or where.rank == 0:
        files.remove_stale_temps()   # a killed save's temporary (model-sized), not the next save's job
    if where is not None:
        return _run_torchrun(job, cls, given, choice, where, args.seed)
    _answer(job, cls, given, args.seed)
    devices = [d.torch_device for d in choice.devices] if choice.engine == "torch" else []
    print(f"device: {', '.join(d.name for d in choice.devices)} ({choice.reason})")
    if len(devices) > 1:
        _check_split(job, len(devices))
        result = distributed.launch(job, devices)
    else:
        dev = choice.devices[0]
        result = distributed.run_job(job, (dev.torch_device or None)
                                     if choice.engine == "torch" else dev.index)
    _print_result(result)
    return 0


def _given(args, cls) -> dict:
    """The flags that answer questions; an unknown --option key is an error."""
    from app.models.options import GENERAL
    from app.options import refuse_unknown

    given = _parse_options(args.option)
    if args.batch_size is not None:
        given["batch_size"] = args.batch_size
    if args.target_iter is not None:
        given["target_iter"] = args.target_iter
    refuse_unknown(GENERAL + tuple(cls.options_spec), given, of=cls.name)
    for o in GENERAL + tuple(cls.options_spec):   # a bad value before the device (and torch)
        if o.key in given:
            o.check(given[o.key])
    return given


def _answer(job, cls, given: dict, seed: int | None) -> None:
    """The questions of a first run, or the 2-second override of a later one, into `job`. A
    new model's seed is drawn here, so every process of a multi-device run shares it."""
    import random

    from app.models.options import GENERAL_KEYS
    from app.models.files import ModelFiles

    files = ModelFiles(job.model_dir, cls.name, job.prefix)
    if files.exists():
        answers = _override(cls, files.read_data(), given)
    else:
        answers = _first_run(cls, given)
        seed = random.randrange(2 ** 31) if seed is None else seed
    job.general = {k: v for k, v in answers.items() if k in GENERAL_KEYS}
    job.options = {k: v for k, v in answers.items() if k not in GENERAL_KEYS}
    job.seed = seed


def _check_split(job, processes: int) -> None:
    """Refuse, before starting any process, a batch that does not split evenly."""
    from app.errors import UserError
    from app.models import model_class
    from app.models.files import ModelFiles

    batch = job.general.get("batch_size")
    files = ModelFiles(job.model_dir, job.model, job.prefix)
    if batch is None and files.exists():
        batch = files.read_data().get("general", {}).get("batch_size")
    batch = batch if batch is not None else model_class(job.model).default_batch
    if int(batch) % processes:
        raise UserError(f"batch size {batch} does not split evenly over {processes} devices: "
                        f"choose a multiple of {processes} (--batch-size)")


def _run_torchrun(job, cls, given: dict, choice, where, seed: int | None) -> int:
    """One process of a torchrun launch: global rank 0 asks the questions (the 2-second
    override included), the others receive its answers."""
    from app.train import distributed

    device = distributed.torchrun_device(choice, where.local_rank)
    distributed.join_torchrun(where, device)
    if where.rank == 0:
        _answer(job, cls, given, seed)
    answers = distributed.from_leader({"general": job.general, "options": job.options,
                                       "seed": job.seed})
    job.general, job.options, job.seed = answers["general"], answers["options"], answers["seed"]
    if where.rank == 0:
        print(f"device: {where.world} processes over torchrun, this one on {device}")
    result = distributed.run_job(job, device, where.rank, where.world)
    distributed.leave_torchrun()
    if where.rank == 0:
        _print_result(result)
    return 0


def _print_result(result: dict) -> None:
    print(f"stopped ({result['stopped']}) at iteration {result['iteration']}; "
          f"{result['ms_per_step']:.0f} ms/step; saved to {result['folder']}")


def ask_model(given: str | None) -> str:
    """DeepFaceLab's model question (numbered, from the model files); the flag answers it."""
    return given or ask_choice("Choose a model", "SAE", model_names(), help_text=_models_help())


def _models_help() -> str:
    return "; ".join(f"{e.name}: {e.info['help']}" for e in model_entries() if e.info.get("help"))


def _parse_options(pairs: list[str]) -> dict:
    from app.errors import UserError
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserError(f"--option {pair!r}: write KEY=VALUE, e.g. resolution=96")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _choose_device(args):
    from backends.devices import choose
    return choose(ask_device_spec(args.device, args.engine), args.engine)


def _ask(o, default, chosen: dict):
    """One option as a question (app/cli/option_table.py, as every step asks)."""
    return ask_option(o, default)


def _first_run(cls, given: dict) -> dict:
    """All general and model questions, in DFL's order; flags answer without asking."""
    from app.models.options import GENERAL, refuse_inapplicable
    out: dict = {}
    for o in GENERAL + tuple(cls.options_spec):
        if not o.applies(out):
            continue
        default = o.default_for(out)
        if o.key == "batch_size" and default is None:
            default = cls.default_batch
        out[o.key] = o.check(given[o.key]) if o.key in given else _ask(o, default, out)
    refuse_inapplicable(tuple(cls.options_spec), out, given)   # e.g. a multiscale vg decoder
    return out


def _override(cls, saved: dict, given: dict) -> dict:
    """Later run: flags as given; the overridable options only if Enter comes within 2 s."""
    from app.models.options import GENERAL
    from app.options import with_added
    out = dict(given)
    if not interactive() or not _enter_within(2.0):
        return out
    current = {**with_added(GENERAL, saved.get("general", {})),
               **with_added(tuple(cls.options_spec), saved.get("options", {}))}
    for o in GENERAL + tuple(cls.options_spec):
        if o.overridable and o.key not in given and o.key in current:
            out[o.key] = _ask(o, current[o.key], out)
    return out


def _enter_within(seconds: float) -> bool:
    """DeepFaceLab's 'Press enter in 2 seconds to override some model settings.'"""
    print(f"Press enter in {seconds:g} seconds to override some model settings.", flush=True)
    if sys.platform.startswith("win"):
        import msvcrt
        import time
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if msvcrt.kbhit() and msvcrt.getwch() in ("\r", "\n"):
                return True
            time.sleep(0.05)
        return False
    import select
    ready, _, _ = select.select([sys.stdin], [], [], seconds)
    if ready:
        sys.stdin.readline()
        return True
    return False
