"""VGG11_CFG puts the first max-pool after the second convolution instead of after the first.

Same layers, same parameters, same output shape: only the layer-sequence check can see that the
pool is in the wrong place, and it must say where.
"""
CELLS = {
    "vgg11_cifar": '''
VGG11_CFG = [64, 128, "M", "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG11CIFAR(nn.Module):
    """VGG-11 for 3×32×32 images: VGG's features, a 512-value flatten and a small classifier."""

    def __init__(self, num_classes=10, batch_norm=True):
        super().__init__()
        self.features = make_features(VGG11_CFG, batch_norm=batch_norm)
        self.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))
''',
}
LOSES = {"test_layer_sequence"}
FEEDBACK = ['layer 2: expected MaxPool2d(k2, s2), got Conv2d(64->128, k3, s1, p1)']
