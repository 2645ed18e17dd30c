"""build.py's checks that run before any freezing (fast; the builds are in test_portable_build)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import build  # noqa: E402


def test_each_variant_pins_its_own_torch_and_only_its_engines():
    reqs = {v: build.variant_requirements(v) for v in build.VARIANTS}
    assert "torch==2.13.0+cu126" in reqs["cuda-sse"]
    assert "torch==2.14.1" in reqs["cuda-avx"]
    for v, lines in reqs.items():
        assert sum(r.startswith("torch==") for r in lines) == 1
        has_opencl = any(r.startswith("tinygrad==") for r in lines)
        assert has_opencl == (v == "opencl-sse"), v
        assert not any(r.startswith(("pytest", "hypothesis")) for r in lines)
        assert all("==" in r for r in lines), "pins only"


def test_only_the_avx_variant_ships_yunet():
    for v, spec in build.VARIANTS.items():
        has = any(r.startswith("yuface==") for r in build.variant_requirements(v))
        assert has == spec.avx, v


def test_every_variant_has_a_spec_that_compiles():
    for v in build.VARIANTS:
        spec = REPO / "bundle_specs" / f"{v}.spec"
        compile(spec.read_text(), str(spec), "exec")
        assert f'build("{v}"' in spec.read_text()


def test_every_variant_bundles_the_apps_data_and_torch_to_run_the_nets():
    """MT's and the iris net's weights and the head pose's mean face are app data (not a
    package): the specs' shared part must collect them, and every variant carries torch, on
    which both nets run (SSE variants included)."""
    pytest.importorskip("PyInstaller")
    sys.path.insert(0, str(REPO / "bundle_specs"))
    try:
        import common
    finally:
        sys.path.remove(str(REPO / "bundle_specs"))
    bundled = {Path(src).name: dest for src, dest in common.app_data()}
    assert bundled["mtcnn.safetensors"] == str(Path("app", "extract", "weights"))
    assert bundled["iris_landmark.safetensors"] == str(Path("app", "extract", "weights"))
    assert "LICENSE.md" in bundled
    assert bundled["mean_face_3d.json"] == str(Path("app", "faceset"))
    for v in build.VARIANTS:
        assert any(r.startswith("torch==") for r in build.variant_requirements(v)), v


def test_only_the_avx_variant_keeps_dlib_bin():
    assert [v for v, spec in build.VARIANTS.items() if spec.avx] == ["cuda-avx"]


def test_a_build_from_an_interpreter_with_another_torch_is_refused():
    from importlib import metadata

    from packaging.requirements import Requirement
    have = metadata.version("torch")
    wrong = next(v for v, spec in build.VARIANTS.items()
                 if not Requirement(spec.torch).specifier.contains(have, prereleases=True))
    with pytest.raises(build.BuildError, match="--venv"):
        build.check_interpreter(wrong, Path(sys.executable))


def test_cuda_sse_without_its_wheel_stops_with_what_to_do(tmp_path):
    (tmp_path / "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    with pytest.raises(build.BuildError, match=r"torch-2\.13\.0\+cu126-"):
        build.check_torch_source("cuda-sse", tmp_path)
    assert build.main(["--variant", "cuda-sse", "--venv", "--find-links", str(tmp_path)]) == 2
    assert not (build.BUILDS / ".venv-cuda-sse").exists()   # stopped before making a venv


def test_cuda_sse_accepts_its_wheel_from_a_folder(tmp_path, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("a wheel folder was given: nothing is fetched")
    monkeypatch.setattr(build.urllib.request, "urlopen", no_network)
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    other = "cp39" if tag != "cp39" else "cp310"
    (tmp_path / f"torch-2.13.0+cu126-{other}-{other}-manylinux_2_28_x86_64.whl").write_bytes(b"")
    with pytest.raises(build.BuildError, match="holds no"):   # the pin, but for another Python
        build.check_torch_source("cuda-sse", tmp_path)
    (tmp_path / f"torch-2.13.0+cu126-{tag}-{tag}-manylinux_2_28_x86_64.whl").write_bytes(b"")
    assert build.check_torch_source("cuda-sse", tmp_path) is None   # the pin for this Python
