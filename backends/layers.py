"""Engine-neutral layers: a model is a tree of these, written once, run by every engine.

A layer only *declares* its parameters (name, shape, init); the weights live in a flat dict `P`
owned by the engine (`"encoder.down1.weight" -> tensor`). Calling a layer as `layer(F, P, x)` runs
it with the engine's ops `F`. Keeping weights outside the layer objects is what lets the same
definition run on torch and on tinygrad and lets one engine load what another saved.

Tensors are NCHW in model code. Conv weights are OIHW `(cout, cin, k, k)`, dense weights
`(fin, fout)`; biases are 1-D.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np


@dataclass(frozen=True)
class ParamSpec:
    """Shape and init of one parameter. `init`: glorot_uniform, he_normal, normal:STD, zeros,
    ones, const:VALUE, uniform:LIMIT."""

    shape: tuple[int, ...]
    init: str = "glorot_uniform"


def init_array(name: str, spec: ParamSpec, seed: int) -> np.ndarray:
    """Numpy init of one parameter, from (seed, name) only: identical on every engine and
    independent of the order in which parameters are created."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(name.encode())])
    shape = tuple(spec.shape)
    if spec.init == "zeros":
        return np.zeros(shape, np.float32)
    if spec.init == "ones":
        return np.ones(shape, np.float32)
    if spec.init.startswith("const:"):
        return np.full(shape, float(spec.init.split(":", 1)[1]), np.float32)
    if spec.init.startswith("uniform:"):  # U(-a, a)
        a = float(spec.init.split(":", 1)[1])
        return rng.uniform(-a, a, shape).astype(np.float32)
    if len(shape) == 4:      # OIHW
        rf = shape[2] * shape[3]
        fan_in, fan_out = shape[1] * rf, shape[0] * rf
    elif len(shape) == 2:    # (fin, fout)
        fan_in, fan_out = shape
    else:
        fan_in = fan_out = int(np.prod(shape)) or 1
    if spec.init == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape).astype(np.float32)
    if spec.init == "he_normal":
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    if spec.init.startswith("normal:"):
        return (rng.standard_normal(shape) * float(spec.init.split(":", 1)[1])).astype(np.float32)
    raise ValueError(f"unknown init {spec.init!r} for {name}")


def init_params(specs: dict[str, ParamSpec], seed: int) -> dict[str, np.ndarray]:
    """All parameters as numpy arrays (the engines upload these)."""
    return {name: init_array(name, spec, seed) for name, spec in specs.items()}


class Module:
    """Base of every layer and model. Subclasses set child modules as attributes (or lists of
    them), declare their own parameters in `own_params()`, and implement `__call__(F, P, ...)`.

    Full parameter names are assigned by `specs()` (call it once on the root model before use).
    """

    _name: str | None = None

    def own_params(self) -> dict[str, ParamSpec]:
        return {}

    def children(self) -> Iterator[tuple[str, "Module"]]:
        for attr, val in vars(self).items():
            if attr.startswith("_"):
                continue
            if isinstance(val, Module):
                yield attr, val
            elif isinstance(val, (list, tuple)):
                for i, v in enumerate(val):
                    if isinstance(v, Module):
                        yield f"{attr}.{i}", v

    def specs(self, prefix: str = "") -> dict[str, ParamSpec]:
        """Name this subtree (root prefix "") and return {full_name: ParamSpec}, in a stable order."""
        self._name = prefix
        out = {(f"{prefix}.{k}" if prefix else k): v for k, v in self.own_params().items()}
        for attr, child in self.children():
            out.update(child.specs(f"{prefix}.{attr}" if prefix else attr))
        return out

    def param_names(self) -> list[str]:
        """Full names of this subtree's parameters (after the root's `specs()`), e.g. to give one
        optimizer only the decoder's weights."""
        if self._name is None:
            raise RuntimeError(f"{type(self).__name__}: call specs() on the root model first")
        return list(self.specs(self._name))

    def p(self, P: dict[str, Any], key: str) -> Any:
        """This layer's parameter `key` from the engine's flat parameter dict."""
        if self._name is None:
            raise RuntimeError(f"{type(self).__name__}: call specs() on the root model first")
        return P[f"{self._name}.{key}" if self._name else key]


def names(*modules: Module) -> list[str]:
    """Parameter names of several subtrees, e.g. `names(model.encoder, model.decoder_src)`."""
    return [n for m in modules for n in m.param_names()]


class Conv2D(Module):
    """2-D convolution, 'same' padding (k // 2) unless `padding` is given (0: 'valid'), optional
    stride. OIHW weights."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, bias: bool = True,
                 init: str = "glorot_uniform", padding: int | None = None):
        self.cin, self.cout, self.k, self.stride, self.bias, self.init = cin, cout, k, stride, bias, init
        self.padding = k // 2 if padding is None else padding

    def own_params(self) -> dict[str, ParamSpec]:
        d = {"weight": ParamSpec((self.cout, self.cin, self.k, self.k), self.init)}
        if self.bias:
            d["bias"] = ParamSpec((self.cout,), "zeros")
        return d

    def __call__(self, F, P, x):
        b = self.p(P, "bias") if self.bias else None
        return F.conv2d(x, self.p(P, "weight"), b, stride=self.stride, padding=self.padding)


class Dense(Module):
    """Fully connected: x[N, fin] @ W[fin, fout] + b."""

    def __init__(self, fin: int, fout: int, bias: bool = True, init: str = "glorot_uniform"):
        self.fin, self.fout, self.bias, self.init = fin, fout, bias, init

    def own_params(self) -> dict[str, ParamSpec]:
        d = {"weight": ParamSpec((self.fin, self.fout), self.init)}
        if self.bias:
            d["bias"] = ParamSpec((self.fout,), "zeros")
        return d

    def __call__(self, F, P, x):
        return F.dense(x, self.p(P, "weight"), self.p(P, "bias") if self.bias else None)


class PReLU(Module):
    """Parametric ReLU with one learnt slope per channel (`weight`, shape (ch,))."""

    def __init__(self, ch: int, init: str = "zeros"):
        self.ch, self.init = ch, init

    def own_params(self) -> dict[str, ParamSpec]:
        return {"weight": ParamSpec((self.ch,), self.init)}

    def __call__(self, F, P, x):
        return F.prelu(x, self.p(P, "weight"))


class GroupNorm(Module):
    """GroupNorm over `groups` groups of `ch` channels, learnt per-channel `weight` (init 1) and
    `bias` (init 0): torch.nn.GroupNorm's parameters, names and formula."""

    def __init__(self, groups: int, ch: int, eps: float = 1e-5):
        self.groups, self.ch, self.eps = groups, ch, eps

    def own_params(self) -> dict[str, ParamSpec]:
        return {"weight": ParamSpec((self.ch,), "ones"), "bias": ParamSpec((self.ch,), "zeros")}

    def __call__(self, F, P, x):
        return F.group_norm(x, self.groups, self.p(P, "weight"), self.p(P, "bias"), self.eps)


class MaxPool(Module):
    """k x k max pooling (stride default k); `ceil` keeps a last partial window (Caffe's)."""

    def __init__(self, k: int, stride: int | None = None, ceil: bool = False):
        self.k, self.stride, self.ceil = k, stride, ceil

    def __call__(self, F, P, x):
        return F.max_pool(x, self.k, self.stride, self.ceil)


class Downscale(Module):
    """DeepFaceLab's downscale: conv k x k stride 2 + leaky relu 0.1 (halves H and W)."""

    def __init__(self, cin: int, cout: int, k: int = 5, init: str = "glorot_uniform"):
        self.conv = Conv2D(cin, cout, k, stride=2, init=init)

    def __call__(self, F, P, x):
        return F.leaky_relu(self.conv(F, P, x), 0.1)


class Upscale(Module):
    """DeepFaceLab's upscale: conv to 4*cout + leaky relu 0.1 + depth_to_space(2) (doubles H, W)."""

    def __init__(self, cin: int, cout: int, k: int = 3, init: str = "glorot_uniform"):
        self.conv = Conv2D(cin, cout * 4, k, init=init)

    def __call__(self, F, P, x):
        return F.depth_to_space(F.leaky_relu(self.conv(F, P, x), 0.1), 2)


class ResBlock(Module):
    """DeepFaceLab's residual block: conv, lrelu 0.2, conv, + input, lrelu 0.2."""

    def __init__(self, ch: int, k: int = 3, init: str = "glorot_uniform"):
        self.conv1 = Conv2D(ch, ch, k, init=init)
        self.conv2 = Conv2D(ch, ch, k, init=init)

    def __call__(self, F, P, x):
        y = F.leaky_relu(self.conv1(F, P, x), 0.2)
        return F.leaky_relu(self.conv2(F, P, y) + x, 0.2)


class Sequential(Module):
    """Layers applied in order (children named layers.0, layers.1, ...)."""

    def __init__(self, *layers: Module | Callable):
        self.layers = list(layers)

    def __call__(self, F, P, x):
        for layer in self.layers:
            x = layer(F, P, x)
        return x
