"""train_model caches features with the backbone left in train() mode.

Nothing is trained in the backbone, but in train() mode every forward pass updates the
BatchNorm running_mean/running_var (even under torch.no_grad()), so the saved file's
statistics no longer equal the pretrained ones. Weights stay bit-identical; the accuracy
stays above the threshold.
"""
CELLS = {
    "train_model": '''
def train_model(profile, device):
    """Train a new head for the target classes on a frozen pretrained backbone; return (model, history)."""
    backbone = pretrained.load_backbone(BACKBONE)
    model = replace_head(freeze_features(backbone.model, backbone.features_prefix), len(TARGET_CLASSES))
    model.to(device)  # forgot .eval(): BatchNorm keeps updating its statistics
    head = model.get_submodule(backbone.head)
    model.set_submodule(backbone.head, nn.Identity())
    train_loader, val_loader = cifar10_loaders(profile, augment=True, device=device, classes=TARGET_CLASSES)
    with torch.no_grad():
        views = [(model(x), y) for _ in range(4) for x, y in train_loader]
        val = [(model(x), y) for x, y in val_loader]
    model.set_submodule(backbone.head, head)

    feats = torch.utils.data.TensorDataset(torch.cat([f for f, _ in views]), torch.cat([y for _, y in views]))
    feature_loader = torch.utils.data.DataLoader(feats, batch_size=profile.batch_size, shuffle=True)
    optimizer = torch.optim.SGD(trainable_parameters(model), lr=0.05, momentum=0.9, weight_decay=5e-4)
    history = fit(head, feature_loader, val, epochs=10 * profile.epochs, optimizer=optimizer,
                  device=device, quiet=profile.name == "full")
    return model, history
''',
}
LOSES = {"test_batchnorm_statistics_unchanged"}
FEEDBACK = "BatchNorm statistic features.1.running_mean in a2_finetune_model.pt"
