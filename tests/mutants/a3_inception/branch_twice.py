"""Concatenates branch3x3's output twice and leaves branch5x5's out."""

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
        b3 = self.branch3x3(x)
        return torch.cat([self.branch1x1(x), b3, b3, self.branch_pool(x)], dim=1)
'''}

# Wrong channel counts break the next block, so the network and its training fail too.
LOSES = {"test_concat_channels", "test_concat_order", "test_network", "test_accuracy"}
FEEDBACK = ['each of the four branches exactly once', 'expected (2, 256, 14, 14), got (2, 352, 14, 14)']
