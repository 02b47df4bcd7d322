"""The shortcut ignores the stride: a projection only when the channels change, and without stride.

For a block with stride 2, F(x) is half the size of the shortcut, so the addition fails with a
shape error. Grading must turn that into failed checks with feedback, not a crash: the block
and network forward passes fail, the training cell fails, so no weights file is submitted.
"""

CELLS = {"basic_block": '''\
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, bias=False),
                nn.BatchNorm2d(planes),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
'''}

LOSES = {"test_block_shapes", "test_shortcut", "test_zero_init_residual", "test_output_shape", "test_accuracy"}

FEEDBACK = "output shape of BasicBlock(16, 32, stride=2): the forward pass on an input of shape (2, 16, 32, 32) raised RuntimeError"
