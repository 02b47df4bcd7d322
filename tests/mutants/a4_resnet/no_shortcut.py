"""A plain block: no shortcut at all, so the block is just conv-BN-ReLU-conv-BN-ReLU.

It still has the right shapes and trains, but there is nothing to project (fewer parameters),
and with the residual branch switched off it outputs zeros instead of ReLU(x).
"""

CELLS = {"basic_block": '''\
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)))
'''}

LOSES = {"test_shortcut", "test_zero_init_residual", "test_param_counts"}

FEEDBACK = ["projection shortcut (block.shortcut) of BasicBlock(16, 32, stride=2): expected 2 layers, got 0",
            "Conv2d(16->32, k1, s2, p0), BatchNorm2d(32) is missing at the start"]
