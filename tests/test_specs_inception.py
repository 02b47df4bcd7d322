"""The GoogLeNet / Inception formulas of course_utils.specs, cross-checked against real modules:
torchvision's GoogLeNet and Inception where torchvision has them, the A3 reference solution
(its solution cells, executed) for the 5×5 blocks and the CIFAR network, and plain nn.Conv2d
stacks for the naive-vs-reduced comparison."""
import inspect

import pytest
import torch
import torch.nn as nn
import torchvision
from torchvision.models.googlenet import BasicConv2d, Inception

import roundtrip
from course_utils import profiles, specs
from course_utils.summary import count_parameters

AID = "a3_inception"
SMALL = specs.InceptionConfig(8, 3, 4, 5, 2, 6, 7)  # every field different: a swapped field changes the count


def n_params(module: nn.Module) -> int:
    return count_parameters(module)["total"]


@pytest.fixture(scope="module")
def tv_googlenet():
    return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)


@pytest.fixture(scope="module")
def reference():
    """ConvBlock, InceptionBlock and CifarGoogLeNet as the A3 reference solution defines them."""
    cells = roundtrip.reference_cells(AID)  # solution cells with the BEGIN/END SOLUTION lines dropped
    namespace = {"torch": torch, "nn": nn, "specs": specs}
    for grade_id in ("conv_block", "inception_block", "cifar_googlenet"):
        exec(compile(cells[grade_id], f"<{AID}:{grade_id}>", "exec"), namespace)
    return namespace


# --- GoogLeNet at 224×224 against torchvision ------------------------------------------------

def test_googlenet_params_equal_torchvision_googlenet(tv_googlenet):
    assert specs.googlenet_params(kernel5=specs.TORCHVISION_KERNEL5) == n_params(tv_googlenet)


def test_googlenet_params_with_aux_classifiers_equal_torchvision():
    with_aux = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    assert specs.googlenet_params(aux_logits=True, kernel5=specs.TORCHVISION_KERNEL5) == n_params(with_aux)
    assert specs.inception_aux_params(512) == n_params(with_aux.aux1)
    assert specs.inception_aux_params(528) == n_params(with_aux.aux2)


def test_googlenet_params_for_other_class_counts_equal_torchvision():
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True, num_classes=10)
    assert specs.googlenet_params(10, kernel5=specs.TORCHVISION_KERNEL5) == n_params(model)


def test_inception_table_is_torchvisions_table(tv_googlenet):
    for name, row in specs.GOOGLENET_INCEPTION.items():
        m = getattr(tv_googlenet, f"inception{name}")
        got = specs.InceptionConfig(
            in_channels=m.branch1.conv.in_channels, ch1x1=m.branch1.conv.out_channels,
            ch3x3red=m.branch2[0].conv.out_channels, ch3x3=m.branch2[1].conv.out_channels,
            ch5x5red=m.branch3[0].conv.out_channels, ch5x5=m.branch3[1].conv.out_channels,
            pool_proj=m.branch4[1].conv.out_channels)
        assert got == row, name


def test_inception_fields_are_torchvisions_argument_names():
    assert specs.INCEPTION_FIELDS == tuple(inspect.signature(Inception).parameters)[:7]


def test_inception_params_equal_torchvision_inception_for_every_row():
    for name, row in specs.GOOGLENET_INCEPTION.items():
        block = Inception(**row._asdict())
        assert specs.inception_block_params(*row, kernel5=specs.TORCHVISION_KERNEL5) == n_params(block), name
        per_branch = specs.inception_branch_params(row, kernel5=specs.TORCHVISION_KERNEL5)
        assert list(per_branch.values()) == [n_params(b) for b in (block.branch1, block.branch2, block.branch3, block.branch4)]


def test_googlenet_shapes_at_224_equal_a_forward_pass(tv_googlenet):
    names = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
             "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
             "inception5a", "inception5b"]
    seen = {}

    def record(name):
        def hook(module, inputs, output):  # returns None: the output is left as it is
            seen[name] = tuple(output.shape[1:])
        return hook

    hooks = [getattr(tv_googlenet, n).register_forward_hook(record(n)) for n in names]
    tv_googlenet.eval()
    with torch.no_grad():
        tv_googlenet(torch.randn(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    assert [shape for _, shape in specs.googlenet_shapes(224)] == [seen[n] for n in names]
    assert specs.googlenet_shapes(224)[-1] == ("inception 5b", (1024, 7, 7))


def test_inception_rows_chain_their_channels():
    shapes = specs.googlenet_shapes(224)  # raises if a row's in_channels is not the previous output
    assert len(shapes) == len(specs.GOOGLENET_STEM) + len(specs.GOOGLENET_BODY)


def test_network_shapes_rejects_a_row_with_the_wrong_input_channels():
    table = dict(specs.GOOGLENET_INCEPTION, **{"3b": specs.GOOGLENET_INCEPTION["3b"]._replace(in_channels=255)})
    with pytest.raises(ValueError, match="3b"):
        specs.network_shapes(specs.GOOGLENET_STEM, specs.GOOGLENET_BODY, table, 224)
    with pytest.raises(ValueError, match="3b"):
        specs.network_params(specs.GOOGLENET_STEM, specs.GOOGLENET_BODY, table, 1000)
    with pytest.raises(ValueError, match="unknown row"):
        specs.network_shapes((("avgpool", 2),), (), {}, 32)


def test_rows_are_the_plain_tuples_notebooks_read():
    """Notebooks unpack rows, index them and print them: the records must behave as the tuples."""
    assert specs.GOOGLENET_INCEPTION["3a"] == (192, 64, 96, 128, 16, 32, 32)
    assert specs.A3_STEM == (("conv", 64, 3, 1, 1), ("maxpool", 3, 2, 1, False))
    conv, pool = specs.A3_STEM
    assert (conv.kind, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == conv
    assert (pool.kind, pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode) == pool
    assert f"InceptionBlock{specs.A3_INCEPTION['3a']}" == "InceptionBlock(64, 32, 32, 48, 8, 16, 16)"
    assert str(conv) == "('conv', 64, 3, 1, 1)"
    # Plain tuples count as the records with the same numbers (Chapter 4 builds its own table).
    plain_table = {name: tuple(row) for name, row in specs.A3_INCEPTION.items()}
    plain_rows = [tuple(row) if not isinstance(row, str) else row for row in specs.A3_STEM + specs.A3_BODY]
    assert specs.network_params(plain_rows, (), plain_table, 10) == specs.a3_network_params()
    assert specs.network_shapes(plain_rows, (), plain_table, 32) == specs.a3_network_shapes(32)


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 0), (3, 2, 1), (2, 2, 0), (3, 1, 1), (5, 3, 2)])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_size_equals_maxpool2d(kernel, stride, padding, ceil_mode):
    pool = nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)
    for size in range(kernel, 40):
        assert specs.pool_output_size(size, kernel, stride, padding, ceil_mode) == pool(torch.zeros(1, 1, size, size)).shape[-1], size


def test_conv_bn_params_equal_torchvision_basicconv2d():
    for i, o, k in ((3, 64, 7), (64, 192, 3), (192, 16, 1), (16, 32, 5)):
        assert specs.conv_bn_params(i, o, k) == n_params(BasicConv2d(i, o, kernel_size=k))


# --- naive module vs 1×1 reductions -----------------------------------------------------------

def _convs(triples, bias):
    return nn.ModuleList(nn.Conv2d(i, o, k, padding=k // 2, bias=bias) for i, o, k in triples)


def _macs(convs: nn.ModuleList, c_in: int, size: int) -> int:
    total = 0
    for conv in convs:  # each conv gets an input with its own channel count; 'same' padding keeps the size
        out = conv(torch.zeros(1, conv.in_channels, size, size))
        total += out[0].numel() * conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    return total


def _naive(row):
    """The naive module's arguments: the reductions and the pool projection dropped."""
    return row.in_channels, row.ch1x1, row.ch3x3, row.ch5x5


@pytest.mark.parametrize("name", ["3a", "4e"])
@pytest.mark.parametrize("bias", [False, True])
def test_naive_and_reduced_counts_equal_built_convolutions(name, bias):
    row = specs.GOOGLENET_INCEPTION[name]
    c_in = row.in_channels
    naive = _convs([(c_in, row.ch1x1, 1), (c_in, row.ch3x3, 3), (c_in, row.ch5x5, 5)], bias)
    reduced = _convs([(c_in, row.ch1x1, 1), (c_in, row.ch3x3red, 1), (row.ch3x3red, row.ch3x3, 3),
                      (c_in, row.ch5x5red, 1), (row.ch5x5red, row.ch5x5, 5), (c_in, row.pool_proj, 1)], bias)
    assert specs.naive_inception_params(*_naive(row), bias=bias) == n_params(naive)
    assert specs.reduced_inception_params(*row, bias=bias) == n_params(reduced)
    with torch.no_grad():
        assert specs.naive_inception_macs(7, *_naive(row)) == _macs(naive, c_in, 7)
        assert specs.reduced_inception_macs(7, *row) == _macs(reduced, c_in, 7)


def test_reductions_save_more_than_half_of_3a():
    row = specs.GOOGLENET_INCEPTION["3a"]
    assert specs.reduced_inception_params(*row) < specs.naive_inception_params(*_naive(row)) / 2
    assert specs.naive_inception_out_channels(*_naive(row)) > specs.inception_out_channels(row)


# --- the A3 specs against the reference solution --------------------------------------------

@pytest.mark.parametrize("cfg", [specs.GOOGLENET_INCEPTION["3a"], specs.GOOGLENET_INCEPTION["4e"],
                                 *specs.A3_INCEPTION.values(), SMALL])
def test_inception_params_with_5x5_kernels_equal_the_reference_block(reference, cfg):
    block = reference["InceptionBlock"](*cfg)
    assert specs.inception_block_params(*cfg) == n_params(block)
    for branch, expected in specs.inception_branch_params(cfg).items():
        assert expected == n_params(getattr(block, branch)), branch


def test_branch_names_and_channels_equal_the_reference_outputs(reference):
    block = reference["InceptionBlock"](*SMALL).eval()
    with torch.no_grad():
        for branch, channels in specs.inception_branch_channels(SMALL).items():
            assert getattr(block, branch)(torch.randn(2, SMALL.in_channels, 9, 9)).shape == (2, channels, 9, 9)
    assert list(specs.INCEPTION_BRANCHES) == list(specs.inception_branch_channels(SMALL))
    assert specs.inception_branch_channels(tuple(SMALL)) == specs.inception_branch_channels(SMALL)  # as A3's tests pass it


def test_conv_bn_params_equal_the_reference_conv_block(reference):
    assert specs.conv_bn_params(16, 8, 3) == n_params(reference["ConvBlock"](16, 8, kernel_size=3, padding=1))


def test_a3_network_params_equal_the_reference_network(reference):
    assert specs.a3_network_params() == n_params(reference["CifarGoogLeNet"]())
    assert specs.a3_network_params(100) == n_params(reference["CifarGoogLeNet"](num_classes=100))


def test_a3_network_shapes_equal_the_reference_forward_pass(reference):
    model = reference["CifarGoogLeNet"]().eval()
    h, shapes = torch.randn(2, 3, 32, 32), []
    with torch.no_grad():
        for layer in model.features:
            h = layer(h)
            shapes.append(tuple(h.shape[1:]))
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert [shape for _, shape in specs.a3_network_shapes(32)] == shapes


def test_a3_accuracy_thresholds_are_ordered_fractions_above_chance():
    t = profiles.THRESHOLD_VALUES[AID]
    assert set(t) == {"smoke", "cpu", "full"}
    assert 0.1 < t["smoke"] <= t["cpu"] <= t["full"] < 1
    assert profiles.accuracy_threshold(AID, "cpu") == t["cpu"]
