"""The 224×224 recipe copied unchanged: average-pool to 7×7, then Linear(7·7·512 → 512).

On a 32×32 input the 1×1 map is copied into 49 identical positions, so the first Linear has
12.6 million extra parameters that see the same 512 numbers 49 times. The parameter count and
the layer sequence must catch it; in the smoke run this wide layer makes training collapse to
one class, so the accuracy check is lost as well.
"""
CELLS = {
    "vgg11_cifar": '''
VGG11_CFG = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG11CIFAR(nn.Module):
    """VGG-11 for 3×32×32 images: VGG's features, a 512-value flatten and a small classifier."""

    def __init__(self, num_classes=10, batch_norm=True):
        super().__init__()
        self.features = make_features(VGG11_CFG, batch_norm=batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 512), nn.ReLU(inplace=True), nn.Linear(512, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
''',
}
LOSES = {"test_param_count", "test_layer_sequence", "test_accuracy"}
FEEDBACK = ['AdaptiveAvgPool2d', '(+12,582,912)']
