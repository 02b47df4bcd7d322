"""A correct ResNet that initialises with the deprecated nn.init.kaiming_normal (no trailing
underscore): torch warns (FutureWarning) every time a model is built. The warning must be a note
in the feedback and cost no point (it once cost 8 of 16)."""
CELLS = {"resnet_cifar": '''\
class ResNetCIFAR(nn.Module):
    """The CIFAR-10 ResNet of He et al. (2016, §4.2): depth = 6n + 2 layers."""

    def __init__(self, depth=20, num_classes=10):
        super().__init__()
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n + 2 with n >= 1, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.stage1 = make_stage(16, 16, n, stride=1)
        self.stage2 = make_stage(16, 32, n, stride=2)
        self.stage3 = make_stage(32, 64, n, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))
'''}
NOTE = "note: FutureWarning"
