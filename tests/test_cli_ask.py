"""The one question helper: defaults, `?` help, bad answers asked again, flags win."""

import pytest

from app.cli import ask as ask_mod
from app.cli.ask import ask, ask_bool, ask_choice, ask_float, ask_int, interactive


def answers(*texts):
    """An input_fn that answers in turn and records the prompts it was shown."""
    it = iter(texts)
    prompts = []

    def fn(prompt):
        prompts.append(prompt)
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None
    fn.prompts = prompts
    return fn


@pytest.fixture(autouse=True)
def force_asking(monkeypatch):
    monkeypatch.setenv("FACESTUDIO_ASK", "1")


def test_empty_answer_takes_default_and_prompt_shows_it():
    fn = answers("")
    assert ask_int("Enter FPS", None, lo=0, help_text="frames per second", skip="fullfps",
                   input_fn=fn) is None
    assert fn.prompts == ["Enter FPS ( ?:help skip:fullfps ) : "]
    assert ask_int("Batch size", 8, input_fn=answers("")) == 8


def test_question_mark_prints_help_then_asks_again(capsys):
    fn = answers("?", "12")
    assert ask_int("Enter FPS", None, help_text="How many frames per second", input_fn=fn) == 12
    assert "How many frames per second" in capsys.readouterr().out
    assert len(fn.prompts) == 2


def test_bad_answers_are_explained_and_asked_again(capsys):
    fn = answers("many", "50", "7")
    assert ask_int("Denoise factor", 5, 1, 20, input_fn=fn) == 7
    out = capsys.readouterr().out
    assert "not understood: 'many'" in out and "'50' is out of range" in out
    assert len(fn.prompts) == 3


def test_given_value_is_used_without_asking():
    fn = answers("3")
    assert ask_int("Denoise factor", 5, 1, 20, given=9, input_fn=fn) == 9
    assert ask_float("FPS", 25.0, given=0.0, input_fn=fn) == 0.0
    assert fn.prompts == []


def test_without_a_terminal_the_default_is_taken(monkeypatch):
    monkeypatch.setenv("FACESTUDIO_ASK", "0")
    assert not interactive()
    fn = answers("3")
    assert ask_int("Denoise factor", 5, 1, 20, input_fn=fn) == 5
    assert fn.prompts == []


def test_end_of_input_takes_default():
    assert ask_bool("Replace?", True, input_fn=answers()) is True


def test_choices_by_name_or_number_and_bools():
    assert ask_choice("Format", "mp4", ["mp4", "avi", "mov_alpha"], input_fn=answers("3")) == \
        "mov_alpha"
    assert ask_choice("Format", "mp4", ["mp4", "avi"], input_fn=answers("mkv", "avi")) == "avi"
    assert ask_bool("Delete?", False, input_fn=answers("maybe", "y")) is True
    assert ask_bool("Delete?", True, input_fn=answers("no")) is False
    assert ask("Name", "x", input_fn=answers("  bob ")) == "bob"


def test_stdin_feeds_answers(monkeypatch, capsys):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("?\n4\n"))
    assert ask_mod.ask_int("Enter FPS", None, help_text="fps help") == 4
    assert "fps help" in capsys.readouterr().out


def test_gpu_question_takes_an_idx_a_list_or_all(monkeypatch, capsys):
    """A number is the GPU idx (not the menu position DeepFaceLab's numbered menus use), and
    several GPUs can be chosen."""
    from backends import devices
    fake = [devices.Device("torch", i, "cuda", f"GPU {i}", memory=2**33, torch_device=f"cuda:{i}")
            for i in range(3)]
    monkeypatch.setattr(devices, "list_torch_gpus", lambda: fake)
    spec = ask_mod.ask_device_spec
    assert spec(None, "torch", input_fn=answers("1")) == "1"
    assert spec(None, "torch", input_fn=answers("")) == "best"
    assert spec(None, "torch", input_fn=answers("0, 2")) == "0,2"
    assert spec(None, "torch", input_fn=answers("7", "1,1", "all")) == "all"   # asked again
    assert spec("cpu", "torch", input_fn=answers()) == "cpu"                  # the flag wins
    assert "GPU 2" in capsys.readouterr().out
