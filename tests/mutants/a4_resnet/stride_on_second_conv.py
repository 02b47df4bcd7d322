"""The stride sits on the second 3×3 convolution instead of the first.

Output shapes, shortcut and parameter count are all unchanged, so only the layer check sees it:
the first convolution then runs at full resolution (4× its intended cost) for nothing.
"""

CELLS = {"basic_block": '''\
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
'''}

LOSES = {"test_residual_branch"}

FEEDBACK = ["layer 0: expected Conv2d(16->32, k3, s2, p1), got Conv2d(16->32, k3, s1, p1)", "it is the first layer"]
