"""make_features forgets the ReLU after each convolution (and BatchNorm).

The network still runs and has the right number of parameters, but it is one big linear map
followed by max-pools. The layer-sequence checks (of make_features and of the whole model)
must catch it and say that a ReLU was expected.
"""
CELLS = {
    "make_features": '''
def make_features(cfg, batch_norm=False):
    """VGG's convolutional part, built from a config list of ints (3×3 convs) and "M" (2×2 pools)."""
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            in_channels = v
    return nn.Sequential(*layers)
''',
}
LOSES = {"test_make_features", "test_layer_sequence"}
FEEDBACK = ['ReLU is missing after Conv2d(3->8, k3, s1, p1)']
