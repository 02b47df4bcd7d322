"""The ImageNet habit: the classifier keeps 1000 outputs (num_classes is ignored).

The network's output check must say that the last layer gives 1000 values per image where 10
are expected, not hint at pooling and stride; the parameter count is off by the extra outputs.
"""

CELLS = {"cifar_googlenet": '''\
class CifarGoogLeNet(nn.Module):
    """The small GoogLeNet of specs.A3_STEM + specs.A3_BODY, for 32×32 images."""

    def __init__(self, num_classes=10):
        super().__init__()
        layers, channels = [], 3
        for row in specs.A3_STEM + specs.A3_BODY:
            if isinstance(row, str):
                layers.append(InceptionBlock(*specs.A3_INCEPTION[row]))
                channels = specs.inception_out_channels(specs.A3_INCEPTION[row])
            elif row[0] == "conv":
                out_channels, kernel, stride, padding = row[1:]
                layers.append(ConvBlock(channels, out_channels, kernel, stride=stride, padding=padding))
                channels = out_channels
            else:
                kernel, stride, padding, ceil_mode = row[1:]
                layers.append(nn.MaxPool2d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 1000)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.fc(torch.flatten(x, 1))
'''}

LOSES = {"test_network"}
FEEDBACK = "the output has 1000 values per example where 10 are expected"
