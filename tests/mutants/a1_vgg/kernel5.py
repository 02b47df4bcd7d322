"""make_features uses 5×5 kernels but keeps padding=1.

Each convolution now shrinks the map by 2 pixels, so a 32×32 image reaches the last stage at
2×2 and the forward pass fails there; training fails too, so no weights file is written. Every
check is lost, and the layer-sequence feedback must name the 5×5 kernel.
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
            layers.append(nn.Conv2d(in_channels, v, kernel_size=5, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)
''',
}
LOSES = {"test_make_features", "test_output_shape", "test_param_count", "test_layer_sequence",
         "test_devices", "test_accuracy"}
FEEDBACK = ['expected Conv2d(3->64, k3, s1, p1), got Conv2d(3->64, k5, s1, p1)']
