"""The training loop: iterations, loss history, preview, saves every N minutes and on exit,
exact resume, target iteration.

Resume is exact because everything a step depends on is saved or derived: weights and optimizer
state (safetensors), the iteration and the seed (JSON), and the batches, which are a pure
function of (seed, iteration) (see samples.py). Questions are not asked here: the CLI (or the
demo) passes plain option dicts.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.errors import UserError
from app.models import model_class
from app.models.options import GENERAL, refuse_inapplicable, resolve
from app.options import refuse_unknown, with_added
from app.models.files import ModelFiles, foreign_model_files

PREVIEW_FACES = 4
#: why a run stopped, in the order ranks agree on it (the largest any rank saw wins)
STOP_REASONS = ("", "steps", "target", "time", "user", "SIGHUP", "SIGTERM", "interrupted")


@dataclass
class TrainResult:
    iteration: int
    history: list = field(default_factory=list)
    stopped: str = ""             # target | time | user | interrupted | steps | SIGTERM | SIGHUP
    ms_per_step: float = 0.0
    files: ModelFiles | None = None


def merge_options(spec, saved: dict, given: dict | None, where: object) -> dict:
    """Saved options with the overridable ones replaced by `given`; a different value for a
    fixed option is a UserError naming it (it would need another network)."""
    out = with_added(spec, saved)
    for o in spec:
        if not given or given.get(o.key) is None or o.key not in out:
            continue
        value = o.check(given[o.key])   # a flag's value: the saved file is not to blame
        if value == out[o.key]:
            continue
        if not o.overridable:
            raise UserError(f"option {o.key} is {out[o.key]!r} in the saved model but "
                            f"{value!r} was asked for; it cannot change after the first run. Keep "
                            "it, or train a new model in another model folder", where)
        out[o.key] = value
    refuse_unknown(spec, given, where)
    refuse_inapplicable(spec, out, given, where)
    return out


class Trainer:
    """One model's training run. Loads (or creates) the model, the face sets and the engine."""

    def __init__(self, src_dir: str | Path, dst_dir: str | Path, model_dir: str | Path,
                 model_name: str, options: dict | None = None, general: dict | None = None,
                 engine: str = "torch", device: Any = None, prefix: str = "",
                 seed: int | None = None, progress: bool = True, log: Callable = print,
                 pretrain_dir: str | Path | None = None, rank: int = 0, world: int = 1):
        """`rank`/`world`: this process's place among several training one model together
        (app.train.distributed); rank 0 alone writes files and shows the preview."""
        from app.train import pretrain
        cls = model_class(model_name)
        self.rank, self.world, self.leader = rank, world, rank == 0
        self.log, self.progress = log, progress and self.leader
        #: polled once a step; the multi-process launcher points it at its signal flag
        self.stop_requested: Callable[[], bool] = lambda: False
        self.files = ModelFiles(model_dir, cls.name, prefix)
        foreign = foreign_model_files(model_dir)
        if foreign and not self.files.exists():
            raise UserError("this model folder holds another tool's model files ("
                            + ", ".join(foreign[:4]) + "); use an empty model folder, e.g. "
                            "--model-dir another_folder", model_dir)
        self.first_run = not self.files.exists()
        self.saved_iteration: int | None = None
        if self.first_run:
            self.options = resolve(cls.options_spec, options or {})
            self.general = resolve(GENERAL, general or {})
            self.seed = int(seed if seed is not None else random.randrange(2 ** 31))
            saved: dict = {}
        else:
            saved = self.files.read_data()   # validated: model name, options, state
            self.options = merge_options(cls.options_spec, saved["options"], options, self.files.data)
            self.general = merge_options(GENERAL, saved["general"], general,
                                         self.files.data)
            self.seed = int(saved["seed"])
        if self.general.get("batch_size") is None:
            self.general["batch_size"] = cls.default_batch
        if int(self.general["batch_size"]) % world:
            raise UserError(f"batch size {self.general['batch_size']} does not split evenly over "
                            f"{world} devices: choose a multiple of {world}", self.files.data)
        self.model = cls(self.options)
        self.iteration = int(saved.get("iteration", 0))
        self.history: list[list[float]] = list(saved.get("loss_history", []))
        self._load_faces(*pretrain.face_dirs(self.model, src_dir, dst_dir, pretrain_dir))
        self._make_engine(engine, device)
        if not self.first_run:
            self.engine.fresh_prefixes = self.model.fresh_prefixes
            data = self.files.load(self.engine)
            self.iteration = self.saved_iteration = int(data["iteration"])
            self.history = list(data.get("loss_history", []))
            if pretrain.just_left(saved["options"], self.options):
                reset = pretrain.leave_pretraining(self.engine, self.model, self.seed)
                self.iteration, self.history = 0, []
                self.log("pretraining is off: iteration 0, fresh "
                         + ", ".join(sorted({k.split(".")[0] for k in reset})))
            fresh = sorted({k.split(".")[0] for k in self.engine.started_fresh})
            if fresh:
                self.log(f"note: {', '.join(fresh)} start(s) fresh: not in the saved model, or "
                         "saved with other dims")
        self.average = self._weight_average(reset_average=self.first_run or self.iteration == 0)

    def _weight_average(self, reset_average: bool):
        """The running weight average merge draws with (general option ema_decay; None: off).
        Kept by the process that saves; resumed from the file, or started at today's weights."""
        from app.models.weight_average import WeightAverage

        decay = float(self.general.get("ema_decay") or 0.0)
        if not decay or not self.leader:
            return None
        saved = None if reset_average else self.files.average
        return WeightAverage.resume(decay, saved, self.engine.weights())

    # ---- set-up -----------------------------------------------------------------------------
    def _load_faces(self, src_dir, dst_dir) -> None:
        from app.train.samples import load_faceset, preview_faces

        m = self.model
        em = m.eyes_mouth_masks
        self.src = load_faceset(src_dir, m.resolution, m.face_type, self.progress, eyes_mouth=em)
        self.dst = load_faceset(dst_dir, m.resolution, m.face_type, self.progress, eyes_mouth=em)
        self.preview_batch = {"src": preview_faces(self.src, PREVIEW_FACES, self.seed),
                              "dst": preview_faces(self.dst, PREVIEW_FACES, self.seed)}

    def _make_engine(self, engine: str, device: Any) -> None:
        from backends import get_engine

        try:
            self.engine = get_engine(engine, device)
            self.engine.init_params(self.model.specs, seed=self.seed)
            if self.world > 1:
                from backends import ddp
                ddp.broadcast_params(self.engine)
        except MemoryError:
            raise UserError("out of memory creating the model: lower the model dims or the "
                            "resolution") from None
        lr = float(self.general.get("learning_rate", 5e-5))
        self.engine.set_optimizers([dataclasses.replace(o, lr=lr) for o in self.model.optimizers()])
        # SAE's optimizer mode (DFL): 1 state on the device, 2 state in host RAM, 3 state and
        # update on the host. Set before the saved state is loaded, so a mode changed on a later
        # run (it is overridable) places the resumed state there.
        mode = self.model.optimizer_offload()
        self.engine.set_optimizer_offload(mode)
        if mode > 1 and getattr(self.engine, "device", None) is not None \
                and getattr(self.engine.device, "type", "") == "cpu":
            self.log(f"note: optimizer state placement (SAE's optimizer mode {mode}, SAEHD's "
                     "models_opt_on_gpu off) has no effect on the CPU (state is already in "
                     "system memory); kept for GPU runs")
        self._step = self.engine.train_step(self.model.loss_fn)

    def sample_feeder(self):
        from app.train.samples import BatchMaker, SampleConfig, SampleFeeder

        g = self.general
        src_aug, dst_aug, extra = self.model.sample_settings(g)
        cfg = SampleConfig(int(g["batch_size"]), self.model.multiscale, bool(g["sort_by_yaw"]),
                           self.seed, part=self.rank, parts=self.world, **extra)
        maker = BatchMaker(self.src, self.dst, cfg, src_aug, dst_aug)
        return SampleFeeder(maker, start=self.iteration)

    # ---- state ------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.name, "options": self.options, "general": self.general,
                "iteration": self.iteration, "seed": self.seed, "loss_history": self.history,
                "engine": self.engine.name, "param_count": self.model.param_count()}

    def save(self) -> None:
        self.files.save(self.engine, self.state(),
                        extra=self.average.state() if self.average else None)
        self.saved_iteration = self.iteration

    # ---- preview ----------------------------------------------------------------------------
    def preview_image(self) -> np.ndarray:
        from app.ui.preview import render_preview

        p = self.engine.predict(self.model.preview_fn, self.preview_batch)
        last = self.history[-1] if self.history else []
        caption = f"{self.model.name} iter {self.iteration}  " + \
            "  ".join(f"{v:.4f}" for v in last)
        b = self.preview_batch
        return render_preview(b["src"], p["src_src"], b["dst"], p["dst_dst"], p["dst_src"],
                              self.history, caption)

    def _write_history(self, img: np.ndarray) -> None:
        if not self.general.get("write_preview_history"):
            return
        from app.fileio import atomic_write_bytes
        from app.ui.preview import encode_png
        d = self.files.history_dir
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(d / f"{self.iteration:07d}.png", encode_png(img))

    # ---- the loop ---------------------------------------------------------------------------
    def run(self, target_iter: int | None = None, time_budget_s: float | None = None,
            max_steps: int | None = None, save_every_min: float = 25.0,
            preview_every_s: float = 120.0, window: bool | None = None) -> TrainResult:
        """Train until the target iteration, the time budget, `max_steps` or the user stops;
        then save. Saves every `save_every_min` minutes; Ctrl+C, SIGTERM and SIGHUP save and
        exit; a non-finite loss stops without saving (UserError). Several ranks stop together
        at the same iteration (the last reason in STOP_REASONS that any rank saw)."""
        from app.ui.preview_window import PreviewSink

        target = target_iter if target_iter is not None else int(self.general["target_iter"] or 0)
        result = TrainResult(self.iteration, files=self.files)
        if target and self.iteration >= target:
            self.log(f"{self.model.name} is already at iteration {self.iteration} (target "
                     f"{target}); raise the target iteration to train more")
            result.stopped, result.history = "target", self.history
            return result
        sink = PreviewSink(f"Training preview - {self.files.stem}", self.files.preview, window) \
            if self.leader else None
        feeder = self.sample_feeder()
        started = last_save = last_preview = time.monotonic()
        steps, step_time = 0, 0.0
        stop = _StopSignals()
        try:
            self._show(sink)
            while True:
                t0 = time.monotonic()
                losses = self._train_step(feeder.next())
                if not all(math.isfinite(v) for v in losses.values()):
                    result.stopped = "diverged"
                    break
                self.iteration += 1
                if self.average:  # part of the step's time
                    self.average.update(self.iteration, self.engine.weights)
                step_time += time.monotonic() - t0
                steps += 1
                self.history.append([losses["src_loss"], losses["dst_loss"]])
                self._print_progress(losses, time.monotonic() - t0)
                action = sink.poll() if sink else None
                now = time.monotonic()
                if target and self.iteration >= target:
                    result.stopped = "target"
                elif time_budget_s is not None and now - started >= time_budget_s:
                    result.stopped = "time"
                elif max_steps is not None and steps >= max_steps:
                    result.stopped = "steps"
                elif action == "exit":
                    result.stopped = "user"
                elif stop.received:
                    result.stopped = stop.received
                elif self.stop_requested():
                    result.stopped = "interrupted"
                result.stopped = self._agree(result.stopped)
                if result.stopped:
                    break
                if action == "save" or now - last_save >= save_every_min * 60:
                    self._save_logged()
                    last_save = now
                if action == "refresh" or now - last_preview >= preview_every_s:
                    self._show(sink)
                    last_preview = now
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        except BaseException:
            stop.restore()
            raise
        finally:
            feeder.close()
        if self.progress:
            print()
        if result.stopped == "diverged":
            stop.restore()
            if sink:
                sink.close()
            raise self._diverged(losses)
        try:
            self._save_logged()   # a second SIGTERM here is caught: the save completes
        finally:
            stop.restore()
        self._show(sink)
        if sink:
            sink.close()
        result.iteration, result.history = self.iteration, self.history
        result.ms_per_step = 1000 * step_time / max(1, steps)
        return result

    def _train_step(self, batch: dict) -> dict:
        try:
            return self._step(batch)
        except (MemoryError, RuntimeError) as e:
            text = str(e).lower()
            if isinstance(e, MemoryError) or "allocate" in text or "out of memory" in text:
                raise UserError(f"out of memory at batch size {self.general['batch_size']}: lower "
                                "the batch size, the model dims or the resolution (the last save "
                                "is kept)") from None
            raise

    def _agree(self, reason: str) -> str:
        """The stop reason all ranks act on (one small all-reduce a step; as is alone)."""
        if self.world == 1:
            return reason
        from backends import ddp
        return STOP_REASONS[ddp.agree(STOP_REASONS.index(reason))]

    def _diverged(self, losses: dict) -> UserError:
        """Nothing is saved after a non-finite loss: NaN weights would replace the model and,
        three saves later, every backup of it."""
        shown = ", ".join(f"{k} {v}" for k, v in losses.items())
        kept = (f"the last save (iteration {self.saved_iteration}) is kept"
                if self.saved_iteration is not None else "nothing was saved")
        return UserError(f"training diverged at iteration {self.iteration + 1} ({shown}); {kept}."
                         " Lower the learning rate (--option learning_rate=...) or check the "
                         "options and face sets", self.files.dir)

    def _show(self, sink) -> None:
        if sink is None:
            return
        img = self.preview_image()
        sink.show(img)
        self._write_history(img)

    def _save_logged(self) -> None:
        if not self.leader:
            return
        self.save()
        if self.progress:
            self.log(f"\n[{time.strftime('%H:%M:%S')}] saved {self.files.stem} at iteration "
                     f"{self.iteration}")

    def _print_progress(self, losses: dict, seconds: float) -> None:
        if not self.progress:
            return
        line = (f"[{time.strftime('%H:%M:%S')}][#{self.iteration:06d}][{seconds * 1000:.0f}ms]"
                f" {losses['src_loss']:.4f} {losses['dst_loss']:.4f}")
        print("\r" + line, end="", flush=True)


class _StopSignals:
    """SIGTERM and SIGHUP (`timeout`, `docker stop`, a job scheduler, a closed terminal) stop
    training after the current step and save, as Ctrl+C does; the default action would kill the
    run and lose everything since the last save (up to the save interval). A flag, not an
    exception: a signal that lands during a save must not break it off."""

    NAMES = ("SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        import signal
        import threading

        self.received = ""
        self._old: dict = {}
        if threading.current_thread() is not threading.main_thread():
            return   # Python delivers signals to the main thread only
        for name in self.NAMES:
            sig = getattr(signal, name, None)   # Windows has no SIGHUP
            if sig is not None:
                self._old[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        import signal
        self.received = signal.Signals(signum).name

    def restore(self) -> None:
        import signal
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
