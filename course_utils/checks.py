"""Every assertion the graders make, with messages a student can act on.

Each check raises ``AssertionError("<what>: expected …, got …. Hint: …")``. In a student's
notebook these run as they read. While a notebook is graded they run in the grader's own copy
of this module, in a thread where no student code runs (see ``course_grader.judge``): what a
check reads off a model (its parameters, its layers) goes through :func:`_measure`, which the
grader runs beside the student's code, and a model's name is read from ``model.__class__``.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import torch
import torch.nn as nn

from .summary import iter_parameters


def _measure(fn, model, *args):
    """``fn(model, *args)``: what a check reads off a model (the grader runs it where the model lives)."""
    return fn(model, *args)


def _report(text: str) -> None:
    """What a check measured, shown to the student (the grader shows it in the feedback)."""
    print(text)


def _class_name(obj) -> str:
    return obj.__class__.__name__


def _fail(what: str, expected, got, hint: str = "") -> None:
    msg = f"{what}: expected {expected}, got {got}."
    raise AssertionError(msg + (f" Hint: {hint}" if hint else ""))


def run_forward(model: nn.Module, input_shape, device: str | torch.device = "cpu", seed: int = 0):
    """Output of ``model`` (eval mode, no gradients) for a seeded random input of ``input_shape``."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*input_shape, generator=gen).to(device)
    model = model.to(device).eval()
    with torch.no_grad():
        return model(x)


def check_output_shape(model: nn.Module, input_shape, expected_shape, device="cpu", what: str = "output shape") -> torch.Tensor:
    """The model maps a batch of ``input_shape`` to a tensor of ``expected_shape``."""
    try:
        out = run_forward(model, input_shape, device)
    except Exception as exc:
        raise AssertionError(
            f"{what}: the forward pass on an input of shape {tuple(input_shape)} raised "
            f"{type(exc).__name__}: {exc}. Hint: print the shape after each layer to find where "
            f"it breaks.") from None
    if isinstance(out, torch.Size) or not isinstance(out, torch.Tensor):
        _fail(what, f"a tensor of shape {tuple(expected_shape)}", f"a {_class_name(out)} ({out!r:.80})",
              "forward must return the output tensor itself, not its .shape or a tuple.")
    if tuple(out.shape) != tuple(expected_shape):
        _fail(what, tuple(expected_shape), tuple(out.shape), _shape_hint(tuple(out.shape), tuple(expected_shape)))
    return out


def _shape_hint(got: tuple, expected: tuple) -> str:
    if len(got) == len(expected) == 2 and got[0] == expected[0]:
        return (f"the output has {got[1]} values per example where {expected[1]} are expected: look at the "
                "last layer (its out_features) and at anything added after it.")
    if len(got) == len(expected) and got[0] != expected[0] and got[1:] == expected[1:]:
        return "the batch size changed: something joins or splits along dim=0 (the batch axis) instead of dim=1."
    return "check the channel counts and where the spatial size shrinks (pooling, stride)."


def _param_count(model: nn.Module, trainable_only: bool) -> int:
    return sum(p.numel() for _, p in iter_parameters(model) if p.requires_grad or not trainable_only)


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters, counted without calling methods a student could override."""
    return _measure(_param_count, model, trainable_only)


def _trainable_names(model: nn.Module) -> list[str]:
    return sorted(name for name, p in iter_parameters(model) if p.requires_grad)


def check_param_count(model: nn.Module, expected: int, what: str = "number of parameters", hint: str = "") -> None:
    """The exact number of parameters (all of them)."""
    got = count_params(model)
    if got != expected:
        diff = got - expected
        _fail(what, f"{expected:,}", f"{got:,} ({'+' if diff > 0 else ''}{diff:,})",
              hint or "compare each layer's in/out channels, kernel size and bias with the specification.")


def check_trainable_count(model: nn.Module, expected: int, what: str = "number of trainable parameters", hint: str = "") -> None:
    """The exact number of parameters with ``requires_grad=True``."""
    got = count_params(model, trainable_only=True)
    if got != expected:
        _fail(what, f"{expected:,}", f"{got:,}", hint or "check which parameters have requires_grad set.")


def check_trainable_names(model: nn.Module, expected_names, what: str = "trainable parameters") -> None:
    """Exactly the parameters named ``expected_names`` require gradients."""
    got = _measure(_trainable_names, model)
    expected = sorted(expected_names)
    if got != expected:
        extra, missing = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
        _fail(what, expected, got, f"should be frozen: {extra or 'none'}; should train: {missing or 'none'}.")


def describe_layer(module: nn.Module) -> str:
    """A compact description used to compare layer sequences: ``Conv2d(3->64, k3, s1, p1)``."""
    if isinstance(module, nn.Conv2d):
        return (f"Conv2d({module.in_channels}->{module.out_channels}, k{module.kernel_size[0]}, "
                f"s{module.stride[0]}, p{module.padding[0]})")
    if isinstance(module, nn.MaxPool2d):
        k, s = module.kernel_size, module.stride
        return f"MaxPool2d(k{k if isinstance(k, int) else k[0]}, s{s if isinstance(s, int) else s[0]})"
    if isinstance(module, nn.BatchNorm2d):
        return f"BatchNorm2d({module.num_features})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}->{module.out_features})"
    return _class_name(module)


def leaf_layers(model: nn.Module) -> list[nn.Module]:
    """Modules without children, in registration order (the order a Sequential runs them)."""
    return [m for m in model.modules() if not list(m.children())]


def _layer_descriptions(model: nn.Module, ignore) -> list[str]:
    return [describe_layer(m) for m in leaf_layers(model) if not isinstance(m, ignore)]


def check_layer_sequence(model: nn.Module, expected: list[str], what: str = "layer sequence",
                         ignore=(nn.Dropout, nn.Identity)) -> None:
    """The leaf layers, described by :func:`describe_layer`, equal ``expected`` in order."""
    got, expected = list(_measure(_layer_descriptions, model, ignore)), list(expected)
    if got == expected:
        return
    if len(got) == len(expected):
        i = next(i for i, (g, e) in enumerate(zip(got, expected)) if g != e)
        before = f"the layers before it were right ({', '.join(got[max(0, i - 2):i])})." if i else "it is the first layer."
        _fail(f"{what}, layer {i}", expected[i], got[i], before)
    _fail(what, f"{len(expected)} layers", f"{len(got)}", _sequence_hint(got, expected) + ".")


def _sequence_hint(got: list[str], expected: list[str]) -> str:
    """What the first difference between two layer lists is: a missing, extra or different layer."""
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=expected, b=got, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        where = f"after {expected[i1 - 1]} (layer {i1 - 1})" if i1 else "at the start"
        if tag == "delete":
            return f"{', '.join(expected[i1:i2])} is missing {where}"
        if tag == "insert":
            return f"{', '.join(got[j1:j2])} is there {where} but should not be"
        return f"{', '.join(got[j1:j2])} is there {where} where {', '.join(expected[i1:i2])} should be"
    return "the layers differ"


def _types_found(model: nn.Module, present, absent) -> tuple[list[bool], list[bool]]:
    modules = list(model.modules())
    return ([any(isinstance(m, t) for m in modules) for t in present],
            [any(isinstance(m, t) for m in modules) for t in absent])


def check_module_types(model: nn.Module, present=(), absent=(), what: str = "module types") -> None:
    """Each type in ``present`` occurs in the model and none in ``absent`` does."""
    found_present, found_absent = _measure(_types_found, model, tuple(present), tuple(absent))
    for t, found in zip(present, found_present):
        if not found:
            _fail(what, f"at least one {t.__name__}", "none", f"add the {t.__name__} layers the specification asks for.")
    for t, found in zip(absent, found_absent):
        if found:
            _fail(what, f"no {t.__name__}", f"a {t.__name__}", f"remove the {t.__name__}.")


def check_close(got: torch.Tensor, expected: torch.Tensor, what: str, atol: float = 1e-5, hint: str = "") -> None:
    """Two tensors of the same shape agree within ``atol``."""
    if not isinstance(got, torch.Tensor):
        _fail(what, "a tensor", _class_name(got), hint)
    if got.shape != expected.shape:
        _fail(what, f"shape {tuple(expected.shape)}", f"shape {tuple(got.shape)}", hint)
    err = (got.detach().float().cpu() - expected.detach().float().cpu()).abs().max().item()
    if err > atol:
        _fail(what, f"values within {atol:g}", f"a maximum difference of {err:.3g}", hint)


def load_trained_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a submitted ``state_dict`` into the student's own model (strict)."""
    path = Path(path)
    if not path.exists():
        raise AssertionError(
            f"trained weights: expected the file {path.name} next to your notebook, got no such file. "
            f"Hint: run the training cell (it saves {path.name}) and submit that file with the notebook.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AssertionError(f"trained weights: {path.name} could not be read ({type(exc).__name__}: {exc}). "
                             f"Hint: save it with torch.save(model.state_dict(), '{path.name}').") from None
    try:
        model.load_state_dict(state, strict=True)
    except Exception as exc:
        raise AssertionError(
            f"trained weights: {path.name} does not fit your model class ({str(exc)[:300]}). "
            f"Hint: retrain and save after your final change to the model.") from None
    return model


def check_accuracy(accuracy: float, threshold: float, what: str = "test accuracy", profile: str = "") -> None:
    """``accuracy`` (a fraction) reaches ``threshold``."""
    if not accuracy >= threshold:
        where = f" in the '{profile}' profile" if profile else ""
        _fail(what, f"at least {threshold:.1%}{where}", f"{accuracy:.1%}",
              "check that the model trains (loss going down), and that you trained the model you submit.")


def check_trained_accuracy(model: nn.Module, weights_path: str | Path, threshold: float, profile=None,
                           classes=None, what: str = "test accuracy") -> float:
    """Load the submitted weights into ``model`` and evaluate on the fixed grading subset."""
    from .config import get_profile
    from .data import eval_loader
    from .train import evaluate
    profile = profile or get_profile()
    load_trained_weights(model, weights_path)
    loader = eval_loader(profile, device="cpu", classes=classes)
    _, acc = evaluate(model, loader, device="cpu")
    _report(f"{what}: {acc:.1%} on the grading subset ({loader.num_samples:,} test images); "
            f"the '{profile.name}' profile needs {threshold:.0%}")
    check_accuracy(acc, threshold, what, profile.name)
    return acc
