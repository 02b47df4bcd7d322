"""Concatenates branch5x5's output before branch3x3's (every branch once, wrong order)."""

CELLS = {"inception_block": '''
class InceptionBlock(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1x1 = ConvBlock(in_channels, ch1x1, kernel_size=1)
        self.branch3x3 = nn.Sequential(ConvBlock(in_channels, ch3x3red, kernel_size=1),
                                       ConvBlock(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch5x5 = nn.Sequential(ConvBlock(in_channels, ch5x5red, kernel_size=1),
                                       ConvBlock(ch5x5red, ch5x5, kernel_size=5, padding=2))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         ConvBlock(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        outputs = [self.branch1x1(x), self.branch5x5(x), self.branch3x3(x), self.branch_pool(x)]
        return torch.cat(outputs, dim=1)
'''}

# Shapes and counts are all right (the channel total does not depend on the order) and the
# network trains as well as the reference (measured); only the numerical order check sees it.
LOSES = {"test_concat_order"}
FEEDBACK = ["channels 3:8 of InceptionBlock(8, 3, 4, 5, 2, 6, 7)'s output, which should be branch3x3's output", 'in the order branch1x1, branch3x3, branch5x5, branch_pool']
