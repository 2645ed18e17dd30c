"""Training from code (the demo, scripts): one call with a small budget, no questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.train.trainer import Trainer, TrainResult


def train(workspace: Any, model_name: str, options: dict | None = None,
          general: dict | None = None, target_iter: int | None = None,
          time_budget_s: float | None = None, max_steps: int | None = None,
          engine: str = "torch", device: Any = None, seed: int | None = 0,
          progress: bool = False, window: bool = False) -> TrainResult:
    """Train `model_name` on the workspace's aligned src/dst faces into its model folder.

    `workspace`: an `app.workspace.Workspace` or a folder path. `options`: the model's options
    (first run; later runs: only the overridable ones may differ), `general`: trainer options
    such as {"batch_size": 4}. Stops at `target_iter`, after `time_budget_s` seconds of training
    or after `max_steps` steps, whichever comes first, and saves. Resumes a saved model.
    """
    from app.workspace import Workspace

    ws = workspace if isinstance(workspace, Workspace) else Workspace(Path(workspace).resolve())
    from app.models import model_class
    from app.train.model_lock import ModelLock

    with ModelLock(ws.model_dir, model_class(model_name).name):
        trainer = Trainer(ws.aligned_dir("src"), ws.aligned_dir("dst"), ws.model_dir, model_name,
                          options=options, general=general, engine=engine, device=device,
                          seed=seed, progress=progress)
        return trainer.run(target_iter=target_iter, time_budget_s=time_budget_s,
                           max_steps=max_steps, window=window)
