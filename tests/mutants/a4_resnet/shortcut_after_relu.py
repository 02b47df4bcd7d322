"""The shortcut is added after the final ReLU: ReLU(F(x)) + x instead of ReLU(F(x) + x).

Shapes, layers and parameter counts are all right, and it trains; but with the residual branch
switched off the block returns shortcut(x), negatives included, not ReLU(shortcut(x)).
"""

CELLS = {"basic_block": '''\
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
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
        out = F.relu(self.bn2(self.conv2(out)))
        return out + self.shortcut(x)
'''}

LOSES = {"test_zero_init_residual"}

FEEDBACK = "add the shortcut to F(x) before the final ReLU, not after it"
